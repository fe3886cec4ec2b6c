// The storage port for sessions. Ids travel in the clear to the store, which alone decides how to key them.
import type { Preconditions } from './preconditions.js'
import type { DeleteResult } from './types.js'

export interface SessionRecord {
  /** The session's data as canonical JSON text (as JSON.stringify writes it). */
  data: string
  /** Milliseconds since the epoch, all of them. */
  createdAt: number
  updatedAt: number
  expiresAt: number
  absoluteExpiresAt: number
  /** Strong entity tag, quotes included; new at every write. */
  etag: string
}

export interface SessionWrite {
  /** Canonical JSON text of an object. */
  data: string
  idleTtlSeconds: number
  /** Used only when the write creates the session; a replace keeps the absolute expiry it had. */
  absoluteTtlSeconds: number
  etag: string
}

export type SessionPutResult =
  | { outcome: 'created' | 'replaced', session: SessionRecord }
  | { outcome: 'precondition-failed' }

export type SessionPatchResult =
  | { outcome: 'patched', session: SessionRecord }
  | { outcome: 'not-found' | 'precondition-failed' | 'too-large' }

/** Each method is one atomic step: no read-modify-write window, whether between requests or replicas. */
export interface SessionStore {
  /** Reads a session; with `touch`, slides its idle expiry in the same step. */
  get (id: string, options: { touch: boolean }): Promise<SessionRecord | undefined>
  put (id: string, write: SessionWrite, preconditions: Preconditions): Promise<SessionPutResult>
  /** Merges an RFC 7396 patch (canonical JSON of an object) into the data, refusing results over maxBytes. */
  patch (id: string, patch: string, options: { etag: string, maxBytes: number }, preconditions: Preconditions)
  : Promise<SessionPatchResult>
  delete (id: string, preconditions: Preconditions): Promise<DeleteResult>
}
