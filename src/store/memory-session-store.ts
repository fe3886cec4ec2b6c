// The embedded session store: the Redis adapter's semantics (sliding and absolute expiry, preconditions,
// merge patches that never resurrect, subjects and their limits) in a single process. Node runs one callback at a
// time, and every method here completes without awaiting, so each is as atomic as its Lua twins.
import { ExpiringMap } from './expiring-map.js'
import { MemorySessionEvents } from './memory-session-events.js'
import { applyMergePatch } from './json-merge-patch.js'
import { conditionalDelete } from './memory-conditional-delete.js'
import { evaluatePreconditions, type Preconditions } from './preconditions.js'
import type { DeleteResult } from './types.js'
import {
  isAfterCursor, sessionCursorOf, sessionRefOf, type Revocation, type SessionEnd, type SessionEndReason,
  type SessionEventOptions, type SessionEventPage, type SessionPage, type SessionPatchResult, type SessionPutResult,
  type SessionRecord, type SessionStore, type SessionWrite, type SubjectLimit
} from './session-store.js'

interface StoredSession {
  data: string
  subject: string | undefined
  createdAt: number
  updatedAt: number
  idleTtlMs: number
  absoluteExpiresAt: number
  etag: string
}

export class MemorySessionStore implements SessionStore {
  /** Each subject's sessions: their ids by reference. A session leaves it whichever way it leaves the map. */
  readonly #subjects = new Map<string, Map<string, string>>()
  readonly #events: MemorySessionEvents
  /** Why the session being removed now ends, when a method of this store ends it; otherwise its time was up. */
  #ending: Omit<SessionEnd, 'ref' | 'subject'> | undefined
  readonly #sessions = new ExpiringMap<StoredSession>({
    onRemoved: (id, { subject }) => {
      const sessions = subject === undefined ? undefined : this.#subjects.get(subject)
      if (sessions === undefined || this.#sessions.get(id)?.value.subject === subject) return
      const ref = sessionRefOf(id)
      if (!sessions.delete(ref)) return
      if (sessions.size === 0) this.#subjects.delete(subject!)
      this.#events.record({ reason: 'expired', ...this.#ending, ref, subject: subject! })
    }
  })

  constructor (events: SessionEventOptions) {
    this.#events = new MemorySessionEvents(events)
  }

  async get (id: string, { touch }: { touch: boolean }): Promise<SessionRecord | undefined> {
    const found = this.#sessions.get(id)
    if (found === undefined) return undefined
    if (!touch) return record(found.value, found.expiresAt)
    return this.#save(id, found.value, Date.now())
  }

  async put (id: string, write: SessionWrite, preconditions: Preconditions, limit: SubjectLimit)
    : Promise<SessionPutResult> {
    const current = this.#sessions.get(id)?.value
    if (evaluatePreconditions(current?.etag, preconditions) !== 'pass') return { outcome: 'precondition-failed' }
    const now = Date.now()
    if (current !== undefined) {
      if (write.subject !== undefined && write.subject !== current.subject) return { outcome: 'subject-mismatch' }
      const idleTtlMs = write.idleTtlSeconds * 1000
      const session = this.#save(id, { ...current, data: write.data, updatedAt: now, idleTtlMs, etag: write.etag }, now)
      return { outcome: 'replaced', session }
    }
    const ended = write.subject === undefined ? 0 : this.#makeRoom(write.subject, limit)
    if (ended < 0) return { outcome: 'subject-full' }
    const session = this.#save(id, {
      data: write.data,
      subject: write.subject,
      createdAt: now,
      updatedAt: now,
      idleTtlMs: write.idleTtlSeconds * 1000,
      absoluteExpiresAt: now + write.absoluteTtlSeconds * 1000,
      etag: write.etag
    }, now)
    return { outcome: 'created', session, ended }
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
    // A session whose time is up, not yet swept, goes first, as expired: this delete finds nothing to end.
    this.#sessions.get(id)
    return this.#end('deleted', () => conditionalDelete(this.#sessions, id, preconditions))
  }

  async rotate (id: string, newId: string, etag: string): Promise<SessionRecord | undefined> {
    const current = this.#sessions.get(id)?.value
    if (current === undefined) return undefined
    // The new session is indexed first, so that the subject's index is never empty in between.
    const session = this.#save(newId, { ...current, etag }, Date.now())
    this.#end('rotated', () => this.#sessions.delete(id), sessionRefOf(newId))
    return session
  }

  async list (subject: string, { limit, cursor }: { limit: number, cursor: string | undefined })
    : Promise<SessionPage> {
    const after = this.#live(subject).filter(({ ref, session }) => isAfterCursor(session.createdAt, ref, cursor))
    const page = after.sort(newestFirst).slice(0, limit).map(({ ref, expiresAt, session }) => {
      const { createdAt, updatedAt, absoluteExpiresAt } = session
      return { ref, createdAt, updatedAt, expiresAt, absoluteExpiresAt }
    })
    return { sessions: page, cursor: after.length > limit ? sessionCursorOf(page.at(-1)!) : undefined }
  }

  async revoke (subject: string, { keep, refs }: Revocation): Promise<number> {
    const named = refs === undefined ? undefined : new Set(refs)
    let ended = 0
    for (const { ref, id } of this.#live(subject)) {
      if (id === keep || (named !== undefined && !named.has(ref))) continue
      if (this.#end('revoked', () => this.#sessions.delete(id))) ended++
    }
    return ended
  }

  async events (namespace: string, page: { after?: string | undefined, limit: number }): Promise<SessionEventPage> {
    return this.#events.read(namespace, page)
  }

  close (): void {
    this.#sessions.close()
  }

  /** Entries of the subjects' indexes, over all subjects: one per live session of a subject, no more. */
  get subjectEntryCount (): number {
    let count = 0
    for (const sessions of this.#subjects.values()) count += sessions.size
    return count
  }

  /** The subject's live sessions (reading each drops it if its time is up). */
  #live (subject: string): LiveSession[] {
    return [...this.#subjects.get(subject) ?? []].flatMap(([ref, id]) => {
      const found = this.#sessions.get(id)
      return found === undefined ? [] : [{ ref, id, session: found.value, expiresAt: found.expiresAt }]
    })
  }

  /**
   * Makes room for one more session of the subject: ends the oldest past the limit when its policy says so.
   * Resolves to how many it ended, or -1 when the subject is full and the policy refuses.
   */
  #makeRoom (subject: string, { maxSessions, policy }: SubjectLimit): number {
    const live = this.#live(subject)
    const excess = live.length - maxSessions + 1
    if (excess <= 0) return 0
    if (policy === 'refuse') return -1
    for (const { id } of live.sort(newestFirst).slice(-excess)) this.#end('capped', () => this.#sessions.delete(id))
    return excess
  }

  /** Runs `removal`, during which sessions that leave the map end for this reason rather than by expiry. */
  #end<T> (reason: SessionEndReason, removal: () => T, replacedBy?: string): T {
    this.#ending = { reason, replacedBy }
    try {
      return removal()
    } finally {
      this.#ending = undefined
    }
  }

  /** Stores the session with its idle expiry slid from now, capped by the absolute one. */
  #save (id: string, session: StoredSession, now: number): SessionRecord {
    const expiresAt = Math.min(now + session.idleTtlMs, session.absoluteExpiresAt)
    this.#sessions.setUntil(id, session, expiresAt)
    if (session.subject !== undefined) {
      let sessions = this.#subjects.get(session.subject)
      if (sessions === undefined) this.#subjects.set(session.subject, sessions = new Map())
      sessions.set(sessionRefOf(id), id)
    }
    return record(session, expiresAt)
  }
}

interface LiveSession {
  ref: string
  id: string
  session: StoredSession
  expiresAt: number
}

/** A listing's order: by creation time, then by reference, both descending (as ZRANGE … REV orders). */
function newestFirst (a: LiveSession, b: LiveSession): number {
  return b.session.createdAt - a.session.createdAt || (a.ref < b.ref ? 1 : -1)
}

function record ({ data, subject, createdAt, updatedAt, absoluteExpiresAt, etag }: StoredSession, expiresAt: number)
  : SessionRecord {
  return { data, subject, createdAt, updatedAt, absoluteExpiresAt, etag, expiresAt }
}
