// The near cache (L1): the last copy of each entry this replica read for a caller that allows stale-if-error, or
// that has a stale-if-error of its own, kept in process memory to answer when Redis does not (RFC 5861). It serves
// nothing while Redis answers.
//
// A copy is only as good as what the replica hears of changes. Every script that changes an entry announces its key
// on the change channel (redis-change-channel.ts), and a copy is forgotten as its key is announced; the replica's
// own writes forget their keys before they are sent. Whether the replica hears is known from its heartbeats: a
// copy counts as stale from its freshness's end or from the last heartbeat heard, whichever is first, so that a
// change the replica may have missed (Redis gone, the channel cut) is covered by the staleness the caller allowed.
// After a gap in the heartbeats every copy is dropped, and none is kept from a read begun during the gap. A copy
// served on error is always marked stale.
//
// Bounded in bytes (NEAR_CACHE_MAX_BYTES) by lru-cache, which evicts the least recently used: the copies kept are
// those of entries read often and lately, which are those a caller will ask for during an outage. lru-cache is
// isaacs's maintained LRU, with a byte budget and a largest-entry bound built in.
import { LRUCache } from 'lru-cache'
import type { CacheEntry } from './cache-store.js'
import { DEAF_AFTER_MS } from './redis-change-channel.js'

/** What a copy costs beyond its value's bytes and its key: the object, its strings and the LRU's bookkeeping. */
const OVERHEAD_BYTES = 200

interface Copy {
  value: Buffer
  contentType: string
  etag: string
  /** performance.now() when the entry stops being fresh, and when it was stored (undefined: unknown). */
  freshUntil: number
  storedAt: number | undefined
  /** The entry's own stale-if-error, for reads that name none. */
  ownAllowanceMs: number
}

export interface NearCacheOptions {
  /** The byte budget; 0 keeps nothing. */
  maxBytes: number
  /** The longest stale-if-error allowance honoured (0: none, and nothing kept): no copy is kept longer than this past
   * its freshness. */
  maxStaleIfErrorSeconds: number
}

export class NearCache {
  readonly #copies: LRUCache<string, Copy> | undefined
  readonly #maxStaleIfErrorMs: number
  /** Keys read from Redis right now, and whether a change of the key was announced while a read was out. */
  readonly #reading = new Map<string, { readers: number, changed: boolean }>()
  /** performance.now() when the latest heartbeat heard was sent: every change announced before it has been heard. */
  #heardUpTo = -Infinity
  /** When the first heartbeat heard after a gap was sent: a read begun before it may have missed a change. */
  #hearingSince = Infinity

  constructor ({ maxBytes, maxStaleIfErrorSeconds }: NearCacheOptions) {
    this.#maxStaleIfErrorMs = maxStaleIfErrorSeconds * 1000
    if (maxBytes <= 0 || maxStaleIfErrorSeconds <= 0) return
    this.#copies = new LRUCache<string, Copy>({
      maxSize: maxBytes,
      // A value larger than a tenth of the budget would push out many hot ones for one read.
      maxEntrySize: Math.max(1, Math.floor(maxBytes / 10)),
      sizeCalculation: (copy, key) => copy.value.length + key.length * 2 + OVERHEAD_BYTES
    })
  }

  get enabled (): boolean {
    return this.#copies !== undefined
  }

  /** How many copies are held, and their bytes as counted against the budget, for tests and metrics. */
  get size (): { copies: number, bytes: number } {
    return { copies: this.#copies?.size ?? 0, bytes: this.#copies?.calculatedSize ?? 0 }
  }

  /**
   * A heartbeat sent at `sentAt` came back. After a gap (none heard for DEAF_AFTER_MS), changes may have gone
   * unheard: every copy is dropped, and none is kept from a read begun before this heartbeat was sent.
   */
  heard (sentAt: number): void {
    if (sentAt <= this.#heardUpTo) return
    if (sentAt - this.#heardUpTo > DEAF_AFTER_MS) {
      this.#copies?.clear()
      this.#hearingSince = sentAt
    }
    this.#heardUpTo = sentAt
  }

  /** A change of the key was announced. */
  changed (key: string): void {
    this.#copies?.delete(key)
    const reading = this.#reading.get(key)
    if (reading !== undefined) reading.changed = true
  }

  /**
   * Around a read from Redis whose entry may be kept: a change announced while it is out means the entry read may
   * already be the old one, and it is not kept. Returns when it began, for endRead.
   */
  beginRead (key: string): number {
    const reading = this.#reading.get(key)
    if (reading === undefined) this.#reading.set(key, { readers: 1, changed: false })
    else reading.readers++
    return performance.now()
  }

  /**
   * Ends a read begun with beginRead. What it found is kept (a miss forgets the key) if no change was announced
   * meanwhile, the replica hears changes now, and did since before the read began; otherwise the key is forgotten.
   * Without `entry` (the read failed) only the bookkeeping ends.
   */
  endRead (key: string, startedAt: number, entry?: CacheEntry | null): void {
    const reading = this.#reading.get(key)!
    if (--reading.readers === 0) this.#reading.delete(key)
    if (this.#copies === undefined || entry === undefined) return
    const now = performance.now()
    if (reading.changed || entry === null || startedAt < this.#hearingSince || now - this.#heardUpTo > DEAF_AFTER_MS) {
      this.#copies.delete(key)
      return
    }
    const freshUntil = now + entry.ttlMs
    this.#copies.set(key, {
      value: entry.value,
      contentType: entry.contentType,
      etag: entry.etag,
      freshUntil,
      storedAt: entry.ageMs === undefined ? undefined : now - entry.ageMs,
      ownAllowanceMs: (entry.staleIfErrorSeconds ?? 0) * 1000
    }, { ttl: Math.max(1, Math.ceil(Math.max(freshUntil, now) - now + this.#maxStaleIfErrorMs)) })
  }

  /**
   * The copy to answer with while Redis does not answer, marked stale (ttlMs at most 0), if the caller's allowance
   * (or, when it names none, the entry's own) covers how long it has been stale: since its freshness ended, or since
   * the last moment the replica is sure to have heard every change (its latest heartbeat heard), whichever came
   * first.
   */
  staleCopy (key: string, requestedMs: number | undefined): CacheEntry | undefined {
    const copy = this.#copies?.get(key)
    if (copy === undefined) return undefined
    const now = performance.now()
    const staleSince = Math.min(copy.freshUntil, this.#heardUpTo)
    const allowanceMs = requestedMs ?? copy.ownAllowanceMs
    if (allowanceMs <= 0 || now - staleSince > Math.min(allowanceMs, this.#maxStaleIfErrorMs)) return undefined
    return {
      value: copy.value,
      contentType: copy.contentType,
      etag: copy.etag,
      ttlMs: Math.min(0, staleSince - now),
      ageMs: copy.storedAt === undefined ? undefined : now - copy.storedAt
    }
  }
}
