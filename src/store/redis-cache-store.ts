// The Redis adapter of the cache store: one hash per entry, every read and untagged write one Lua round trip.
// Tags are sorted sets of their entries' writes, kept by redis-tag-index.ts.
import type { Cluster, Redis } from 'ioredis'
import { randomToken } from '../random-token.js'
import { RedisClock } from '../redis/clock.js'
import type {
  CacheEntry, CacheLookup, ReadDirectives, CachePut, CacheStore, InvalidationMode, Lease, PutResult, TagInvalidation
} from './cache-store.js'
import { LeaseWaiters, type LeaseWait, type LeaseWaitersOptions, type WaitOptions } from './lease-waiters.js'
import type { Preconditions } from './preconditions.js'
import { callRedis } from './redis-call.js'
import { defineScripts } from './redis-commands.js'
import { conditionalDelete, conditionalMarkStale } from './redis-conditional-delete.js'
import { encodePreconditions } from './redis-preconditions.js'
import { ChangeChannel } from './redis-change-channel.js'
import { NearCache, type NearCacheOptions } from './redis-near-cache.js'
import { RedisTagIndex, taggedWriteOf } from './redis-tag-index.js'
import { StoreUnavailableError, type DeleteResult } from './types.js'

const PUT_RESULTS: Record<number, PutResult> = {
  0: 'precondition-failed', 1: 'created', 2: 'replaced', 3: 'lease-lost'
}

export class RedisCacheStore implements CacheStore {
  readonly #redis: Redis | Cluster
  readonly #prefix: string
  readonly #tags: RedisTagIndex
  /** Where the scripts announce every change of an entry, to the waiting readers and near caches of every replica. */
  readonly #changeChannel: string
  readonly #changes: ChangeChannel
  readonly #waiters: LeaseWaiters
  readonly #near: NearCache
  readonly #clock: RedisClock

  /**
   * subscriber: the connection changes are announced on, made on the first wait (no waits, no connection), or at
   * once with the near cache on.
   */
  constructor (redis: Redis | Cluster, keyPrefix: string, subscriber: () => Redis | Cluster,
    waiting: LeaseWaitersOptions, near: NearCacheOptions = { maxBytes: 0, maxStaleIfErrorSeconds: 0 }) {
    this.#waiters = new LeaseWaiters(waiting)
    this.#near = new NearCache(near)
    this.#redis = redis
    this.#prefix = `${keyPrefix}cache:`
    this.#changeChannel = `${keyPrefix}lease-ended`
    this.#changes = new ChangeChannel(redis, subscriber, this.#changeChannel, {
      changed: (key) => {
        this.#waiters.notify(key)
        this.#near.changed(key)
      },
      heard: (sentAt) => { this.#near.heard(sentAt) },
      lost: () => { this.#near.lost() },
      hearing: (on) => { this.#near.hearing(on) }
    })
    if (this.#near.enabled) this.#changes.startHeartbeat()
    // This replica's own changes are forgotten before they are sent: it never answers with what it replaced.
    this.#tags = new RedisTagIndex(redis, keyPrefix, this.#changeChannel, (key) => { this.#near.changed(key) })
    defineScripts(redis)
    // After the scripts: its first TIME opens an auto-pipeline, and a pipeline made before a script's definition
    // has no method for it (ioredis then fails every command batched with it).
    this.#clock = new RedisClock(redis)
  }

  /** The near cache's copies, for tests. */
  get nearCache (): NearCache {
    return this.#near
  }

  close (): void {
    this.#changes.close()
  }

  /**
   * With the near cache on, an entry read for a caller that names a stale-if-error, or that has one of its own, is
   * kept in it, and answers (marked stale, within the caller's allowance, or else the entry's) should Redis not.
   * With its fresh reads on too, every entry read is kept, and a fresh copy answers a read that takes no lease and
   * does not say no-cache.
   */
  async get (key: string, lease?: { ttlMs: number }, maxValueBytes?: number, directives: ReadDirectives = {})
    : Promise<CacheLookup> {
    const { staleIfErrorMs, noCache } = directives
    const redisKey = this.#prefix + key
    if (lease === undefined && noCache !== true && this.#near.freshReads) {
      this.#changes.noticeClusterMove()
      const fresh = this.#near.freshCopy(redisKey)
      if (fresh !== undefined) return fromMemory(fresh, maxValueBytes, { fromNearCache: true })
    }
    if (!this.#near.enabled || (staleIfErrorMs === 0 && !this.#near.freshReads)) {
      return await this.#get(key, lease, maxValueBytes)
    }
    const startedAt = this.#near.beginRead(redisKey)
    let found: CacheLookup
    try {
      found = await this.#get(key, lease, maxValueBytes)
    } catch (err) {
      this.#near.endRead(redisKey, startedAt)
      const copy = err instanceof StoreUnavailableError ? this.#near.staleCopy(redisKey, staleIfErrorMs) : undefined
      if (copy === undefined) throw err
      return fromMemory(copy, maxValueBytes, { servedOnError: true })
    }
    // A value too large to read leaves the copy as it is (a change would have dropped it), and so does a read that
    // keeps nothing.
    const keep = this.#near.freshReads || staleIfErrorMs !== undefined || (found.entry?.staleIfErrorSeconds ?? 0) > 0
    this.#near.endRead(redisKey, startedAt, found.tooLarge === true || !keep ? undefined : found.entry ?? null)
    return found
  }

  async #get (key: string, lease?: { ttlMs: number }, maxValueBytes?: number): Promise<CacheLookup> {
    if (lease === undefined && maxValueBytes === undefined) {
      const read = await this.#read(key)
      if (read !== undefined) return read
    }
    const token = lease === undefined ? '' : randomToken(16)
    const reply = this.#redis.cacheGetBuffer(this.#prefix + key, lease === undefined ? '' : String(lease.ttlMs), token,
      maxValueBytes === undefined ? '' : String(maxValueBytes))
    const [value, contentType, etag, ttlMs, ageMs, leaseState, leaseMs, tooLarge, staleIfError] =
      await callRedis(this.#redis, 'cacheGet', reply)
    if (tooLarge === 1) return { entry: undefined, lease: undefined, tooLarge: true }
    const entry = value === null
      ? undefined
      : {
          value,
          contentType: contentType!.toString(),
          etag: etag!.toString(),
          ttlMs,
          ageMs: ageMs < 0 ? undefined : ageMs,
          staleIfErrorSeconds: numberOf(staleIfError)
        }
    return { entry, lease: leaseOf(leaseState.toString(), leaseMs, token) }
  }

  /**
   * A read that takes no lease and has no bound on the value needs nothing atomic: one HMGET, judged here as
   * cache-get.lua judges it, against Redis's clock as this replica reads it (redis/clock.ts). It costs Redis a fraction
   * of the script's CPU. undefined, for the script to read, while the clock has no recent sample, and for an entry
   * written before its fresh-until time was stored (the script reads that one with its key's TTL).
   */
  async #read (key: string): Promise<CacheLookup | undefined> {
    if (this.#clock.now() === undefined) return undefined
    const [value, contentType, etag, freshUntil, storedAt, leaseToken, leaseEnds, staleIfError] = await callRedis(
      this.#redis, 'cacheGet', this.#redis.hmgetBuffer(this.#prefix + key, 'v', 't', 'e', 'f', 'a', 'l', 'x', 'i'))
    const now = this.#clock.now()
    if (now === undefined || (etag != null && freshUntil == null)) return undefined
    const entry = etag == null
      ? undefined
      : {
          value: value!,
          contentType: contentType!.toString(),
          etag: etag.toString(),
          ttlMs: Math.round(Number(freshUntil!.toString()) - now),
          ageMs: storedAt == null ? undefined : Math.round(now - Number(storedAt.toString())),
          staleIfErrorSeconds: numberOf(staleIfError)
        }
    if (entry !== undefined && entry.ttlMs > 0) return { entry, lease: undefined }
    // A miss or a stale entry: somebody may be computing the value, and the lease says who.
    const leaseMs = leaseEnds == null ? 0 : Math.round(Number(leaseEnds.toString()) - now)
    return { entry, lease: leaseToken != null && leaseMs > 0 ? { state: 'held', ttlMs: leaseMs } : undefined }
  }

  /** A tagged write takes a few steps around its script: redis-tag-index.ts says which, and why in that order. */
  async put (key: string, entry: CachePut, preconditions: Preconditions): Promise<PutResult> {
    this.#near.changed(this.#prefix + key)
    const ttlMs = entry.ttlSeconds * 1000
    const staleMs = entry.staleSeconds * 1000
    // The memberships live as long as the entry can be served, stale window included.
    const written = await this.#tags.join(key, entry.tags, ttlMs + staleMs)
    const reply = this.#redis.cachePut(this.#prefix + key, entry.value, entry.contentType, entry.etag, ttlMs,
      ...encodePreconditions(preconditions), written?.writeId ?? '', staleMs, entry.leaseToken ?? '',
      this.#changeChannel, entry.tags.join(' '), entry.staleIfErrorSeconds)
    const [code, replacedId, replacedTags] = await callRedis(this.#redis, 'cachePut', reply)
    const result = PUT_RESULTS[code]!
    if (result === 'precondition-failed' || result === 'lease-lost') {
      // A refused write's memberships name no entry; they are forgotten all the same, best effort.
      await this.#tags.forget(key, written).catch(() => {})
    } else {
      await this.#tags.settle(key, written, taggedWriteOf(replacedId, replacedTags))
    }
    return result
  }

  async delete (key: string, preconditions: Preconditions, mode: InvalidationMode = 'remove'): Promise<DeleteResult> {
    this.#near.changed(this.#prefix + key)
    const { result, deleted } = await (mode === 'stale' ? conditionalMarkStale : conditionalDelete)(this.#redis,
      this.#prefix + key, preconditions, this.#changeChannel)
    await this.#tags.settle(key, undefined, deleted)
    return result
  }

  waitForLease (key: string, ms: number, options: WaitOptions): LeaseWait | undefined {
    const wait = this.#waiters.wait(this.#prefix + key, ms, options)
    if (wait === undefined) return undefined
    return { ...wait, listening: this.#changes.listen() }
  }

  /** How many readers wait in this process, for tests. */
  get waiterCount (): number {
    return this.#waiters.size
  }

  endWaits (): void {
    this.#waiters.close()
  }

  async invalidateTag (tag: string, mode: InvalidationMode = 'remove'): Promise<TagInvalidation> {
    return await this.#tags.invalidate(tag, mode)
  }
}

/** A near cache's copy as a lookup's answer: a read bounded in bytes is so from memory too. */
function fromMemory (copy: CacheEntry, maxValueBytes: number | undefined,
  source: Pick<CacheLookup, 'servedOnError' | 'fromNearCache'>): CacheLookup {
  if (maxValueBytes !== undefined && copy.value.length > maxValueBytes) {
    return { entry: undefined, lease: undefined, tooLarge: true }
  }
  return { entry: copy, lease: undefined, ...source }
}

/** A number field of an entry's hash, as HMGET or a script returns it; undefined when absent. */
function numberOf (field: Buffer | null | undefined): number | undefined {
  return field == null ? undefined : Number(field.toString())
}

function leaseOf (state: string, ttlMs: number, token: string): Lease | undefined {
  if (state === 'granted') return { state, token, ttlMs }
  if (state === 'held') return { state, ttlMs }
  return undefined
}
