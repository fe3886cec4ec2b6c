// The storage port for cached values: what the /cache routes need, and nothing about how a backend keeps it.
import type { LeaseWait, WaitOptions } from './lease-waiters.js'
import type { Preconditions } from './preconditions.js'
import type { DeleteResult } from './types.js'

export interface CacheEntry {
  /** The bytes exactly as they were stored. */
  value: Buffer
  contentType: string
  /** Strong entity tag, quotes included. */
  etag: string
  /** Milliseconds until the entry goes stale; zero or less while it is served stale (stale-while-revalidate). */
  ttlMs: number
  /** Milliseconds since it was stored; undefined for an entry written before the store kept that. */
  ageMs: number | undefined
  /** The stale-if-error its write gave it, for reads that name none; undefined or 0 for none. */
  staleIfErrorSeconds?: number | undefined
}

/**
 * Who computes a missing or stale value (the lease design of Facebook's memcache): granted to exactly one caller
 * of all replicas, with a token its write must carry; held, when somebody else has it.
 */
export type Lease = { state: 'granted', token: string, ttlMs: number } | { state: 'held', ttlMs: number }

export interface CacheLookup {
  /** The entry, fresh or stale; undefined on a miss. */
  entry: CacheEntry | undefined
  /** Only for a miss or a stale entry, and only when a lease is held or was asked for. */
  lease: Lease | undefined
  /** The key holds an entry whose value is larger than the read allowed (entry is then undefined). */
  tooLarge?: true
  /** The store did not answer, and this is the near cache's last copy, served stale (stale-if-error). */
  servedOnError?: true
  /** A fresh copy from the near cache, which Redis was not asked for (NEAR_CACHE_FRESH_READS). */
  fromNearCache?: true
}

/** What a read's `Cache-Control` asks of the near cache (see cacheControlRequestSchema). */
export interface ReadDirectives {
  /** stale-if-error, in milliseconds: how stale a copy the caller takes should the store not answer; 0 none. */
  staleIfErrorMs?: number
  /** no-cache: the store itself is asked, never the near cache's fresh copy. */
  noCache?: true
}

export interface CachePut {
  value: Buffer
  contentType: string
  etag: string
  /** Seconds the entry is fresh. */
  ttlSeconds: number
  /** Seconds after that it may still be served, marked stale, while one caller refreshes it. */
  staleSeconds: number
  /** Seconds stale it may be answered with while the store does not answer, to reads that name none; 0 for none. */
  staleIfErrorSeconds: number
  /** Tags the entry carries, already validated and without repeats; invalidateTag removes every entry of a tag. */
  tags: readonly string[]
  /** The token of the lease the value was computed under: stored only while that lease is still the key's. */
  leaseToken?: string | undefined
}

/**
 * What an invalidation (a delete, or one by tag) does to an entry: `remove` it, or mark it `stale` (a soft purge),
 * so that it is served only as stale for what is left of its stale window while one caller refreshes it under a
 * lease, instead of every caller missing at once. An entry with no stale window is removed either way.
 */
export const INVALIDATION_MODES = ['remove', 'stale'] as const
export type InvalidationMode = typeof INVALIDATION_MODES[number]

/** What an invalidation by tag did: entries it removed, and fresh entries it marked stale. */
export interface TagInvalidation {
  removed: number
  markedStale: number
}

export type PutResult = 'created' | 'replaced' | 'precondition-failed' | 'lease-lost'

/**
 * Every method but invalidateTag is one atomic step against the backend, so concurrent replicas never interleave a
 * precondition or lease check with someone else's write. Backend failures reject with StoreUnavailableError.
 */
export interface CacheStore {
  /**
   * Reads an entry; with `lease`, a miss or stale entry grants the caller a lease of that lifetime if none is held.
   * With `maxValueBytes`, a larger value is not read at all (tooLarge), so a read's memory stays within it.
   * A backend that does not answer is answered for by the last copy this process read, if it has one stale for no
   * longer than `directives.staleIfErrorMs`, or when that is undefined the entry's own staleIfErrorSeconds
   * (servedOnError); stores that always answer ignore it.
   */
  get (key: string, lease?: { ttlMs: number }, maxValueBytes?: number, directives?: ReadDirectives)
  : Promise<CacheLookup>
  /** Any successful write ends the key's lease. */
  put (key: string, entry: CachePut, preconditions: Preconditions): Promise<PutResult>
  /**
   * Removes the entry or, in mode `stale`, marks it stale ('deleted' either way). Ends the key's lease too, even
   * when it holds no entry: a value computed before it is never stored after it.
   */
  delete (key: string, preconditions: Preconditions, mode?: InvalidationMode): Promise<DeleteResult>
  /**
   * Removes, or in mode `stale` marks stale, every live entry that carries the tag, and ends their leases. Its cost
   * grows with the entries under the tag, not with the size of the store. An entry written while it runs is either
   * invalidated, or written after it with its tag intact, never half of each. Unlike the others this is not one
   * atomic step.
   */
  invalidateTag (tag: string, mode?: InvalidationMode): Promise<TagInvalidation>
  /**
   * Starts waiting for the key's lease to end, on any replica, for at most `ms`; undefined when the caller may not
   * wait (a cap on waiters is reached, or it has gone away).
   */
  waitForLease (key: string, ms: number, options: WaitOptions): LeaseWait | undefined
  /** Ends every wait at once, for shutdown. */
  endWaits (): void
}
