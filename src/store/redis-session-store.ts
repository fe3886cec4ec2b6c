// The Redis adapter of the session store. A session lives in one hash keyed by its reference, the SHA-256 of its id,
// so a key listing or a dump of Redis yields no usable id; every step is one Lua script, timed by Redis's clock.
//
// A subject's sessions are indexed in a sorted set of their references, scored by their createdAt, named by a hash of
// the subject, while each session lives in a cluster slot of its own. No script spans the two (nor, so, two slots),
// so each operation is a few ordered steps, chosen so that no revocation leaves a session live and unnamed by the
// index, nor an index entry that outlives its session for long:
//
// - A create writes the session, then admits it to the index within the subject's limit (lua/subject-admit.lua).
//   A revocation that takes the index between the two steps comes before the create, which it does not end: the
//   session is admitted after it, and a later revocation finds it. A refused admission ends the session it wrote.
// - A revocation takes the entries it ends from the index in one step (lua/subject-take.lua), then ends each session
//   that is still the one its entry named (lua/session-end.lua): a session created since under the same id stays.
// - A rotation takes the old session (its data read and removed in one step, so no patch lands on it after; a
//   tombstone stays, so that its entry stays valid), writes the new one, then swaps the references in the index,
//   unless a revocation or the cap took the old entry meanwhile: the new session is then ended, as they would have
//   ended it; the tombstone goes either way.
// - A delete forgets its entry; expiry does not (Redis keeps no notes of it here), so a listing, and an admission
//   that finds the index full, check the sessions named and forget those no more; so does a sweep, which finds the
//   subjects whose sessions may have expired in a sorted set of subjects scored by the earliest instant one may end
//   (lua/due-*.lua). Admissions hold an index to the subject's limit and the sweep empties it as its sessions end;
//   it expires by itself a grace after its longest-lived session's absolute expiry, no sooner: the sweep needs it
//   to know what ended.
// - A create whose session ends earliest of its subject's tells the sweep so (lua/due-note.lua), after it is
//   admitted: a sweep that looked at the index before then leaves the subject due (lua/due-settle.lua).
//
// Whichever step forgets an entry records the end of its session in the namespace's log of events (see
// redis-session-events.ts), with the reason that step knows: so each end is told once, but for a replica's death.
import type { Cluster, Redis } from 'ioredis'
import type { Preconditions } from './preconditions.js'
import { callRedis } from './redis-call.js'
import { defineScripts } from './redis-commands.js'
import { encodePreconditions } from './redis-preconditions.js'
import { RedisSessionEvents } from './redis-session-events.js'
import {
  SESSION_CURSOR_PATTERN, sessionCursorOf, sessionRefOf, type Revocation, type SessionEnd, type SessionEndReason,
  type SessionEventOptions, type SessionEventPage, type SessionPage, type SessionPatchResult, type SessionPutResult,
  type SessionRecord, type SessionStore, type SessionSummary, type SessionWrite, type SubjectLimit
} from './session-store.js'
import type { DeleteResult } from './types.js'

const DELETE_RESULTS: Record<number, DeleteResult> = { '-1': 'not-found', 0: 'precondition-failed', 1: 'deleted' }

/** An index entry as the scripts return them: a reference and the createdAt it names, as a decimal string. */
interface Entry {
  ref: string
  createdAt: string
}

/** What one sweep takes on at most: subjects, and entries of each (the rest of a subject's are due at once). */
const SWEEP_SUBJECTS = 100
const SWEEP_ENTRIES = 100
/** How long a sweep's claim on a subject holds, in sweep intervals: another replica takes it up after. */
const SWEEP_LEASE_INTERVALS = 10

export interface RedisSessionStoreOptions {
  /** The longest absolute lifetime a session may have (SESSION_ABSOLUTE_TTL_SECONDS). */
  absoluteTtlSeconds: number
  /** The log of ends, and how often the sweep looks for subjects whose sessions may have expired. */
  events: SessionEventOptions & { sweepIntervalMs: number }
  /** Told of what went wrong out of any request's sight: a failed sweep, an event that could not be recorded. */
  warn: (err: unknown, message: string) => void
}

export class RedisSessionStore implements SessionStore {
  readonly #redis: Redis | Cluster
  readonly #prefix: string
  readonly #subjectPrefix: string
  readonly #absoluteTtlMs: number
  readonly #events: RedisSessionEvents
  /** The subjects due for a sweep, and their versions (see lua/due-note.lua), in one slot. */
  readonly #dueKeys: [due: string, versions: string]
  readonly #sweepIntervalMs: number
  readonly #leaseMs: number
  /** How long past its last session's absolute expiry an index may stay: the time a sweep may take to see it. */
  readonly #graceMs: number
  readonly #warn: RedisSessionStoreOptions['warn']
  #sweepTimer: NodeJS.Timeout | undefined
  #sweeping: Promise<void> | undefined
  #closed = false

  constructor (redis: Redis | Cluster, keyPrefix: string, options: RedisSessionStoreOptions) {
    this.#redis = redis
    this.#absoluteTtlMs = options.absoluteTtlSeconds * 1000
    this.#prefix = `${keyPrefix}session:`
    this.#subjectPrefix = `${keyPrefix}subject:`
    this.#events = new RedisSessionEvents(redis, keyPrefix, options.events)
    this.#dueKeys = [`${keyPrefix}{session-due}`, `${keyPrefix}{session-due}:versions`]
    this.#sweepIntervalMs = options.events.sweepIntervalMs
    this.#leaseMs = SWEEP_LEASE_INTERVALS * this.#sweepIntervalMs
    this.#graceMs = 2 * this.#leaseMs
    this.#warn = options.warn
    defineScripts(redis)
  }

  async get (id: string, { touch }: { touch: boolean }): Promise<SessionRecord | undefined> {
    const reply = await callRedis(this.#redis, 'sessionGet', this.#redis.sessionGet(this.#key(id), touch ? '1' : '0'))
    if (reply === null) return undefined
    const [data, etag, subject, ...times] = reply
    return record(data!, etag!, subject!, times)
  }

  async put (id: string, write: SessionWrite, preconditions: Preconditions, limit: SubjectLimit)
    : Promise<SessionPutResult> {
    const key = this.#key(id)
    const [status, ...times] = await callRedis(this.#redis, 'sessionPut',
      this.#redis.sessionPut(key, write.data, write.idleTtlSeconds * 1000, write.absoluteTtlSeconds * 1000,
        write.etag, ...encodePreconditions(preconditions), write.subject ?? ''))
    if (status === 0) return { outcome: 'precondition-failed' }
    if (status === -1) return { outcome: 'subject-mismatch' }
    const session = record(write.data, write.etag, times[4]!, times)
    if (status === 2) return { outcome: 'replaced', session }
    if (session.subject === undefined) return { outcome: 'created', session, ended: 0 }
    const entry = { ref: sessionRefOf(id), createdAt: times[0]! }
    // Refused or failed, the session written a moment ago goes, as if never written.
    const unwrite = async () => { await this.#end(session.subject!, [entry]) }
    const admitted = await this.#admit(session.subject, entry, session, limit)
      .catch(async (err: unknown) => {
        await unwrite().catch(() => {})
        throw err
      })
    if (admitted === undefined) {
      await unwrite()
      return { outcome: 'subject-full' }
    }
    // The session is stored: whatever happens now, the create succeeded. A sweep not told of it (see #admit) tells
    // of its expiry late, or not at all. Sessions the cap took but could not end go back to the index, to be ended
    // by the next create past the cap, or a revocation.
    if (admitted.earliest) {
      await this.#noteDue(session.subject, session.expiresAt)
        .catch((err: unknown) => { this.#warn(err, 'the sweep for expired sessions was not told of a subject') })
    }
    const ended = await this.#endTaken(session.subject, admitted.taken, 'capped').catch(async () => {
      await this.#giveBack(session.subject!, admitted.taken).catch(() => {})
      return 0
    })
    return { outcome: 'created', session, ended }
  }

  async patch (id: string, patch: string, { etag, maxBytes }: { etag: string, maxBytes: number },
    preconditions: Preconditions): Promise<SessionPatchResult> {
    const [status, data, subject, ...times] = await callRedis(this.#redis, 'sessionPatch',
      this.#redis.sessionPatch(this.#key(id), patch, etag, maxBytes, ...encodePreconditions(preconditions)))
    if (status === 0) return { outcome: 'precondition-failed' }
    if (status === -1) return { outcome: 'not-found' }
    if (status === -2) return { outcome: 'too-large' }
    return { outcome: 'patched', session: record(data!, etag, subject!, times) }
  }

  async delete (id: string, preconditions: Preconditions): Promise<DeleteResult> {
    const [status, subject, createdAt] = await callRedis(this.#redis, 'sessionDelete',
      this.#redis.sessionDelete(this.#key(id), ...encodePreconditions(preconditions)))
    if (status === 1 && subject !== '') {
      // The session is gone: a delete that did not reach the index leaves an entry a listing or a sweep forgets
      // (and tells of as expired).
      await this.#check(subject!, [{ ref: sessionRefOf(id), createdAt: createdAt! }], [], 'deleted').catch(() => {})
    }
    return DELETE_RESULTS[status]!
  }

  async rotate (id: string, newId: string, etag: string): Promise<SessionRecord | undefined> {
    const oldKey = this.#key(id)
    const taken = await callRedis(this.#redis, 'sessionTake', this.#redis.sessionTake(oldKey))
    if (taken === null) return undefined
    const [data, createdAt, updatedAt, idleMs, absoluteExpiresAt, subject, oldEtag] = taken as [string, string,
      string, string, string, string, string]
    const restore = async (key: string, tag: string) => await callRedis(this.#redis, 'sessionRestore',
      this.#redis.sessionRestore(key, data, createdAt, updatedAt, idleMs, absoluteExpiresAt, subject, tag))
    // Put back what was taken, as it was, so that a failed rotation leaves the session where it was.
    const putBack = async () => await restore(oldKey, oldEtag)
    const newKey = this.#key(newId)
    const restored = await restore(newKey, etag).catch(async (err: unknown) => {
      await putBack().catch(() => {})
      throw err
    })
    if (restored[0] === 0) {
      await putBack()
      throw new Error('the new session id is taken')
    }
    // The tombstone, whose data is gone already: a failure to end it leaves it to expire, unseen by every script.
    const endOld = async () => { await this.#end(subject, [{ ref: sessionRefOf(id), createdAt }]).catch(() => {}) }
    if (restored[0] === -1) {
      if (subject !== '') await endOld()
      return undefined
    }
    const session = record(data, etag, subject, [createdAt, updatedAt, absoluteExpiresAt, restored[1]!])
    if (subject === '') return session
    const swapped = await callRedis(this.#redis, 'subjectSwap', this.#redis.subjectSwap(...this.#indexKeys(subject),
      sessionRefOf(id), createdAt, sessionRefOf(newId), Number(absoluteExpiresAt) + this.#graceMs, restored[1]!))
    if (swapped === 0) await this.#end(subject, [{ ref: sessionRefOf(newId), createdAt }])
    await endOld()
    if (swapped === 0) return undefined
    await this.#tell([{ reason: 'rotated', ref: sessionRefOf(id), subject, replacedBy: sessionRefOf(newId) }])
    return session
  }

  async list (subject: string, { limit, cursor }: { limit: number, cursor: string | undefined })
    : Promise<SessionPage> {
    const [, at, ref] = cursor === undefined ? [] : SESSION_CURSOR_PATTERN.exec(cursor)!
    const entries = entriesOf(await callRedis(this.#redis, 'subjectPage',
      this.#redis.subjectPage(this.#indexKeys(subject)[0], limit, at ?? '', ref ?? '')))
    const summaries = await this.#summaries(subject, entries)
    // Housekeeping: a listing is a read, and answers whether or not Redis takes the news (a full one refuses it).
    await this.#check(subject, entries, summaries).catch(() => {})
    const last = entries.at(-1)
    return {
      sessions: summaries.filter((summary) => summary !== undefined),
      cursor: entries.length < limit || last === undefined
        ? undefined
        : sessionCursorOf({ createdAt: Number(last.createdAt), ref: last.ref })
    }
  }

  async revoke (subject: string, { keep, refs }: Revocation): Promise<number> {
    const taken = entriesOf(await callRedis(this.#redis, 'subjectTake', this.#redis.subjectTake(
      ...this.#indexKeys(subject), keep === undefined ? '' : sessionRefOf(keep), ...refs ?? [])))
    return await this.#endTaken(subject, taken, 'revoked').catch(async (err: unknown) => {
      await this.#giveBack(subject, taken).catch(() => {})
      throw err
    })
  }

  async events (namespace: string, page: { after?: string | undefined, limit: number }): Promise<SessionEventPage> {
    return await this.#events.read(namespace, page)
  }

  /**
   * Sweeps for subjects whose sessions may have expired every interval, or at once while more are due than one sweep
   * takes on, until closed; `warn` hears of a sweep that failed (the next tries again).
   */
  sweepExpired (): void {
    const next = (delayMs: number) => {
      if (this.#closed) return
      this.#sweepTimer = setTimeout(() => {
        this.#sweeping = this.#sweep().then((more) => { next(more ? 0 : this.#sweepIntervalMs) }, (err: unknown) => {
          this.#warn(err, 'the sweep for expired sessions failed')
          next(this.#sweepIntervalMs)
        })
      }, delayMs)
      this.#sweepTimer.unref()
    }
    next(0)
  }

  /** Stops the sweep, once the one under way is done. */
  async close (): Promise<void> {
    this.#closed = true
    clearTimeout(this.#sweepTimer)
    await this.#sweeping
  }

  /**
   * One sweep: claims subjects due (lua/due-claim.lua), checks the sessions of each whose hints have passed, forgets
   * and tells of those that expired, and settles each subject (lua/due-settle.lua). Resolves to whether it took on
   * as many subjects, or entries of one, as it may: then more may be due at once.
   */
  async #sweep (): Promise<boolean> {
    const claimed = await callRedis(this.#redis, 'dueClaim',
      this.#redis.dueClaim(...this.#dueKeys, SWEEP_SUBJECTS, this.#leaseMs))
    const subjects = pairsOf(claimed)
    const full = await Promise.all(subjects.map(async ([subject, version]) => {
      const [earliest, ...flat] = await callRedis(this.#redis, 'subjectDoubts',
        this.#redis.subjectDoubts(...this.#indexKeys(subject), SWEEP_ENTRIES))
      const doubts = entriesOf(flat)
      const left = doubts.length === 0
        ? earliest!
        : await this.#check(subject, doubts, await this.#summaries(subject, doubts))
      await callRedis(this.#redis, 'dueSettle', this.#redis.dueSettle(...this.#dueKeys, subject, version, left))
      return doubts.length === SWEEP_ENTRIES
    }))
    return subjects.length === SWEEP_SUBJECTS || full.includes(true)
  }

  /**
   * Admits a created session to its subject's index within the limit: resolves to the entries taken to make room,
   * and whether the session is the index's earliest to end (which the sweep must then be told of); or undefined
   * when refused. A full index first has the sessions it doubts checked (see lua/subject-admit.lua).
   */
  async #admit (subject: string, entry: Entry, { absoluteExpiresAt, expiresAt }: SessionRecord,
    { maxSessions, policy }: SubjectLimit): Promise<{ taken: Entry[], earliest: boolean } | undefined> {
    const admit = async (checked: '0' | '1') => await callRedis(this.#redis, 'subjectAdmit', this.#redis.subjectAdmit(
      ...this.#indexKeys(subject), entry.ref, entry.createdAt, absoluteExpiresAt + this.#graceMs, maxSessions, policy,
      checked, expiresAt))
    let [status, ...rest] = await admit('0')
    if (status === 0) {
      const doubtful = entriesOf(rest)
      await this.#check(subject, doubtful, await this.#summaries(subject, doubtful))
      ;[status, ...rest] = await admit('1')
    }
    return status === -1 ? undefined : { taken: entriesOf(rest), earliest: status === 2 }
  }

  /** Tells the sweep that a subject's sessions may end as soon as `at` (lua/due-note.lua). */
  async #noteDue (subject: string, at: number): Promise<void> {
    await callRedis(this.#redis, 'dueNote', this.#redis.dueNote(...this.#dueKeys, subject, at))
  }

  /** What a listing shows of the sessions that entries name; undefined for those no more. */
  async #summaries (subject: string, entries: readonly Entry[]): Promise<Array<SessionSummary | undefined>> {
    return await Promise.all(entries.map(async ({ ref, createdAt }) => {
      const times = await callRedis(this.#redis, 'sessionSummary',
        this.#redis.sessionSummary(this.#prefix + ref, subject, createdAt))
      if (times === null) return undefined
      const [created, updatedAt, absoluteExpiresAt, expiresAt] = times.map(Number) as [number, number, number, number]
      return { ref, createdAt: created, updatedAt, expiresAt, absoluteExpiresAt }
    }))
  }

  /**
   * Gives back entries taken from a subject's index whose sessions could not be ended (lua/subject-return.lua),
   * doubtful at once, for the sweep to look at.
   */
  async #giveBack (subject: string, entries: readonly Entry[]): Promise<void> {
    if (entries.length === 0) return
    await callRedis(this.#redis, 'subjectReturn', this.#redis.subjectReturn(...this.#indexKeys(subject),
      Math.max(...entries.map(({ createdAt }) => Number(createdAt))) + this.#absoluteTtlMs + this.#graceMs,
      ...entries.flatMap(({ ref, createdAt }) => [ref, createdAt])))
    await this.#noteDue(subject, 0)
  }

  /**
   * Tells a subject's index what was found of the sessions its entries name (see lua/subject-check.lua): those with
   * no summary are no more, and their ends are told, for this reason. Resolves to the earliest liveness hint left
   * in the index ('' when it is empty).
   */
  async #check (subject: string, entries: readonly Entry[], found: ReadonlyArray<SessionSummary | undefined>,
    reason: SessionEndReason = 'expired'): Promise<string> {
    const [earliest, ...forgotten] = await callRedis(this.#redis, 'subjectCheck', this.#redis.subjectCheck(
      ...this.#indexKeys(subject),
      ...entries.flatMap(({ ref, createdAt }, i) => [ref, createdAt, found[i]?.expiresAt.toString() ?? ''])))
    await this.#tell(forgotten.map((ref) => ({ reason, ref, subject })))
    return earliest!
  }

  /**
   * Ends the sessions that entries taken from a subject's index name, and tells of their ends: for this reason, or
   * as expired for those already gone. Resolves to how many it ended.
   */
  async #endTaken (subject: string, entries: readonly Entry[], reason: 'capped' | 'revoked'): Promise<number> {
    const ended = await this.#end(subject, entries)
    await this.#tell(entries.map(({ ref }, i) => ({ reason: ended[i] === 1 ? reason : 'expired', ref, subject })))
    return ended.reduce((sum: number, one) => sum + one, 0)
  }

  /**
   * Ends the sessions that entries taken from a subject's index name, each if it is still that session; sent in one
   * tick, which auto-pipelining makes one round trip per node. Resolves to 1 for each it ended, 0 for each gone.
   */
  async #end (subject: string, entries: readonly Entry[]): Promise<number[]> {
    return await Promise.all(entries.map(async ({ ref, createdAt }) =>
      await callRedis(this.#redis, 'sessionEnd', this.#redis.sessionEnd(this.#prefix + ref, subject, createdAt))))
  }

  /**
   * Records session ends. An end that cannot be recorded is lost, and said so in the logs: the session ended all
   * the same, and the request that ended it says so.
   */
  async #tell (ends: readonly SessionEnd[]): Promise<void> {
    await this.#events.record(ends)
      .catch((err: unknown) => { this.#warn(err, 'session ends could not be recorded as events') })
  }

  #key (id: string): string {
    return this.#prefix + sessionRefOf(id)
  }

  /**
   * The subject's index and its liveness hints, named by a hash of the subject (which may hold any character, a
   * brace say), in braces: a hash tag that puts both in one cluster slot.
   */
  #indexKeys (subject: string): [index: string, hints: string] {
    const index = `${this.#subjectPrefix}{${sessionRefOf(subject)}}`
    return [index, `${index}:hints`]
  }
}

/** The scripts return pairs flat: a, b, a, b… */
function pairsOf (flat: readonly string[]): Array<[string, string]> {
  const pairs: Array<[string, string]> = []
  for (let i = 0; i + 1 < flat.length; i += 2) pairs.push([flat[i]!, flat[i + 1]!])
  return pairs
}

/** An index's entries, as the scripts return them: reference, createdAt, reference, createdAt… */
function entriesOf (flat: readonly string[]): Entry[] {
  return pairsOf(flat).map(([ref, createdAt]) => ({ ref, createdAt }))
}

/** The scripts return timestamps as decimal strings, in this order: created, updated, absolute, expires. */
function record (data: string, etag: string, subject: string,
  [createdAt, updatedAt, absoluteExpiresAt, expiresAt]: string[]): SessionRecord {
  return {
    data,
    etag,
    subject: subject === '' ? undefined : subject,
    createdAt: Number(createdAt),
    updatedAt: Number(updatedAt),
    absoluteExpiresAt: Number(absoluteExpiresAt),
    expiresAt: Number(expiresAt)
  }
}
