// The store ports the routes use, decorated on the app: the Redis adapters when Redis is configured, the embedded
// memory store otherwise. Both plugins are named `store`, so what depends on the store does not care which it got.
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { CacheStore } from '../store/cache-store.js'
import type { LeaseWaitersOptions } from '../store/lease-waiters.js'
import { observeNearCache } from '../redis/metrics.js'
import { MemoryCacheStore } from '../store/memory-cache-store.js'
import { MemorySessionStore } from '../store/memory-session-store.js'
import { RedisCacheStore } from '../store/redis-cache-store.js'
import type { NearCacheOptions } from '../store/redis-near-cache.js'
import { RedisSessionStore } from '../store/redis-session-store.js'
import type { SessionEventOptions, SessionStore } from '../store/session-store.js'
import type { StoreHealth } from '../store/types.js'

declare module 'fastify' {
  interface FastifyInstance {
    cacheStore: CacheStore
    sessionStore: SessionStore
    /** What /readyz asks. */
    storeHealth: StoreHealth
  }
}

/** The caps on readers waiting for a lease, in all and per caller. */
type Waiting = Pick<LeaseWaitersOptions, 'maxWaiters' | 'maxPerCaller'>

export const memoryStore = fp<{ waiting: Waiting, sessionEvents: SessionEventOptions }>(async (app, options) => {
  app.log.warn('Redis is not configured: using the embedded memory store, which is single-instance and not durable')
  const cacheStore = new MemoryCacheStore(options.waiting)
  const sessionStore = new MemorySessionStore(options.sessionEvents)
  app.decorate('cacheStore', cacheStore)
  app.decorate('sessionStore', sessionStore)
  app.decorate('storeHealth', { ping: async () => {} })
  endWaitsOnClose(app, cacheStore)
  app.addHook('onClose', async () => {
    cacheStore.close()
    sessionStore.close()
  })
}, { name: 'store' })

export interface RedisStoreOptions {
  keyPrefix: string
  waiting: Waiting
  near: NearCacheOptions
  /** Redis's command timeout: how soon waiting readers must learn of an outage. */
  commandTimeoutMs: number
  /** The longest absolute lifetime a session may have. */
  sessionAbsoluteTtlSeconds: number
  /** The log of session ends, and how often to look for the sessions of subjects that expired. */
  sessionEvents: SessionEventOptions & { sweepIntervalMs: number }
}

export const redisStore = fp<RedisStoreOptions>(async (app, options) => {
  const { keyPrefix, waiting, near, commandTimeoutMs } = options
  const cacheStore = new RedisCacheStore(app.redis, keyPrefix, app.redisSubscriber, {
    ...waiting,
    // While readers wait, Redis is asked often enough that an outage answers them all within about its timeout.
    health: app.redisHealth,
    healthIntervalMs: Math.max(20, Math.floor(commandTimeoutMs / 10))
  }, near)
  app.decorate('cacheStore', cacheStore)
  if (cacheStore.nearCache.enabled) observeNearCache(app.metrics.registry, cacheStore.nearCache)
  const sessionStore = new RedisSessionStore(app.redis, keyPrefix, {
    absoluteTtlSeconds: options.sessionAbsoluteTtlSeconds,
    events: options.sessionEvents,
    warn: (err, message) => { app.log.warn({ err }, message) }
  })
  app.decorate('sessionStore', sessionStore)
  app.decorate('storeHealth', { ping: app.redisHealth })
  endWaitsOnClose(app, cacheStore)
  // The sweep starts once the app is ready and stops before Redis closes.
  app.addHook('onReady', async () => { sessionStore.sweepExpired() })
  app.addHook('onClose', async () => {
    cacheStore.close()
    await sessionStore.close()
  })
}, { name: 'store', dependencies: ['redis'] })

/** Before the server waits for in-flight requests: readers waiting for a value must answer now, not hold it up. */
function endWaitsOnClose (app: FastifyInstance, cacheStore: CacheStore): void {
  app.addHook('preClose', (done) => {
    cacheStore.endWaits()
    done()
  })
}
