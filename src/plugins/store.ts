// Chooses the backend (Redis when it is configured, the embedded memory store otherwise) and decorates the app
// with the store ports the routes use. Routes never see which one they got.
import type { TokenCredential } from '@azure/core-auth'
import fp from 'fastify-plugin'
import type { Config } from '../config.js'
import type { BackoffOptions } from '../redis/token-schedule.js'
import type { CacheStore, StoreHealth } from '../store/cache-store.js'
import { MemoryCacheStore } from '../store/memory-cache-store.js'
import { MemorySessionStore } from '../store/memory-session-store.js'
import { RedisCacheStore } from '../store/redis-cache-store.js'
import { RedisSessionStore } from '../store/redis-session-store.js'
import type { SessionStore } from '../store/session-store.js'
import redisConnection from './redis-connection.js'

declare module 'fastify' {
  interface FastifyInstance {
    cacheStore: CacheStore
    sessionStore: SessionStore
    storeHealth: StoreHealth
  }
}

export interface StorePluginOptions {
  config: Config
  credential?: TokenCredential | undefined
  tokenBackoff?: BackoffOptions | undefined
  onFatalError?: ((err: Error) => void) | undefined
}

export default fp<StorePluginOptions>(async (app, { config, credential, tokenBackoff, onFatalError }) => {
  if (config.redis === undefined) {
    app.log.warn('Redis is not configured: using the embedded memory store, which is single-instance and not durable')
    const cacheStore = new MemoryCacheStore()
    const sessionStore = new MemorySessionStore()
    app.decorate('cacheStore', cacheStore)
    app.decorate('sessionStore', sessionStore)
    app.decorate('storeHealth', { ping: async () => {} })
    app.addHook('onClose', async () => {
      cacheStore.close()
      sessionStore.close()
    })
    return
  }

  await app.register(redisConnection, {
    redis: config.redis,
    commandTimeoutMs: config.redisCommandTimeoutMs,
    ...(credential !== undefined && { credential }),
    ...(tokenBackoff !== undefined && { tokenBackoff }),
    ...(onFatalError !== undefined && { onFatalError })
  })
  app.decorate('cacheStore', new RedisCacheStore(app.redis, config.keyPrefix))
  app.decorate('sessionStore', new RedisSessionStore(app.redis, config.keyPrefix))
  app.decorate('storeHealth', { ping: app.redisHealth })
}, { name: 'store' })
