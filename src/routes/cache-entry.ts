// One definition of a cache entry as the routes write and read it: the media type and its default, the ETag, the TTL
// and stale defaults, the tags' names, and what a read reports (fresh or stale). The one-by-one and bulk routes both
// go through it, so they cannot validate, default or count differently.
import { entityTagOf } from '../http/entity-tag.js'
import { DEFAULT_MEDIA_TYPE, isMediaType } from '../schemas/cache.js'
import type { CacheEntry, CachePut } from '../store/cache-store.js'
import type { StoreName } from './cache-namespace.js'

/** A write as a caller gives it, through headers and query or through a bulk entry; absent fields take defaults. */
export interface EntryWrite {
  value: Buffer
  /** Validated by MediaTypeSchema already; the default when absent. */
  contentType?: string | undefined
  ttlSeconds?: number | undefined
  staleSeconds?: number | undefined
  staleIfErrorSeconds?: number | undefined
  tags?: readonly string[] | undefined
  leaseToken?: string | undefined
}

/** Builds what the store is given from a caller's write: defaults applied, ETag computed, tags in the namespace. */
export function entryToStore (write: EntryWrite, defaultTtlSeconds: number, storeName: StoreName): CachePut {
  const contentType = write.contentType ?? DEFAULT_MEDIA_TYPE
  return {
    value: write.value,
    contentType,
    etag: entityTagOf(contentType, write.value),
    ttlSeconds: write.ttlSeconds ?? defaultTtlSeconds,
    staleSeconds: write.staleSeconds ?? 0,
    staleIfErrorSeconds: write.staleIfErrorSeconds ?? 0,
    tags: (write.tags ?? []).map(storeName),
    leaseToken: write.leaseToken
  }
}

/**
 * The media type a read sends back. Every type stored now is valid; one stored before types were checked may not
 * be sendable as a header, and its bytes are then served as what they are known to be: bytes.
 */
export function servedMediaType (entry: CacheEntry): string {
  return isMediaType(entry.contentType) ? entry.contentType : DEFAULT_MEDIA_TYPE
}

/** What a read found, as the metrics and a bulk read's `stale` count it. */
export function lookupResult (entry: CacheEntry | undefined): 'hit' | 'stale' | 'miss' {
  if (entry === undefined) return 'miss'
  return entry.ttlMs > 0 ? 'hit' : 'stale'
}
