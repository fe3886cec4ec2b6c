// The storage port for sessions. Ids and subjects travel in the clear to the store, which alone decides how to key
// them.
import { hash } from 'node:crypto'
import type { SubjectLimitPolicy } from '../config/index.js'
import type { Preconditions } from './preconditions.js'
import type { DeleteResult } from './types.js'

export interface SessionRecord {
  /** The session's data as canonical JSON text (as JSON.stringify writes it). */
  data: string
  /** The store's name of the user it belongs to, fixed when it is created; undefined for none. */
  subject: string | undefined
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
  /** The store's name of the session's user: set by the write that creates it; a replace must name it or none. */
  subject?: string | undefined
}

/**
 * How many live sessions one subject may hold, and what a create past it does: `refuse` it, or end the subject's
 * oldest sessions to make room (`end-oldest`).
 */
export interface SubjectLimit {
  maxSessions: number
  policy: SubjectLimitPolicy
}

export type SessionPutResult =
  /** ended: how many of the subject's older sessions the limit ended to make room. */
  | { outcome: 'created', session: SessionRecord, ended: number }
  | { outcome: 'replaced', session: SessionRecord }
  | { outcome: 'precondition-failed' | 'subject-mismatch' | 'subject-full' }

export type SessionPatchResult =
  | { outcome: 'patched', session: SessionRecord }
  | { outcome: 'not-found' | 'precondition-failed' | 'too-large' }

/** What a listing shows of a session: never its id (a bearer secret), but a reference that can end it. */
export interface SessionSummary {
  ref: string
  createdAt: number
  updatedAt: number
  expiresAt: number
  absoluteExpiresAt: number
}

export interface SessionPage {
  /** Newest first. A page may hold fewer than asked, even none, when sessions ended meanwhile. */
  sessions: SessionSummary[]
  /** Where the next page starts; undefined after the last. */
  cursor: string | undefined
}

export interface Revocation {
  /** The id of a session to keep (the caller's current one). */
  keep?: string | undefined
  /** Only these references (from a listing), rather than all the subject's sessions. */
  refs?: readonly string[] | undefined
}

/** Each method is one atomic step: no read-modify-write window, whether between requests or replicas. */
export interface SessionStore {
  /** Reads a session; with `touch`, slides its idle expiry in the same step. */
  get (id: string, options: { touch: boolean }): Promise<SessionRecord | undefined>
  /** `limit` applies when the write creates a session of a subject. */
  put (id: string, write: SessionWrite, preconditions: Preconditions, limit: SubjectLimit): Promise<SessionPutResult>
  /** Merges an RFC 7396 patch (canonical JSON of an object) into the data, refusing results over maxBytes. */
  patch (id: string, patch: string, options: { etag: string, maxBytes: number }, preconditions: Preconditions)
  : Promise<SessionPatchResult>
  delete (id: string, preconditions: Preconditions): Promise<DeleteResult>
  /**
   * Moves a session to a new id, with its data, subject and lifetimes, and a new entity tag: the old id is never
   * accepted again once this begins. Resolves to undefined when there is no such session (or a revocation of its
   * subject's sessions ended it meanwhile).
   */
  rotate (id: string, newId: string, etag: string): Promise<SessionRecord | undefined>
  /** A subject's live sessions, newest first, `limit` at most, from `cursor` (a page's) or from the newest. */
  list (subject: string, page: { limit: number, cursor: string | undefined }): Promise<SessionPage>
  /** Ends a subject's sessions (all, all but one, or those named) and resolves to how many it ended. */
  revoke (subject: string, revocation: Revocation): Promise<number>
  /**
   * The events of a namespace's subjects' sessions that ended, oldest first, `limit` at most, after `after` (a page's
   * cursor) or from the oldest kept.
   */
  events (namespace: string, page: { after?: string | undefined, limit: number }): Promise<SessionEventPage>
}

/** Why a session of a subject ended, as its event tells. */
export const SESSION_END_REASONS = ['expired', 'deleted', 'revoked', 'capped', 'rotated'] as const
export type SessionEndReason = typeof SESSION_END_REASONS[number]

/** A session of a subject that ended: never its id, but its reference, as listings show it. */
export interface SessionEnd {
  reason: SessionEndReason
  ref: string
  /** The store's name of its subject. */
  subject: string
  /** For a rotation: the reference of the session that took its place. */
  replacedBy?: string | undefined
}

export interface SessionEvent extends SessionEnd {
  /** The event's place in its namespace's log: "<milliseconds>-<sequence>", as a Redis stream numbers its entries. */
  id: string
  /** When it was recorded, in milliseconds since the epoch. */
  at: number
}

export interface SessionEventPage {
  events: SessionEvent[]
  /** Where the next page starts: the last event's id, or the cursor given when there is none newer. */
  cursor: string
  /** Whether events after the cursor given were dropped (the log keeps the newest only) before this read. */
  missed: boolean
}

/** The bound on each namespace's log of events, and how a subject's store name tells the namespace it lives in. */
export interface SessionEventOptions {
  maxEvents: number
  namespaceOf: (subject: string) => string
}

export const SESSION_EVENT_CURSOR_PATTERN = /^(\d{1,15})-(\d{1,15})$/

/** Whether event id `a` comes before `b` in their log. */
export function isEventBefore (a: string, b: string): boolean {
  const [, aMs, aSeq] = SESSION_EVENT_CURSOR_PATTERN.exec(a)!
  const [, bMs, bSeq] = SESSION_EVENT_CURSOR_PATTERN.exec(b)!
  return Number(aMs) < Number(bMs) || (Number(aMs) === Number(bMs) && Number(aSeq) < Number(bSeq))
}

/**
 * A session's reference: the SHA-256 of the store's name of its id, in base64url. Anyone may see it (a listing shows
 * it, and the Redis adapter keys the session by it); nobody can turn it back into the id.
 */
export function sessionRefOf (id: string): string {
  return hash('sha256', id, 'base64url')
}

/**
 * Listings page newest first, by creation time and then by reference, both descending: a cursor names the last
 * session of a page, "<createdAt>.<ref>", and the next page starts after it.
 */
export const SESSION_CURSOR_PATTERN = /^(\d{1,15})\.([A-Za-z0-9_-]{43})$/

export function sessionCursorOf ({ createdAt, ref }: { createdAt: number, ref: string }): string {
  return `${createdAt}.${ref}`
}

/** Whether a session, by its creation time and reference, comes after the cursor in a listing's order. */
export function isAfterCursor (createdAt: number, ref: string, cursor: string | undefined): boolean {
  if (cursor === undefined) return true
  const [, at, last] = SESSION_CURSOR_PATTERN.exec(cursor)!
  return createdAt < Number(at) || (createdAt === Number(at) && ref < last!)
}

/** Where a reader goes on after a page: its last event, or the cursor it came with ("0-0", the start, for none). */
export function nextEventCursor (page: readonly SessionEvent[], after: string | undefined): string {
  return page.at(-1)?.id ?? after ?? '0-0'
}
