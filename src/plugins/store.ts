// Chooses the backend (Redis when REDIS_URL is set, the embedded memory store otherwise) and decorates the app
// with the store ports the routes use. Routes never see which one they got.
import fastifyRedis from '@fastify/redis'
import fp from 'fastify-plugin'
import type { Config } from '../config.js'
import { createRedisClient } from '../redis/client.js'
import type { CacheStore, StoreHealth } from '../store/cache-store.js'
import { MemoryCacheStore } from '../store/memory-cache-store.js'
import { RedisCacheStore, unavailableOnFailure } from '../store/redis-cache-store.js'

declare module 'fastify' {
  interface FastifyInstance {
    cacheStore: CacheStore
    storeHealth: StoreHealth
  }
}

export interface StorePluginOptions {
  config: Config
}

export default fp<StorePluginOptions>(async (app, { config }) => {
  if (config.redisUrl === undefined) {
    app.log.warn('REDIS_URL is not set: using the embedded memory store, which is single-instance and not durable')
    const store = new MemoryCacheStore()
    app.decorate('cacheStore', store)
    app.decorate('storeHealth', { ping: async () => {} })
    app.addHook('onClose', async () => store.close())
    return
  }

  const client = createRedisClient({ url: config.redisUrl, commandTimeoutMs: config.redisCommandTimeoutMs }, app.log)
  // @fastify/redis waits for the first 'ready' before the app starts, and quits the client on close.
  await app.register(fastifyRedis, { client, closeClient: true })
  app.decorate('cacheStore', new RedisCacheStore(client, config.keyPrefix))
  app.decorate('storeHealth', { ping: async () => { await unavailableOnFailure(client.ping()) } })
}, { name: 'store' })
