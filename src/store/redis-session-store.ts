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
//   that finds the index full, check the sessions named and forget those no more. The index expires with its
//   longest-lived session, and admissions hold it to the subject's limit: it never holds more than that many.
import type { Cluster, Redis } from 'ioredis'
import type { Preconditions } from './preconditions.js'
import { callRedis } from './redis-call.js'
import { defineScripts } from './redis-commands.js'
import { encodePreconditions } from './redis-preconditions.js'
import {
  SESSION_CURSOR_PATTERN, sessionCursorOf, sessionRefOf, type Revocation, type SessionPage, type SessionPatchResult,
  type SessionPutResult, type SessionRecord, type SessionStore, type SessionSummary, type SessionWrite,
  type SubjectLimit
} from './session-store.js'
import type { DeleteResult } from './types.js'

const DELETE_RESULTS: Record<number, DeleteResult> = { '-1': 'not-found', 0: 'precondition-failed', 1: 'deleted' }

/** An index entry as the scripts return them: a reference and the createdAt it names, as a decimal string. */
interface Entry {
  ref: string
  createdAt: string
}

export class RedisSessionStore implements SessionStore {
  readonly #redis: Redis | Cluster
  readonly #prefix: string
  readonly #subjectPrefix: string
  readonly #absoluteTtlMs: number

  /** absoluteTtlSeconds: the longest absolute lifetime a session may have (SESSION_ABSOLUTE_TTL_SECONDS). */
  constructor (redis: Redis | Cluster, keyPrefix: string, absoluteTtlSeconds: number) {
    this.#redis = redis
    this.#absoluteTtlMs = absoluteTtlSeconds * 1000
    this.#prefix = `${keyPrefix}session:`
    this.#subjectPrefix = `${keyPrefix}subject:`
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
    const taken = await this.#admit(session.subject, entry, session, limit)
      .catch(async (err: unknown) => {
        await unwrite().catch(() => {})
        throw err
      })
    if (taken === undefined) {
      await unwrite()
      return { outcome: 'subject-full' }
    }
    // The session is stored: whatever happens now, the create succeeded. Sessions the cap took but could not end
    // go back to the index, to be ended by the next create past the cap, or a revocation.
    const ended = await this.#end(session.subject, taken).catch(async () => {
      await this.#giveBack(session.subject!, taken).catch(() => {})
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
      // The session is gone: a delete that did not reach the index leaves an entry a listing or a check forgets.
      await this.#check(subject!, [{ ref: sessionRefOf(id), createdAt: createdAt! }], []).catch(() => {})
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
    const endOld = async () => { await this.#end(subject, [{ ref: sessionRefOf(id), createdAt }]).catch(() => 0) }
    if (restored[0] === -1) {
      if (subject !== '') await endOld()
      return undefined
    }
    const session = record(data, etag, subject, [createdAt, updatedAt, absoluteExpiresAt, restored[1]!])
    if (subject === '') return session
    const swapped = await callRedis(this.#redis, 'subjectSwap', this.#redis.subjectSwap(...this.#indexKeys(subject),
      sessionRefOf(id), createdAt, sessionRefOf(newId), absoluteExpiresAt, restored[1]!))
    if (swapped === 0) await this.#end(subject, [{ ref: sessionRefOf(newId), createdAt }])
    await endOld()
    return swapped === 1 ? session : undefined
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
    return await this.#end(subject, taken).catch(async (err: unknown) => {
      await this.#giveBack(subject, taken).catch(() => {})
      throw err
    })
  }

  /**
   * Admits a created session to its subject's index within the limit: resolves to the entries taken to make room,
   * or undefined when refused. A full index first has the sessions it doubts checked (see lua/subject-admit.lua).
   */
  async #admit (subject: string, entry: Entry, { absoluteExpiresAt, expiresAt }: SessionRecord,
    { maxSessions, policy }: SubjectLimit): Promise<Entry[] | undefined> {
    const admit = async (checked: '0' | '1') => await callRedis(this.#redis, 'subjectAdmit', this.#redis.subjectAdmit(
      ...this.#indexKeys(subject), entry.ref, entry.createdAt, absoluteExpiresAt, maxSessions, policy, checked,
      expiresAt))
    let [status, ...rest] = await admit('0')
    if (status === 0) {
      const doubtful = entriesOf(rest)
      await this.#check(subject, doubtful, await this.#summaries(subject, doubtful))
      ;[status, ...rest] = await admit('1')
    }
    return status === 1 ? entriesOf(rest) : undefined
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

  /** Gives back entries taken from a subject's index whose sessions could not be ended (lua/subject-return.lua). */
  async #giveBack (subject: string, entries: readonly Entry[]): Promise<void> {
    if (entries.length === 0) return
    await callRedis(this.#redis, 'subjectReturn', this.#redis.subjectReturn(...this.#indexKeys(subject),
      Math.max(...entries.map(({ createdAt }) => Number(createdAt))) + this.#absoluteTtlMs,
      ...entries.flatMap(({ ref, createdAt }) => [ref, createdAt])))
  }

  /**
   * Tells a subject's index what was found of the sessions its entries name (see lua/subject-check.lua): those with
   * no summary are no more.
   */
  async #check (subject: string, entries: readonly Entry[], found: ReadonlyArray<SessionSummary | undefined>)
    : Promise<void> {
    if (entries.length === 0) return
    await callRedis(this.#redis, 'subjectCheck', this.#redis.subjectCheck(...this.#indexKeys(subject),
      ...entries.flatMap(({ ref, createdAt }, i) => [ref, createdAt, found[i]?.expiresAt.toString() ?? ''])))
  }

  /**
   * Ends the sessions that entries taken from a subject's index name, each if it is still that session; sent in one
   * tick, which auto-pipelining makes one round trip per node. Resolves to how many it ended.
   */
  async #end (subject: string, entries: readonly Entry[]): Promise<number> {
    const ended = await Promise.all(entries.map(async ({ ref, createdAt }) =>
      await callRedis(this.#redis, 'sessionEnd', this.#redis.sessionEnd(this.#prefix + ref, subject, createdAt))))
    return ended.reduce((sum: number, one) => sum + one, 0)
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

/** The scripts return an index's entries flat: reference, createdAt, reference, createdAt… */
function entriesOf (flat: readonly string[]): Entry[] {
  const entries: Entry[] = []
  for (let i = 0; i + 1 < flat.length; i += 2) entries.push({ ref: flat[i]!, createdAt: flat[i + 1]! })
  return entries
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
