// Where a caller's cache keys, tags and session ids live in the store: with KEY_ISOLATION=caller, in a namespace of
// its own, so that no caller can read, overwrite, invalidate or end another's. Shared by the cache, bulk and session
// routes.
import { hash } from 'node:crypto'
import type { Caller } from '../auth/caller.js'

export type KeyIsolation = 'none' | 'caller'

/** The store's name for one of a caller's keys or tags. */
export type StoreName = (name: string) => string

/**
 * The naming of one caller's keys and tags, taken once per request: a bulk request or a tagged write names many,
 * and the caller's namespace is the same for all of them.
 */
export type StoreNamesOf = (caller: Caller) => StoreName

const unchanged: StoreName = (name) => name
/** Hex digits of a caller's namespace, which a slash ends. */
const NAMESPACE_LENGTH = 32

export function storeNamesOf (isolation: KeyIsolation): StoreNamesOf {
  if (isolation === 'none') return () => unchanged
  return (caller) => {
    // A fixed-length hash of the caller's id, so that no caller id and key can spell another caller's namespace.
    const namespace = hash('sha256', caller.id, 'hex').slice(0, NAMESPACE_LENGTH)
    return (name) => `${namespace}/${name}`
  }
}

/** The namespace a store name lives in: what storeNamesOf put before the name, slash included ('' with none). */
export function namespaceOf (isolation: KeyIsolation): (storeName: string) => string {
  if (isolation === 'none') return () => ''
  return (storeName) => storeName.slice(0, NAMESPACE_LENGTH + 1)
}
