// The Redis adapter of the cache store: one hash per entry, every operation one Lua round trip.
import type { Cluster, Redis, Result } from 'ioredis'
import { StoreUnavailableError } from '../errors.js'
import type { EntityTagList, Preconditions } from '../http/conditional.js'
import type { CacheEntry, CachePut, CacheStore, DeleteResult, PutResult } from './cache-store.js'
import { luaScript } from './lua-scripts.js'

declare module 'ioredis' {
  interface RedisCommander<Context> {
    cachePut (key: string, value: Buffer, contentType: string, etag: string, ttlMs: number,
      ifMatch: string, ifNoneMatch: string): Result<number, Context>
    cacheGetBuffer (key: string): Result<[Buffer, Buffer, Buffer, number] | null, Context>
    cacheDelete (key: string, ifMatch: string, ifNoneMatch: string): Result<number, Context>
  }
}

const PUT_RESULTS: Record<number, PutResult> = { 0: 'precondition-failed', 1: 'created', 2: 'replaced' }
const DELETE_RESULTS: Record<number, DeleteResult> = { '-1': 'not-found', 0: 'precondition-failed', 1: 'deleted' }

export class RedisCacheStore implements CacheStore {
  readonly #redis: Redis | Cluster
  readonly #prefix: string

  constructor (redis: Redis | Cluster, keyPrefix: string) {
    this.#redis = redis
    this.#prefix = `${keyPrefix}cache:`
    redis.defineCommand('cachePut', { numberOfKeys: 1, lua: luaScript('cache-put', { withPreconditions: true }) })
    redis.defineCommand('cacheGet', { numberOfKeys: 1, lua: luaScript('cache-get') })
    redis.defineCommand('cacheDelete', { numberOfKeys: 1, lua: luaScript('cache-delete', { withPreconditions: true }) })
  }

  async get (key: string): Promise<CacheEntry | undefined> {
    const reply = await unavailableOnFailure(this.#redis.cacheGetBuffer(this.#prefix + key))
    if (reply === null) return undefined
    const [value, contentType, etag, ttlMs] = reply
    return { value, contentType: contentType.toString(), etag: etag.toString(), ttlMs }
  }

  async put (key: string, entry: CachePut, { ifMatch, ifNoneMatch }: Preconditions): Promise<PutResult> {
    const reply = await unavailableOnFailure(this.#redis.cachePut(this.#prefix + key, entry.value, entry.contentType,
      entry.etag, entry.ttlSeconds * 1000, encodeStrong(ifMatch), encodeWeak(ifNoneMatch)))
    return PUT_RESULTS[reply]!
  }

  async delete (key: string, { ifMatch, ifNoneMatch }: Preconditions): Promise<DeleteResult> {
    const reply = await unavailableOnFailure(
      this.#redis.cacheDelete(this.#prefix + key, encodeStrong(ifMatch), encodeWeak(ifNoneMatch)))
    return DELETE_RESULTS[reply]!
  }
}

/** Any failure to get an answer from Redis (down, timed out, refusing writes) is a 503 to the caller. */
export async function unavailableOnFailure<T> (command: Promise<T>): Promise<T> {
  try {
    return await command
  } catch (err) {
    throw new StoreUnavailableError({ cause: err })
  }
}

// Encodings understood by lua/preconditions.lua.
function encodeStrong (list: EntityTagList | undefined): string {
  if (list === undefined) return ''
  return list === '*' ? '*' : list.join('\n')
}

function encodeWeak (list: EntityTagList | undefined): string {
  if (list === undefined) return ''
  return list === '*' ? '*' : list.map((tag) => (tag.startsWith('W/') ? tag.slice(2) : tag)).join('\n')
}
