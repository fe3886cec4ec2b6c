// Chooses the backend (Redis when REDIS_URL is set, the embedded memory store otherwise) and decorates the app
// with the store ports the routes use. Routes never see which one they got.
import fastifyRedis from '@fastify/redis'
import fp from 'fastify-plugin'
import type { Config } from '../config.js'
import { closeRedisClient, createRedisClient, waitUntilReady } from '../redis/client.js'
import type { CacheStore, StoreHealth } from '../store/cache-store.js'
import { MemoryCacheStore } from '../store/memory-cache-store.js'
import { MemorySessionStore } from '../store/memory-session-store.js'
import { RedisCacheStore } from '../store/redis-cache-store.js'
import { RedisSessionStore } from '../store/redis-session-store.js'
import type { SessionStore } from '../store/session-store.js'
import { unavailableOnFailure } from '../store/redis-scripts.js'

declare module 'fastify' {
  interface FastifyInstance {
    cacheStore: CacheStore
    sessionStore: SessionStore
    storeHealth: StoreHealth
  }
}

/** How long startup waits for Redis before giving up (Kubernetes then restarts the pod). */
export const REDIS_STARTUP_TIMEOUT_MS = 15_000

export interface StorePluginOptions {
  config: Config
}

export default fp<StorePluginOptions>(async (app, { config }) => {
  if (config.redisUrl === undefined) {
    app.log.warn('REDIS_URL is not set: using the embedded memory store, which is single-instance and not durable')
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

  const client = createRedisClient({ url: config.redisUrl, commandTimeoutMs: config.redisCommandTimeoutMs }, app.log)
  try {
    // The app starts only once Redis has answered. Waiting here rather than in @fastify/redis gives a clear
    // error for a refused password, instead of its QUIT that an offline client cannot send.
    await waitUntilReady(client, REDIS_STARTUP_TIMEOUT_MS)
  } catch (err) {
    // A client that never became ready would otherwise go on reconnecting, and keep the process alive.
    client.disconnect()
    throw err
  }
  await app.register(fastifyRedis, { client })
  app.addHook('onClose', async () => { await closeRedisClient(client) })
  app.decorate('cacheStore', new RedisCacheStore(client, config.keyPrefix))
  app.decorate('sessionStore', new RedisSessionStore(client, config.keyPrefix))
  app.decorate('storeHealth', { ping: async () => { await unavailableOnFailure(client.ping()) } })
}, { name: 'store' })
