// The Lua scripts of the Redis adapters as ioredis commands: their typed signatures, and their registration,
// once per client. ioredis then calls each by EVALSHA, with EVAL as the fallback.
import { readFileSync } from 'node:fs'
import type { Cluster, Redis, Result } from 'ioredis'

declare module 'ioredis' {
  interface RedisCommander<Context> {
    cachePut (key: string, value: Buffer, contentType: string, etag: string, freshMs: number,
      ifMatch: string, ifNoneMatch: string, writeId: string, staleMs: number, leaseToken: string,
      changeChannel: string, tags: string, staleIfErrorSeconds: number): Result<[number, string?, string?], Context>
    tagAdd (key: string, member: string, ttlMs: number): Result<number, Context>
    tagTake (key: string, count: number): Result<string[], Context>
    /** numberOfKeys entry keys, then as many write ids, then the change channel. */
    tagEvict (numberOfKeys: number, ...keysThenArgs: string[]): Result<Array<string | 0>, Context>
    /** numberOfKeys entry keys, then as many write ids, then the change channel. */
    tagMarkStale (numberOfKeys: number, ...keysThenArgs: string[]): Result<Array<string | 0 | 1>, Context>
    cacheMarkStale (key: string, ifMatch: string, ifNoneMatch: string, changeChannel: string)
    : Result<[number, string?, string?], Context>
    cacheGetBuffer (key: string, leaseTtlMs: string, leaseToken: string, maxValueBytes: string): Result<
      [Buffer | null, Buffer | null, Buffer | null, number, number, Buffer, number, 0 | 1, Buffer | null], Context>
    conditionalDelete (key: string, ifMatch: string, ifNoneMatch: string, changeChannel: string)
    : Result<[number, string?, string?], Context>
    sessionGet (key: string, touch: '1' | '0'): Result<string[] | null, Context>
    sessionPut (key: string, data: string, idleTtlMs: number, absoluteTtlMs: number, etag: string,
      ifMatch: string, ifNoneMatch: string, subject: string): Result<[number, ...string[]], Context>
    sessionPatch (key: string, patch: string, etag: string, maxBytes: number,
      ifMatch: string, ifNoneMatch: string): Result<[number, string?, ...string[]], Context>
    sessionDelete (key: string, ifMatch: string, ifNoneMatch: string): Result<[number, string?, string?], Context>
    sessionTake (key: string): Result<string[] | null, Context>
    sessionRestore (key: string, data: string, createdAt: string, updatedAt: string, idleMs: string,
      absoluteExpiresAt: string, subject: string, etag: string): Result<[number, string?], Context>
    sessionSummary (key: string, subject: string, createdAt: string): Result<string[] | null, Context>
    sessionEnd (key: string, subject: string, createdAt: string): Result<number, Context>
    subjectAdmit (index: string, hints: string, ref: string, createdAt: string, expiresBy: number,
      maxSessions: number, policy: string, checked: '0' | '1', expiresAt: number)
    : Result<[number, ...string[]], Context>
    /** The index and its hints, then triples of a reference, a createdAt and an expiresAt ('' for no more). */
    subjectCheck (index: string, hints: string, ...triples: string[]): Result<string[], Context>
    subjectDoubts (index: string, hints: string, limit: number): Result<string[], Context>
    dueNote (due: string, versions: string, subject: string, at: number | string): Result<null, Context>
    dueClaim (due: string, versions: string, limit: number, leaseMs: number): Result<string[], Context>
    dueSettle (due: string, versions: string, subject: string, version: string, earliest: string)
    : Result<null, Context>
    /** The log, its dropped mark, the most events to keep, then quadruples (see lua/session-events-add.lua). */
    sessionEventsAdd (log: string, dropped: string, maxEvents: number, ...quadruples: string[]): Result<null, Context>
    sessionEventsRead (log: string, dropped: string, after: string, limit: number)
    : Result<[0 | 1, Array<[string, string[]]>], Context>
    subjectTake (index: string, hints: string, keep: string, ...refs: string[]): Result<string[], Context>
    /** The index and its hints, the latest expiry, then pairs of a reference and a createdAt. */
    subjectReturn (index: string, hints: string, expiresBy: number, ...refsAndCreatedAts: string[])
    : Result<number, Context>
    subjectSwap (index: string, hints: string, oldRef: string, createdAt: string, newRef: string,
      expiresBy: number, expiresAt: string): Result<number, Context>
    subjectPage (index: string, limit: number, cursorCreatedAt: string, cursorRef: string): Result<string[], Context>
    rateLimitGrant (key: string, take: number, windowMs: number): Result<[number, number], Context>
  }
}

const read = (name: string) => readFileSync(new URL(`./lua/${name}.lua`, import.meta.url), 'utf8')

/**
 * Scripts that take other than one key, and how many: undefined for any number, the caller passing how many first.
 * The others take one.
 */
const KEY_COUNTS: Readonly<Record<string, number | undefined>> = {
  tagEvict: undefined,
  tagMarkStale: undefined,
  subjectAdmit: 2,
  subjectCheck: 2,
  subjectTake: 2,
  subjectReturn: 2,
  subjectSwap: 2,
  subjectDoubts: 2,
  dueNote: 2,
  dueClaim: 2,
  dueSettle: 2,
  sessionEventsAdd: 2,
  sessionEventsRead: 2
}

/** Each script's source is its file, preceded by the shared preludes it uses. */
const SCRIPTS = {
  cachePut: ['preconditions', 'clock', 'cache-put'],
  cacheGet: ['clock', 'cache-get'],
  tagAdd: ['clock', 'tag-add'],
  tagTake: ['tag-take'],
  tagEvict: ['tag-evict'],
  tagMarkStale: ['clock', 'mark-stale', 'tag-mark-stale'],
  cacheMarkStale: ['preconditions', 'clock', 'mark-stale', 'cache-mark-stale'],
  conditionalDelete: ['preconditions', 'conditional-delete'],
  sessionGet: ['clock', 'session-get'],
  sessionPut: ['preconditions', 'clock', 'session-put'],
  sessionPatch: ['preconditions', 'clock', 'json-merge-patch', 'session-patch'],
  sessionDelete: ['preconditions', 'session-delete'],
  sessionTake: ['session-take'],
  sessionRestore: ['clock', 'session-restore'],
  sessionSummary: ['clock', 'session-summary'],
  sessionEnd: ['session-end'],
  subjectAdmit: ['clock', 'subject-admit'],
  subjectCheck: ['subject-check'],
  subjectReturn: ['clock', 'subject-return'],
  subjectTake: ['clock', 'subject-take'],
  subjectSwap: ['clock', 'subject-swap'],
  subjectPage: ['subject-page'],
  subjectDoubts: ['clock', 'subject-doubts'],
  dueNote: ['due-note'],
  dueClaim: ['clock', 'due-claim'],
  dueSettle: ['due-settle'],
  sessionEventsAdd: ['session-events-add'],
  sessionEventsRead: ['session-events-read'],
  rateLimitGrant: ['rate-limit-grant']
} as const

const registered = new WeakSet<Redis | Cluster>()

/** Registers every script on the client, once however many adapters share it. */
export function defineScripts (redis: Redis | Cluster): void {
  if (registered.has(redis)) return
  registered.add(redis)
  for (const [name, files] of Object.entries(SCRIPTS)) {
    const numberOfKeys = Object.hasOwn(KEY_COUNTS, name) ? KEY_COUNTS[name] : 1
    redis.defineCommand(name, { numberOfKeys, lua: files.map(read).join('\n') })
  }
}
