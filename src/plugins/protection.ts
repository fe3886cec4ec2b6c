// Protection around every route: security headers (helmet), CORS only when configured, load shedding when the
// event loop is overloaded (under-pressure), and a per-caller rate limit whose counters live in Redis, so every
// replica enforces one shared limit.
import fastifyCors from '@fastify/cors'
import fastifyHelmet from '@fastify/helmet'
import fastifyRateLimit from '@fastify/rate-limit'
import fastifyUnderPressure from '@fastify/under-pressure'
import fp from 'fastify-plugin'
import type { SecurityConfig } from '../config/security.js'
import { RateLimitedError, RETRY_AFTER_SECONDS } from '../errors.js'

export interface ProtectionOptions {
  security: SecurityConfig
  keyPrefix: string
}

/** Response headers a browser caller may read when CORS is on. */
const EXPOSED_HEADERS = ['ETag', 'Location', 'Retry-After', 'X-Request-Id', 'Cache-Control',
  'RateLimit-Limit', 'RateLimit-Remaining', 'RateLimit-Reset']

export default fp<ProtectionOptions>(async (app, { security, keyPrefix }) => {
  await app.register(fastifyHelmet, {
    // Cached values are served with the media type they were stored with, text/html included: this policy keeps
    // a browser from running anything in them. The /docs page sets a policy of its own.
    contentSecurityPolicy: {
      useDefaults: false,
      directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"], sandbox: [] }
    }
  })

  if (security.corsOrigins !== undefined) {
    await app.register(fastifyCors, { origin: security.corsOrigins, exposedHeaders: EXPOSED_HEADERS, maxAge: 600 })
  }

  if (security.maxEventLoopDelayMs > 0) {
    await app.register(fastifyUnderPressure, {
      maxEventLoopDelay: security.maxEventLoopDelayMs,
      retryAfter: RETRY_AFTER_SECONDS,
      exposeStatusRoute: false
    })
  }

  const { max, windowMs } = security.rateLimit
  if (max > 0) {
    await app.register(fastifyRateLimit, {
      global: true,
      max,
      timeWindow: windowMs,
      // After authentication, so that the limit is the caller's; unauthenticated requests count per address.
      hook: 'preHandler',
      keyGenerator: (request) => request.caller?.id ?? request.ip,
      ...(app.hasDecorator('redis') && { redis: app.redis, nameSpace: `${keyPrefix}rate-limit:` }),
      // A Redis outage must not turn into 429s or 500s: the request goes on and meets the store's own 503.
      skipOnError: true,
      enableDraftSpec: true,
      onExceeded: () => { app.metrics.rateLimited.inc() },
      errorResponseBuilder: (_request, context) =>
        new RateLimitedError(`At most ${context.max} requests per ${context.after}; retry after Retry-After`)
    })
  }
}, { name: 'protection', dependencies: ['metrics'] })
