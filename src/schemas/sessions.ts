// zod schemas of the /sessions routes: ids, subjects, the write and patch bodies, listings, revocations, and the
// representations.
import { z } from 'zod'
import { SESSION_CURSOR_PATTERN, SESSION_END_REASONS, SESSION_EVENT_CURSOR_PATTERN } from '../store/session-store.js'

export const SessionIdSchema = z.string()
  .regex(/^[A-Za-z0-9_-]{22,128}$/, { error: 'must be 22 to 128 characters from A-Z, a-z, 0-9, _ and -' })
  .describe('The session id: 43 base64url characters when the service chose it, 22 to 128 when the client did')

export const SessionParamsSchema = z.object({ id: SessionIdSchema })

// Room for the user ids in use (a UUID, an e-mail address, an OIDC `sub` such as "auth0|…" or a URL), and no more.
const SUBJECT_MAX_LENGTH = 256

export const SubjectSchema = z.string()
  .regex(new RegExp(`^[!-~]{1,${SUBJECT_MAX_LENGTH}}$`), {
    error: `must be 1 to ${SUBJECT_MAX_LENGTH} visible ASCII characters (no spaces)`
  })
  .describe('The user a session belongs to: any id of the caller\'s choosing, such as a token\'s `sub` claim, 1 to ' +
    `${SUBJECT_MAX_LENGTH} visible ASCII characters`)

const SessionRefSchema = z.string().regex(/^[A-Za-z0-9_-]{43}$/, { error: 'must be a reference from a listing' })
  .describe('A reference to a session, from a listing: it can end the session, but neither read nor use it')

// Deeper documents are almost certainly abuse, and each level costs a frame in the Lua merge.
const MAX_DEPTH = 64

const SessionDataSchema = z.record(z.string(), z.unknown())
  .refine((data) => depthOf(data) <= MAX_DEPTH, { error: `must not nest deeper than ${MAX_DEPTH} levels` })

/** What JSON Schema cannot say of a session's data: http/exact-json.ts and depthOf enforce it. */
function dataRules (maxBytes: number): string {
  return `at most ${maxBytes} bytes once written as JSON, nested at most ${MAX_DEPTH} levels deep; every number ` +
    'must be one a double holds exactly (12345678901234567890 or 1e999 is refused: send it as a string), and no ' +
    'object may have a member named `__proto__`, nor a `constructor` member holding a `prototype` member'
}

export interface SessionLimits {
  idleTtlSeconds: number
  absoluteTtlSeconds: number
  maxBytes: number
  /** The most live sessions a subject may hold: SESSION_SUBJECT_LIMIT, or SESSION_SUBJECT_MAX_SESSIONS without one. */
  maxSessionsPerSubject: number
  /** Sessions one listing page holds at most. */
  listMaxLimit: number
}

/** POST and PUT bodies; the TTL and size bounds are configuration, so the schema is made per app. */
export function sessionWriteSchema ({ idleTtlSeconds, absoluteTtlSeconds, maxBytes, maxSessionsPerSubject }
: SessionLimits) {
  return z.strictObject({
    subject: SubjectSchema.optional().describe('The user the session belongs to, set when it is created and never ' +
      'changed: a replace may name the same subject or none. A session with a subject can be listed and ended with ' +
      'the rest of its subject\'s sessions'),
    maxSessions: z.int().min(1).max(maxSessionsPerSubject, { error: `must be at most ${maxSessionsPerSubject}` })
      .optional()
      .describe('For a create with a subject: the most live sessions the subject may then hold, at most the ' +
        `service's own cap (${maxSessionsPerSubject}); past it, SESSION_SUBJECT_CAP_POLICY applies`),
    data: SessionDataSchema.describe(`Any JSON object: ${dataRules(maxBytes)}`),
    idleTtlSeconds: z.int().min(1).max(idleTtlSeconds, { error: `must be at most ${idleTtlSeconds}` }).optional()
      .describe('Seconds of inactivity after which the session expires'),
    absoluteTtlSeconds: z.int().min(1).max(absoluteTtlSeconds, { error: `must be at most ${absoluteTtlSeconds}` })
      .optional()
      .describe('Seconds from creation after which the session expires, however active; ignored by a replace')
  })
}

export function sessionPatchSchema (maxBytes: number) {
  return SessionDataSchema.describe('An RFC 7396 JSON merge patch: members set to null are removed, objects are ' +
    `merged, the rest replaced. The patch, and the data it makes, hold to the rules of data: ${dataRules(maxBytes)}`)
}

export const SessionReadQuerySchema = z.strictObject({
  touch: z.enum(['true', 'false']).default('true').transform((value) => value === 'true')
    .describe('false reads without sliding the idle expiry')
})

// An RFC 3339 instant in UTC, as Date#toISOString writes it; described by format, not by zod's long pattern.
const Timestamp = z.string().meta({ format: 'date-time' })

export const SessionSchema = z.object({
  id: SessionIdSchema,
  subject: SubjectSchema.optional(),
  data: z.record(z.string(), z.unknown()).describe('The session data, any JSON object'),
  createdAt: Timestamp.describe('When the session was created (RFC 3339)'),
  updatedAt: Timestamp.describe('When its data was last written'),
  expiresAt: Timestamp
    .describe('When it expires unless read or written again: min(last use + idle lifetime, absoluteExpiresAt)'),
  absoluteExpiresAt: Timestamp.describe('When it expires however active it is')
}).describe('A session').meta({ id: 'Session' })

/** How many sessions, or events, one page holds at most: up to SESSION_LIST_MAX_LIMIT. */
function pageLimitSchema (listMaxLimit: number, what: string) {
  return z.coerce.number<string>().int().min(1).max(listMaxLimit, { error: `must be at most ${listMaxLimit}` })
    .default(Math.min(20, listMaxLimit))
    .describe(`${what} on one page at most`)
}

export function sessionListQuerySchema ({ listMaxLimit }: SessionLimits) {
  return z.strictObject({
    subject: SubjectSchema,
    limit: pageLimitSchema(listMaxLimit, 'Sessions'),
    cursor: z.string().regex(SESSION_CURSOR_PATTERN, { error: 'must be the cursor of a page' }).optional()
      .describe('Where to go on: the `next` of the page before')
  })
}

export const SessionSummarySchema = z.object({
  ref: SessionRefSchema,
  createdAt: Timestamp.describe('When the session was created'),
  updatedAt: Timestamp.describe('When its data was last written'),
  expiresAt: Timestamp.describe('When it expires unless used again'),
  absoluteExpiresAt: Timestamp.describe('When it expires however active it is')
}).describe('A session of a listing: its reference and times, never its id')

export const SessionListSchema = z.object({
  sessions: z.array(SessionSummarySchema).describe('Newest first. A page may hold fewer sessions than the limit, ' +
    'even none, when sessions ended meanwhile: go on while there is a next'),
  next: z.string().optional().describe('The cursor of the next page; absent on the last')
}).meta({ id: 'SessionList' })

/** The largest revocation body that can be valid: the subject, an id, and a page's references, with room for spaces. */
export function sessionRevocationBodyLimit ({ listMaxLimit }: SessionLimits): number {
  return 4096 + listMaxLimit * 64
}

export function sessionRevocationSchema ({ listMaxLimit }: SessionLimits) {
  return z.strictObject({
    subject: SubjectSchema,
    exceptId: SessionIdSchema.optional().describe('The id of a session to keep: the caller\'s own, for "log out ' +
      'everywhere else"'),
    refs: z.array(SessionRefSchema).min(1).max(listMaxLimit, { error: `must name at most ${listMaxLimit}` }).optional()
      .describe('End only these sessions of the subject, by their references from a listing (a page\'s at most); ' +
        'all when absent')
  })
}

export const SessionRevocationResultSchema = z.object({
  ended: z.int().min(0).describe('How many sessions this request ended')
}).meta({ id: 'SessionRevocationResult' })

export function sessionEventsQuerySchema ({ listMaxLimit }: SessionLimits) {
  return z.strictObject({
    after: z.string().regex(SESSION_EVENT_CURSOR_PATTERN, { error: 'must be the next of a page' }).optional()
      .describe('Where to go on: the `next` of the page before; from the oldest event kept when absent'),
    limit: pageLimitSchema(listMaxLimit, 'Events')
  })
}

const SessionEventSchema = z.object({
  id: z.string().describe('The event\'s place in the log'),
  reason: z.enum(SESSION_END_REASONS).describe('How the session ended: `expired` (its time was up; also told of a ' +
    'session whose end reached the service no other way), `deleted`, `revoked` (revokeSessions), `capped` (a ' +
    'create past its subject\'s cap ended it) or `rotated` (rotateSession gave it a new id)'),
  ref: SessionRefSchema,
  subject: SubjectSchema,
  replacedBy: SessionRefSchema.optional().describe('For a rotation: the reference of the session under its new id'),
  at: Timestamp.describe('When the service recorded the end: at once, but for an expiry, which it learns of within ' +
    'SESSION_EXPIRY_SWEEP_INTERVAL_MS on Redis, a second on the embedded store')
}).describe('A session of a subject that ended')

export const SessionEventPageSchema = z.object({
  events: z.array(SessionEventSchema).describe('Oldest first'),
  next: z.string().describe('The cursor to go on from (`after`): the last event\'s id, or the one given when none ' +
    'is newer'),
  missed: z.boolean().describe('Whether events after the cursor given were dropped before this read: the log ' +
    'keeps the newest SESSION_EVENTS_MAX only. A reader that missed some lists its subjects\' sessions anew')
}).meta({ id: 'SessionEventPage' })

/** Iterative, so that a hostile document cannot exhaust the stack before it is refused. */
function depthOf (root: unknown): number {
  let deepest = 0
  const stack: Array<[unknown, number]> = [[root, 1]]
  while (stack.length > 0) {
    const [value, depth] = stack.pop()!
    if (typeof value !== 'object' || value === null) continue
    deepest = Math.max(deepest, depth)
    if (deepest > MAX_DEPTH) return deepest
    for (const child of Object.values(value)) stack.push([child, depth + 1])
  }
  return deepest
}
