// The embedded session store: the Redis adapter's semantics (sliding and absolute expiry, preconditions,
// merge patches that never resurrect) in a single process. Node runs one callback at a time, and every method
// here completes without awaiting, so each is as atomic as its Lua twin.
import { ExpiringMap } from './expiring-map.js'
import { applyMergePatch } from './json-merge-patch.js'
import { conditionalDelete } from './memory-conditional-delete.js'
import { evaluatePreconditions, type Preconditions } from './preconditions.js'
import type { DeleteResult } from './types.js'
import type {
  SessionPatchResult, SessionPutResult, SessionRecord, SessionStore, SessionWrite
} from './session-store.js'

interface StoredSession {
  data: string
  createdAt: number
  updatedAt: number
  idleTtlMs: number
  absoluteExpiresAt: number
  etag: string
}

export class MemorySessionStore implements SessionStore {
  readonly #sessions = new ExpiringMap<StoredSession>()

  async get (id: string, { touch }: { touch: boolean }): Promise<SessionRecord | undefined> {
    const found = this.#sessions.get(id)
    if (found === undefined) return undefined
    if (!touch) return record(found.value, found.expiresAt)
    return this.#save(id, found.value, Date.now())
  }

  async put (id: string, write: SessionWrite, preconditions: Preconditions): Promise<SessionPutResult> {
    const current = this.#sessions.get(id)?.value
    if (evaluatePreconditions(current?.etag, preconditions) !== 'pass') return { outcome: 'precondition-failed' }
    const now = Date.now()
    const session = this.#save(id, {
      data: write.data,
      createdAt: current?.createdAt ?? now,
      updatedAt: now,
      idleTtlMs: write.idleTtlSeconds * 1000,
      absoluteExpiresAt: current?.absoluteExpiresAt ?? now + write.absoluteTtlSeconds * 1000,
      etag: write.etag
    }, now)
    return { outcome: current === undefined ? 'created' : 'replaced', session }
  }

  async patch (id: string, patch: string, { etag, maxBytes }: { etag: string, maxBytes: number },
    preconditions: Preconditions): Promise<SessionPatchResult> {
    const current = this.#sessions.get(id)?.value
    if (evaluatePreconditions(current?.etag, preconditions) !== 'pass') return { outcome: 'precondition-failed' }
    if (current === undefined) return { outcome: 'not-found' }
    const data = JSON.stringify(applyMergePatch(JSON.parse(current.data), JSON.parse(patch)))
    if (Buffer.byteLength(data) > maxBytes) return { outcome: 'too-large' }
    const now = Date.now()
    return { outcome: 'patched', session: this.#save(id, { ...current, data, updatedAt: now, etag }, now) }
  }

  async delete (id: string, preconditions: Preconditions): Promise<DeleteResult> {
    return conditionalDelete(this.#sessions, id, preconditions)
  }

  close (): void {
    this.#sessions.close()
  }

  /** Stores the session with its idle expiry slid from now, capped by the absolute one. */
  #save (id: string, session: StoredSession, now: number): SessionRecord {
    const expiresAt = Math.min(now + session.idleTtlMs, session.absoluteExpiresAt)
    this.#sessions.setUntil(id, session, expiresAt)
    return record(session, expiresAt)
  }
}

function record ({ data, createdAt, updatedAt, absoluteExpiresAt, etag }: StoredSession, expiresAt: number)
  : SessionRecord {
  return { data, createdAt, updatedAt, absoluteExpiresAt, etag, expiresAt }
}
