// The storage port for cached values: what the /cache routes need, and nothing about how a backend keeps it.
import type { Preconditions } from './preconditions.js'
import type { DeleteResult } from './types.js'

export interface CacheEntry {
  /** The bytes exactly as they were stored. */
  value: Buffer
  contentType: string
  /** Strong entity tag, quotes included. */
  etag: string
  /** Milliseconds until the entry expires. */
  ttlMs: number
}

export interface CachePut {
  value: Buffer
  contentType: string
  etag: string
  ttlSeconds: number
}

export type PutResult = 'created' | 'replaced' | 'precondition-failed'

/**
 * Every method is one atomic step against the backend, so concurrent replicas never interleave a
 * precondition check with someone else's write. Backend failures reject with StoreUnavailableError.
 */
export interface CacheStore {
  get (key: string): Promise<CacheEntry | undefined>
  put (key: string, entry: CachePut, preconditions: Preconditions): Promise<PutResult>
  delete (key: string, preconditions: Preconditions): Promise<DeleteResult>
}
