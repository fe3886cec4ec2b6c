// Protection around every route: security headers (helmet's, fixed), CORS only when configured, load shedding when the
// event loop is overloaded (under-pressure), and a per-caller rate limit whose counters live in Redis, so every
// replica enforces one shared limit.
import fastifyCors from '@fastify/cors'
import fastifyRateLimit from '@fastify/rate-limit'
import fastifyUnderPressure from '@fastify/under-pressure'
import type { FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { ANONYMOUS, type Caller } from '../auth/caller.js'
import type { SecurityConfig } from '../config/security.js'
import { RateLimitedError, RETRY_AFTER_SECONDS } from '../errors.js'

export interface ProtectionOptions {
  security: SecurityConfig
  keyPrefix: string
  /** The security headers every answer carries. */
  headers: Readonly<Record<string, string>>
}

/** Response headers a browser caller may read when CORS is on. */
const EXPOSED_HEADERS = ['ETag', 'Location', 'Retry-After', 'X-Request-Id', 'Cache-Control',
  'RateLimit-Limit', 'RateLimit-Remaining', 'RateLimit-Reset']

export default fp<ProtectionOptions>(async (app, { security, keyPrefix, headers }) => {
  // helmet's headers, computed once from its options (security-headers.ts) rather than on every request; the /docs
  // page sets a policy of its own.
  app.addHook('onRequest', (_request, reply, done) => {
    reply.headers(headers)
    done()
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

  // Registered even when the per-caller limit is off: its store also counts failed authentications (auth.ts).
  const { max, windowMs } = security.rateLimit
  await app.register(fastifyRateLimit, {
    global: max > 0,
    max,
    timeWindow: windowMs,
    // A route-level onRequest hook, so it runs after authentication (an app-level onRequest hook) and before the
    // scope check, body parsing and validation: a refused request counts like any other.
    hook: 'onRequest',
    keyGenerator: rateLimitKey,
    ...(app.hasDecorator('redis') && { redis: app.redis, nameSpace: `${keyPrefix}rate-limit:` }),
    // A Redis outage must not turn into 429s or 500s: the request goes on and meets the store's own 503.
    skipOnError: true,
    enableDraftSpec: true,
    onExceeded: () => { app.metrics.rateLimited.inc() },
    errorResponseBuilder: (_request, context) =>
      new RateLimitedError(`At most ${context.max} requests per ${context.after}; retry after Retry-After`)
  })
}, { name: 'protection', dependencies: ['metrics'] })

/**
 * An authenticated caller is limited as itself, from any address. Without authentication (AUTH_MODE=none, or a
 * request not yet authenticated) every client is limited per address, never all together.
 */
function rateLimitKey (request: FastifyRequest): string {
  const caller = request.caller as Caller | null
  return caller === null || caller === ANONYMOUS ? `address:${request.ip}` : `caller:${caller.id}`
}
