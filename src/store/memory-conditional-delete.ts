// DELETE with preconditions for the memory stores, the twin of the Redis adapters' conditional-delete.lua.
import type { ExpiringMap } from './expiring-map.js'
import { evaluatePreconditions, type Preconditions } from './preconditions.js'
import type { DeleteResult } from './types.js'

/** Preconditions come first (RFC 9110 §13.2.2): If-Match on an absent entry fails, it is not a 404. */
export function conditionalDelete<V extends { etag: string }> (entries: ExpiringMap<V>, key: string,
  preconditions: Preconditions): DeleteResult {
  const current = entries.get(key)?.value
  if (evaluatePreconditions(current?.etag, preconditions) !== 'pass') return 'precondition-failed'
  if (current === undefined) return 'not-found'
  entries.delete(key)
  return 'deleted'
}
