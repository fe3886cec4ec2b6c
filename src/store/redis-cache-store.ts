// The Redis adapter of the cache store: one hash per entry, every operation one Lua round trip.
import type { Cluster, Redis } from 'ioredis'
import type { CacheEntry, CachePut, CacheStore, PutResult } from './cache-store.js'
import type { Preconditions } from './preconditions.js'
import { callRedis } from './redis-call.js'
import { defineScripts } from './redis-commands.js'
import { conditionalDelete } from './redis-conditional-delete.js'
import { encodePreconditions } from './redis-preconditions.js'
import type { DeleteResult } from './types.js'

const PUT_RESULTS: Record<number, PutResult> = { 0: 'precondition-failed', 1: 'created', 2: 'replaced' }

export class RedisCacheStore implements CacheStore {
  readonly #redis: Redis | Cluster
  readonly #prefix: string

  constructor (redis: Redis | Cluster, keyPrefix: string) {
    this.#redis = redis
    this.#prefix = `${keyPrefix}cache:`
    defineScripts(redis)
  }

  async get (key: string): Promise<CacheEntry | undefined> {
    const reply = await callRedis('cacheGet', this.#redis.cacheGetBuffer(this.#prefix + key))
    if (reply === null) return undefined
    const [value, contentType, etag, ttlMs] = reply
    return { value, contentType: contentType.toString(), etag: etag.toString(), ttlMs }
  }

  async put (key: string, entry: CachePut, preconditions: Preconditions): Promise<PutResult> {
    const reply = await callRedis('cachePut', this.#redis.cachePut(this.#prefix + key, entry.value, entry.contentType,
      entry.etag, entry.ttlSeconds * 1000, ...encodePreconditions(preconditions)))
    return PUT_RESULTS[reply]!
  }

  async delete (key: string, preconditions: Preconditions): Promise<DeleteResult> {
    return await conditionalDelete(this.#redis, this.#prefix + key, preconditions)
  }
}
