// The embedded cache store: a Map with the same TTL, staleness, ETag, precondition, lease and tag semantics as the
// Redis adapter. It lives in one process and forgets everything on restart, which is what a newcomer's first run
// needs. Every method completes without awaiting, so each is as atomic as its Lua twin.
import { setImmediate } from 'node:timers/promises'
import { randomToken } from '../random-token.js'
import type {
  CacheLookup, CachePut, CacheStore, InvalidationMode, PutResult, TagInvalidation
} from './cache-store.js'
import { ExpiringMap } from './expiring-map.js'
import { LeaseWaiters, type LeaseWait, type LeaseWaitersOptions, type WaitOptions } from './lease-waiters.js'
import { conditionalDelete } from './memory-conditional-delete.js'
import { TagIndex } from './memory-tag-index.js'
import { evaluatePreconditions, type Preconditions } from './preconditions.js'
import type { DeleteResult } from './types.js'

/** Entries an invalidation removes before it lets other requests run: a few milliseconds' work. */
const INVALIDATION_BATCH = 1000

interface StoredEntry {
  value: Buffer
  contentType: string
  etag: string
  tags: readonly string[]
  storedAt: number
  freshUntil: number
}

export class MemoryCacheStore implements CacheStore {
  readonly #tags = new TagIndex()
  // An entry's tags go with it, however it leaves: deleted, replaced, invalidated or expired.
  readonly #entries = new ExpiringMap<StoredEntry>({ onRemoved: (key, entry) => this.#tags.remove(key, entry.tags) })
  readonly #leases = new ExpiringMap<{ token: string }>()
  readonly #waiters: LeaseWaiters

  constructor (waiting: LeaseWaitersOptions) {
    this.#waiters = new LeaseWaiters(waiting)
  }

  close (): void {
    this.#entries.close()
    this.#leases.close()
    this.#waiters.close()
  }

  /** Tags that still have a live entry; tests read it to see that bookkeeping does not outlive the entries. */
  get tagCount (): number {
    return this.#tags.size
  }

  /** How many (tag, key) memberships the index holds, for the same tests. */
  get tagMemberCount (): number {
    return this.#tags.memberCount
  }

  async get (key: string, lease?: { ttlMs: number }, maxValueBytes?: number): Promise<CacheLookup> {
    const now = Date.now()
    const found = this.#entries.get(key)?.value
    if (found !== undefined && maxValueBytes !== undefined && found.value.length > maxValueBytes) {
      return { entry: undefined, lease: undefined, tooLarge: true }
    }
    const entry = found && {
      value: found.value,
      contentType: found.contentType,
      etag: found.etag,
      ttlMs: found.freshUntil - now,
      ageMs: now - found.storedAt
    }
    if (entry !== undefined && entry.ttlMs > 0) return { entry, lease: undefined }

    const held = this.#leases.get(key)
    if (held !== undefined) return { entry, lease: { state: 'held', ttlMs: held.ttlMs } }
    if (lease === undefined) return { entry, lease: undefined }
    const token = randomToken(16)
    this.#leases.set(key, { token }, lease.ttlMs)
    return { entry, lease: { state: 'granted', token, ttlMs: lease.ttlMs } }
  }

  async put (key: string, entry: CachePut, preconditions: Preconditions): Promise<PutResult> {
    if (entry.leaseToken !== undefined && this.#leases.get(key)?.value.token !== entry.leaseToken) return 'lease-lost'
    const current = this.#entries.get(key)
    if (evaluatePreconditions(current?.value.etag, preconditions) !== 'pass') return 'precondition-failed'
    const { contentType, etag, tags } = entry
    const now = Date.now()
    const freshUntil = now + entry.ttlSeconds * 1000
    this.#entries.setUntil(key, { value: ownCopy(entry.value), contentType, etag, tags, storedAt: now, freshUntil },
      freshUntil + entry.staleSeconds * 1000)
    this.#tags.add(key, tags)
    this.#endLease(key)
    return current === undefined ? 'created' : 'replaced'
  }

  async delete (key: string, preconditions: Preconditions, mode: InvalidationMode = 'remove'): Promise<DeleteResult> {
    if (mode === 'remove') {
      const result = conditionalDelete(this.#entries, key, preconditions)
      if (result !== 'precondition-failed') this.#endLease(key)
      return result
    }
    // The twin of cache-mark-stale.lua.
    const found = this.#entries.get(key)
    if (evaluatePreconditions(found?.value.etag, preconditions) !== 'pass') return 'precondition-failed'
    this.#endLease(key)
    if (found === undefined) return 'not-found'
    this.#markStale(key, found, Date.now())
    return 'deleted'
  }

  /**
   * A batch at a time, yielding to other requests between batches, as the Redis adapter does: a tag of a million
   * entries must not hold the event loop. Keys that join the tag while it runs are concurrent with it, and left.
   */
  async invalidateTag (tag: string, mode: InvalidationMode = 'remove'): Promise<TagInvalidation> {
    return mode === 'stale' ? await this.#markTagStale(tag) : { removed: await this.#removeTag(tag), markedStale: 0 }
  }

  async #removeTag (tag: string): Promise<number> {
    let removed = 0
    let left = this.#tags.count(tag)
    while (left > 0) {
      const keys = this.#tags.take(tag, Math.min(left, INVALIDATION_BATCH))
      if (keys.length === 0) break
      left -= keys.length
      for (const key of keys) {
        // A key in the index is live until read: one that expired a moment ago is swept, not counted.
        if (this.#entries.get(key) !== undefined && this.#entries.delete(key)) removed++
        // In Redis a stale entry's lease lives in its hash, and goes with it.
        this.#endLease(key)
      }
      await setImmediate()
    }
    return removed
  }

  /** The twin of tag-mark-stale.lua: the keys stay in the tag, as their entries still carry it. */
  async #markTagStale (tag: string): Promise<TagInvalidation> {
    const outcome = { removed: 0, markedStale: 0 }
    let left = this.#tags.count(tag)
    for (const key of this.#tags.keysOf(tag)) {
      if (left-- === 0) break
      const found = this.#entries.get(key)
      if (found !== undefined) {
        this.#endLease(key)
        const marked = this.#markStale(key, found, Date.now())
        if (marked === 1) outcome.markedStale++
        if (marked === -1) outcome.removed++
      }
      if (left % INVALIDATION_BATCH === 0) await setImmediate()
    }
    return outcome
  }

  /**
   * The twin of mark-stale.lua: 1 when a fresh entry is now served only as stale, for what is left of its stale
   * window; 0 when it was stale already; -1 when it had no stale window, and is removed.
   */
  #markStale (key: string, found: { value: StoredEntry, expiresAt: number }, now: number): 1 | 0 | -1 {
    const entry = found.value
    if (entry.freshUntil <= now) return 0
    const window = found.expiresAt - entry.freshUntil
    if (window <= 0) {
      this.#entries.delete(key)
      return -1
    }
    entry.freshUntil = now
    this.#entries.expireAt(key, now + window)
    return 1
  }

  waitForLease (key: string, ms: number, options: WaitOptions): LeaseWait | undefined {
    return this.#waiters.wait(key, ms, options)
  }

  /** How many readers wait in this process, for tests. */
  get waiterCount (): number {
    return this.#waiters.size
  }

  endWaits (): void {
    this.#waiters.close()
  }

  #endLease (key: string): void {
    if (this.#leases.delete(key)) this.#waiters.notify(key)
  }
}

/**
 * The body may be a slice of a larger socket buffer, and Buffer.from would copy into Node's shared 8 KiB pool:
 * either way a small value would pin memory it does not use. A long-lived value gets an allocation of its own.
 */
function ownCopy (value: Buffer): Buffer {
  const copy = Buffer.allocUnsafeSlow(value.length)
  value.copy(copy)
  return copy
}
