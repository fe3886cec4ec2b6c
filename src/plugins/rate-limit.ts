// The per-caller rate limit. With Redis its counters live there, so every replica enforces one shared limit, each
// admitting from budgets it takes (redis/rate-limit-store.ts); without Redis, @fastify/rate-limit's local store
// counts. @fastify/rate-limit also gives auth.ts the limit on failed authentications (createRateLimit), counted in a
// store of the same kind.
//
// The per-caller check is this plugin's own hook rather than the library's global one: a callback that answers at
// once from a budget held here. The library's hook (four promises, and a property added to every request) cost
// about 3 µs more CPU per request, measured on GET hits at 5,000 a second (about 120 µs each).
import { createRequire } from 'node:module'
import fastifyRateLimit, { type FastifyRateLimitStore } from '@fastify/rate-limit'
import type { FastifyRequest, onRequestHookHandler } from 'fastify'
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

/** The library's in-process store, which its package exports no path to. */
const LocalStore = createRequire(import.meta.url)('@fastify/rate-limit/store/LocalStore.js') as
  new (continueExceeding: boolean, exponentialBackoff: boolean) => FastifyRateLimitStore

export default fp<RateLimitPluginOptions>(async (app, options) => {
  const { max, windowMs, shared, keyPrefix } = options
  // fastify-plugin cannot declare a dependency that only some configurations have; this says it as loudly.
  if (shared && !app.hasDecorator('redis')) throw new Error('rate-limit: shared counters need the redis plugin')
  const Store = shared ? sharedCountersIn(app.redis, `${keyPrefix}rate-limit:`, options) : undefined
  // No limit of its own (global: false): createRateLimit's callers name theirs.
  await app.register(fastifyRateLimit, {
    global: false,
    ...(Store !== undefined && { store: Store }),
    // A counter Redis cannot update is the store's 503 at once (redis/rate-limit-store.ts), never a 429 or a 500.
    skipOnError: false
  })
  if (max === 0) return

  // Named as the library's global limit named them, so that replicas of either count the same during an upgrade.
  const counters = Store !== undefined ? new Store({}) : new LocalStore(false, false)
  const limit = String(max)
  const check: onRequestHookHandler = (request, reply, done) => {
    counters.incr(rateLimitKey(request), (err, counted) => {
      if (err !== null) {
        done(err)
        return
      }
      const { current, ttl } = counted!
      const resetSeconds = String(Math.ceil(ttl / 1000))
      reply.header('ratelimit-limit', limit).header('ratelimit-reset', resetSeconds)
      if (current <= max) {
        reply.header('ratelimit-remaining', String(max - current))
        done()
        return
      }
      app.metrics.rateLimited.inc()
      reply.header('ratelimit-remaining', '0').header('retry-after', resetSeconds)
      done(new RateLimitedError(`At most ${max} requests per ${windowMs / 1000} s; retry after Retry-After`))
    }, windowMs, max)
  }
  // A route-level onRequest hook, so it runs after authentication (an app-level onRequest hook) and before the scope
  // check, body parsing and validation: a refused request counts like any other.
  app.addHook('onRoute', (route) => {
    if (route.config?.rateLimit === false) return
    route.onRequest = [...[route.onRequest ?? []].flat(), check]
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
