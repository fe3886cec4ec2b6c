// The embedded cache store: a Map with the same TTL, ETag and precondition semantics as the Redis adapter.
// It lives in one process and forgets everything on restart, which is what a newcomer's first run needs.
import type { CacheEntry, CachePut, CacheStore, PutResult } from './cache-store.js'
import { ExpiringMap } from './expiring-map.js'
import { conditionalDelete } from './memory-conditional-delete.js'
import { evaluatePreconditions, type Preconditions } from './preconditions.js'
import type { DeleteResult } from './types.js'

interface StoredEntry {
  value: Buffer
  contentType: string
  etag: string
}

export class MemoryCacheStore implements CacheStore {
  readonly #entries = new ExpiringMap<StoredEntry>()

  close (): void {
    this.#entries.close()
  }

  async get (key: string): Promise<CacheEntry | undefined> {
    const found = this.#entries.get(key)
    if (found === undefined) return undefined
    return { ...found.value, ttlMs: found.ttlMs }
  }

  async put (key: string, entry: CachePut, preconditions: Preconditions): Promise<PutResult> {
    const current = this.#entries.get(key)
    if (evaluatePreconditions(current?.value.etag, preconditions) !== 'pass') return 'precondition-failed'
    const { contentType, etag } = entry
    this.#entries.set(key, { value: ownCopy(entry.value), contentType, etag }, entry.ttlSeconds * 1000)
    return current === undefined ? 'created' : 'replaced'
  }

  async delete (key: string, preconditions: Preconditions): Promise<DeleteResult> {
    return conditionalDelete(this.#entries, key, preconditions)
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
