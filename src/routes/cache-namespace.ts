// Where a caller's cache keys and tags live in the store: with KEY_ISOLATION=caller, in a namespace of its own, so
// that no caller can read, overwrite or invalidate another's entries. Shared by the one-by-one and bulk routes.
import { createHash } from 'node:crypto'
import type { Caller } from '../auth/caller.js'

export type KeyIsolation = 'none' | 'caller'

/** The store's name for a caller's key or tag. */
export type StoreKeyOf = (caller: Caller, name: string) => string

export function storeKeyOf (isolation: KeyIsolation): StoreKeyOf {
  if (isolation === 'none') return (_caller, name) => name
  // A fixed-length hash of the caller's id, so that no caller id and key can spell another caller's namespace.
  return (caller, name) => `${createHash('sha256').update(caller.id).digest('hex').slice(0, 32)}/${name}`
}
