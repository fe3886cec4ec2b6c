// The per-caller rate limit (@fastify/rate-limit). With Redis its counters live there, so every replica enforces
// one shared limit, each admitting from budgets it takes (redis/rate-limit-store.ts); the same store counts failed
// authentications (auth.ts, through createRateLimit).
import fastifyRateLimit from '@fastify/rate-limit'
import type { FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { ANONYMOUS } from '../auth/caller.js'
import { RateLimitedError } from '../errors.js'
import { sharedCountersIn, type RateLimitBudgets } from '../redis/rate-limit-store.js'

export interface RateLimitPluginOptions extends RateLimitBudgets {
  /** Requests per caller per window; 0 turns the per-caller limit off, but not the store auth.ts counts in. */
  max: number
  windowMs: number
  /** Keep the counters in Redis (the redis plugin must be registered first), or in this process. */
  shared: boolean
  keyPrefix: string
}

export default fp<RateLimitPluginOptions>(async (app, options) => {
  const { max, windowMs, shared, keyPrefix } = options
  // fastify-plugin cannot declare a dependency that only some configurations have; this says it as loudly.
  if (shared && !app.hasDecorator('redis')) throw new Error('rate-limit: shared counters need the redis plugin')
  await app.register(fastifyRateLimit, {
    global: max > 0,
    max,
    timeWindow: windowMs,
    // A route-level onRequest hook, so it runs after authentication (an app-level onRequest hook) and before the
    // scope check, body parsing and validation: a refused request counts like any other.
    hook: 'onRequest',
    keyGenerator: rateLimitKey,
    ...(shared && {
      store: sharedCountersIn(app.redis, `${keyPrefix}rate-limit:`, options)
    }),
    // A counter Redis cannot update is the store's 503 at once (redis/rate-limit-store.ts), never a 429 or a 500.
    skipOnError: false,
    enableDraftSpec: true,
    onExceeded: () => { app.metrics.rateLimited.inc() },
    errorResponseBuilder: (_request, context) =>
      new RateLimitedError(`At most ${context.max} requests per ${context.after}; retry after Retry-After`)
  })
}, { name: 'rate-limit', dependencies: ['metrics'] })

/**
 * An authenticated caller is limited as itself, from any address. Without authentication (AUTH_MODE=none, or a
 * request not yet authenticated) every client is limited per address, never all together.
 */
function rateLimitKey (request: FastifyRequest): string {
  const caller = request.caller
  return caller == null || caller === ANONYMOUS ? `address:${request.ip}` : `caller:${caller.id}`
}
