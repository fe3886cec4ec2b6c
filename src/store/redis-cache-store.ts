// The Redis adapter of the cache store: one hash per entry, every read and untagged write one Lua round trip.
// Tags are sorted sets of their entries' writes (tag-add.lua), which may live in other cluster slots than the
// entries they name, so a tagged write and an invalidation take a few steps, ordered so that no step between them
// can leave an entry half invalidated.
import { randomBytes, randomUUID } from 'node:crypto'
import type { Cluster, Redis } from 'ioredis'
import type { CacheLookup, CachePut, CacheStore, Lease, PutResult } from './cache-store.js'
import { LeaseWaiters, type LeaseWait } from './lease-waiters.js'
import type { Preconditions } from './preconditions.js'
import { callRedis } from './redis-call.js'
import { defineScripts } from './redis-commands.js'
import { conditionalDelete } from './redis-conditional-delete.js'
import { encodePreconditions } from './redis-preconditions.js'
import type { DeleteResult } from './types.js'

const PUT_RESULTS: Record<number, PutResult> = {
  0: 'precondition-failed', 1: 'created', 2: 'replaced', 3: 'lease-lost'
}
/** A write id is a UUID: a tag's member is "<36 characters>:<key>". */
const WRITE_ID_LENGTH = 36
/** Evictions sent at once by an invalidation: a tag of a million entries must not queue a million commands. */
const EVICTION_BATCH = 1000

export class RedisCacheStore implements CacheStore {
  readonly #redis: Redis | Cluster
  readonly #prefix: string
  readonly #tagPrefix: string
  /** Where the scripts announce that a lease ended, to the waiting readers of every replica. */
  readonly #leaseChannel: string
  readonly #waiters = new LeaseWaiters()
  readonly #subscriber: () => Redis | Cluster
  #subscribed: Promise<void> | undefined

  /** subscriber: the connection lease announcements arrive on, made on the first wait (no waits, no connection). */
  constructor (redis: Redis | Cluster, keyPrefix: string, subscriber: () => Redis | Cluster) {
    this.#redis = redis
    this.#prefix = `${keyPrefix}cache:`
    this.#tagPrefix = `${keyPrefix}tag:`
    this.#leaseChannel = `${keyPrefix}lease-ended`
    this.#subscriber = subscriber
    defineScripts(redis)
  }

  async get (key: string, lease?: { ttlMs: number }): Promise<CacheLookup> {
    const token = lease === undefined ? '' : randomBytes(16).toString('base64url')
    const [value, contentType, etag, ttlMs, ageMs, leaseState, leaseMs] = await callRedis('cacheGet',
      this.#redis.cacheGetBuffer(this.#prefix + key, lease === undefined ? '' : String(lease.ttlMs), token))
    const entry = value === null
      ? undefined
      : {
          value,
          contentType: contentType!.toString(),
          etag: etag!.toString(),
          ttlMs,
          ageMs: ageMs < 0 ? undefined : ageMs
        }
    return { entry, lease: leaseOf(leaseState.toString(), leaseMs, token) }
  }

  /**
   * A tagged write joins its tags first and is written second. An invalidation that runs between the two finds the
   * member but not yet the write, and leaves both: the entry is then written after the invalidation, and the next
   * one finds it. The other order could leave a written entry that its tag does not name.
   */
  async put (key: string, entry: CachePut, preconditions: Preconditions): Promise<PutResult> {
    const ttlMs = entry.ttlSeconds * 1000
    const staleMs = entry.staleSeconds * 1000
    const writeId = entry.tags.length === 0 ? '' : randomUUID()
    const member = `${writeId}:${key}`
    const tagKeys = entry.tags.map((tag) => this.#tagPrefix + tag)
    if (tagKeys.length > 0) {
      await Promise.all(tagKeys.map(async (tagKey) =>
        // The member lives as long as the entry can be served, stale window included.
        await callRedis('tagAdd', this.#redis.tagAdd(tagKey, member, ttlMs + staleMs))))
    }

    const reply = await callRedis('cachePut', this.#redis.cachePut(this.#prefix + key, entry.value, entry.contentType,
      entry.etag, ttlMs, ...encodePreconditions(preconditions), writeId, staleMs,
      entry.leaseToken ?? '', this.#leaseChannel))
    const result = PUT_RESULTS[reply]!
    // A refused write's memberships name no entry, so they are harmless; they are removed all the same, best effort.
    if (result === 'precondition-failed' || result === 'lease-lost') {
      await Promise.allSettled(tagKeys.map(async (tagKey) => await this.#redis.zrem(tagKey, member)))
    }
    return result
  }

  async delete (key: string, preconditions: Preconditions): Promise<DeleteResult> {
    return await conditionalDelete(this.#redis, this.#prefix + key, preconditions, this.#leaseChannel)
  }

  waitForLease (key: string, ms: number): LeaseWait {
    this.#subscribed ??= this.#subscribe()
    return { ...this.#waiters.wait(this.#prefix + key, ms), listening: this.#subscribed }
  }

  endWaits (): void {
    this.#waiters.close()
  }

  /**
   * One subscription per replica, whatever the number of waiters; ioredis subscribes again after a reconnect. Should
   * it fail, waits still end at their bound, and the next wait tries again.
   */
  async #subscribe (): Promise<void> {
    try {
      const subscriber = this.#subscriber()
      subscriber.on('message', (_channel: string, key: string) => { this.#waiters.notify(key) })
      await subscriber.subscribe(this.#leaseChannel)
    } catch {
      this.#subscribed = undefined
    }
  }

  /**
   * Reads the tag's live members, deletes each entry that is still the write its member names (tag-evict.lua), then
   * forgets those members. Members it did not delete stay until their entries would have expired: a stale write's,
   * which costs nothing, or a write in flight's, which the next invalidation must still find.
   */
  async invalidateTag (tag: string): Promise<number> {
    const tagKey = this.#tagPrefix + tag
    const members = await callRedis('tagMembers', this.#redis.tagMembers(tagKey))
    let removed = 0
    for (let start = 0; start < members.length; start += EVICTION_BATCH) {
      const batch = members.slice(start, start + EVICTION_BATCH)
      // Sent in one tick, so auto-pipelining makes them one round trip per node, whatever slots the keys hash to.
      const evicted = await Promise.all(batch.map(async (member) => await callRedis('tagEvict', this.#redis.tagEvict(
        this.#prefix + member.slice(WRITE_ID_LENGTH + 1), member.slice(0, WRITE_ID_LENGTH)))))
      const gone = batch.filter((_, i) => evicted[i] === 1)
      if (gone.length > 0) await callRedis('tagForget', this.#redis.zrem(tagKey, ...gone))
      removed += gone.length
    }
    return removed
  }
}

function leaseOf (state: string, ttlMs: number, token: string): Lease | undefined {
  if (state === 'granted') return { state, token, ttlMs }
  if (state === 'held') return { state, ttlMs }
  return undefined
}
