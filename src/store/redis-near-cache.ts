// The near cache (L1): the last copy of each entry this replica read for a caller that allows stale-if-error, or
// that has a stale-if-error of its own, kept in process memory to answer when Redis does not (RFC 5861). With fresh
// reads on (NEAR_CACHE_FRESH_READS), every entry read is kept, and a fresh copy answers reads that take no lease
// while the replica hears changes (a heartbeat within TRUSTED_FOR_MS); otherwise it serves nothing while Redis
// answers.
//
// A copy is only as good as what the replica hears of changes. Every script that changes an entry announces its key
// on the change channel (redis-change-channel.ts), and a copy is forgotten as its key is announced; the replica's
// own writes forget their keys before they are sent. Whether the replica hears is known from its heartbeats: a
// copy counts as stale from its freshness's end or from the last heartbeat heard, whichever is first, so that a
// change the replica may have missed (Redis gone, the channel cut) is covered by the staleness the caller allowed.
// After a gap in the heartbeats every copy is dropped, and none is kept from a read begun during the gap. A heartbeat
// lost, or the subscription made anew, says the same sooner: the copies held then are no longer served fresh, and
// their staleness counts from the last heartbeat heard before (they still answer, stale, while Redis does not). A copy
// served on error is always marked stale.
//
// Bounded in bytes (NEAR_CACHE_MAX_BYTES) by lru-cache, which evicts the least recently used: the copies kept are
// those of entries read often and lately, which are those a caller will ask for during an outage. lru-cache is
// isaacs's maintained LRU, with a byte budget and a largest-entry bound built in.
import { LRUCache } from 'lru-cache'
import type { CacheEntry } from './cache-store.js'
import { DEAF_AFTER_MS, HEARTBEAT_MS } from './redis-change-channel.js'

/** What a copy costs beyond its value's bytes and its key: the object, its strings and the LRU's bookkeeping. */
const OVERHEAD_BYTES = 200
/**
 * A fresh copy is served only while the latest heartbeat heard was sent less than this long ago: one late heartbeat
 * (its interval, and half again for a busy event loop) and reads go to Redis until the next comes back. It bounds
 * how long a replica that stopped hearing changes, without knowing yet, can answer with a value changed elsewhere.
 */
export const TRUSTED_FOR_MS = HEARTBEAT_MS * 1.5

interface Copy {
  value: Buffer
  contentType: string
  etag: string
  /**
   * performance.now() when the entry stops being fresh, counted from when its read was sent (an answer's ttl is
   * Redis's at some moment after that: a copy never counts as fresher than the entry), and when it was stored
   * (undefined: unknown).
   */
  freshUntil: number
  storedAt: number | undefined
  /** The entry's own stale-if-error, for reads that name none. */
  ownAllowanceMs: number
  /** The latest heartbeat heard before changes went unheard (ChangeListener.lost) while it was held; Infinity. */
  heardUntil: number
}

export interface NearCacheOptions {
  /** The byte budget; 0 keeps nothing. */
  maxBytes: number
  /** The longest stale-if-error allowance honoured (0: none, and nothing kept): no copy is kept longer than this past
   * its freshness. */
  maxStaleIfErrorSeconds: number
  /** Fresh copies answer reads (NEAR_CACHE_FRESH_READS), and every entry read is kept. */
  freshReads?: boolean
}

export class NearCache {
  readonly #copies: LRUCache<string, Copy> | undefined
  readonly #maxStaleIfErrorMs: number
  /** Fresh copies answer reads (NEAR_CACHE_FRESH_READS; never without a byte budget). */
  readonly freshReads: boolean
  /** Reads answered from a copy: fresh (instead of asking Redis) and stale-if-error (as Redis did not answer). */
  readonly answered = { fresh: 0, staleIfError: 0 }
  /** Keys read from Redis right now, and whether a change of the key was announced while a read was out. */
  readonly #reading = new Map<string, { readers: number, changed: boolean }>()
  /** performance.now() when the latest heartbeat heard was sent: every change announced before it has been heard. */
  #heardUpTo = -Infinity
  /** When the first heartbeat heard after a gap was sent: a read begun before it may have missed a change. */
  #hearingSince = Infinity
  /** When changes were last known to have gone unheard (ChangeListener.lost): the same for reads begun before. */
  #lostAt = -Infinity
  /** Subscribed to the change channel, as far as its connection tells (ChangeListener.hearing). */
  #listening = false

  constructor ({ maxBytes, maxStaleIfErrorSeconds, freshReads = false }: NearCacheOptions) {
    this.#maxStaleIfErrorMs = maxStaleIfErrorSeconds * 1000
    this.freshReads = freshReads && maxBytes > 0
    if (maxBytes <= 0 || (maxStaleIfErrorSeconds <= 0 && !this.freshReads)) return
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

  /**
   * Changes may have been announced unheard: no copy held now is served fresh again, each counts as stale from the
   * latest heartbeat heard, and none is kept from a read begun before.
   */
  lost (): void {
    this.#lostAt = performance.now()
    for (const copy of this.#copies?.values() ?? []) copy.heardUntil = Math.min(copy.heardUntil, this.#heardUpTo)
  }

  /** The subscription is made, or lost: either way changes may have gone unheard (see lost). */
  hearing (on: boolean): void {
    this.lost()
    this.#listening = on
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
    if (reading.changed || entry === null || startedAt < this.#hearingSince || startedAt <= this.#lostAt ||
      now - this.#heardUpTo > DEAF_AFTER_MS) {
      this.#copies.delete(key)
      return
    }
    const freshUntil = startedAt + entry.ttlMs
    this.#copies.set(key, {
      value: ownBytes(entry.value),
      contentType: entry.contentType,
      etag: entry.etag,
      freshUntil,
      storedAt: entry.ageMs === undefined ? undefined : now - entry.ageMs,
      ownAllowanceMs: (entry.staleIfErrorSeconds ?? 0) * 1000,
      heardUntil: Infinity
    }, { ttl: Math.max(1, Math.ceil(Math.max(freshUntil, now) - now + this.#maxStaleIfErrorMs)) })
  }

  /**
   * With fresh reads on, the copy to answer with instead of asking Redis: only while it is fresh, the replica is
   * subscribed and heard a heartbeat within TRUSTED_FOR_MS (every change announced before then has been heard), and
   * no change went unheard since the copy was read.
   */
  freshCopy (key: string): CacheEntry | undefined {
    if (!this.freshReads) return undefined
    const now = performance.now()
    if (!this.#listening || now - this.#heardUpTo > TRUSTED_FOR_MS) return undefined
    const copy = this.#copies!.get(key)
    if (copy === undefined || copy.freshUntil <= now || copy.heardUntil !== Infinity) return undefined
    this.answered.fresh++
    return {
      value: copy.value,
      contentType: copy.contentType,
      etag: copy.etag,
      ttlMs: copy.freshUntil - now,
      ageMs: copy.storedAt === undefined ? undefined : now - copy.storedAt,
      staleIfErrorSeconds: copy.ownAllowanceMs / 1000 || undefined
    }
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
    const staleSince = Math.min(copy.freshUntil, this.#heardUpTo, copy.heardUntil)
    const allowanceMs = requestedMs ?? copy.ownAllowanceMs
    if (allowanceMs <= 0 || now - staleSince > Math.min(allowanceMs, this.#maxStaleIfErrorMs)) return undefined
    this.answered.staleIfError++
    return {
      value: copy.value,
      contentType: copy.contentType,
      etag: copy.etag,
      ttlMs: Math.min(0, staleSince - now),
      ageMs: copy.storedAt === undefined ? undefined : now - copy.storedAt
    }
  }
}

/**
 * The value in memory of its own. ioredis answers with slices of the socket's read buffer (tens of KiB, shared by
 * every reply in it): a copy that kept the slice would keep all of that, and the byte budget would count a fraction
 * of what is held. Nor from Buffer's pool, whose 8 KiB slabs are shared too.
 */
function ownBytes (value: Buffer): Buffer {
  if (value.byteOffset === 0 && value.buffer.byteLength === value.length) return value
  const own = Buffer.allocUnsafeSlow(value.length)
  value.copy(own)
  return own
}
