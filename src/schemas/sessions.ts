// zod schemas of the /sessions routes: ids, the write and patch bodies, and the representation.
import { z } from 'zod'

export const SessionIdSchema = z.string()
  .regex(/^[A-Za-z0-9_-]{22,128}$/, { error: 'must be 22 to 128 characters from A-Z, a-z, 0-9, _ and -' })
  .describe('The session id: 43 base64url characters when the service chose it, 22 to 128 when the client did')

export const SessionParamsSchema = z.object({ id: SessionIdSchema })

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
}

/** POST and PUT bodies; the TTL and size bounds are configuration, so the schema is made per app. */
export function sessionWriteSchema ({ idleTtlSeconds, absoluteTtlSeconds, maxBytes }: SessionLimits) {
  return z.strictObject({
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
  data: z.record(z.string(), z.unknown()).describe('The session data, any JSON object'),
  createdAt: Timestamp.describe('When the session was created (RFC 3339)'),
  updatedAt: Timestamp.describe('When its data was last written'),
  expiresAt: Timestamp
    .describe('When it expires unless read or written again: min(last use + idle lifetime, absoluteExpiresAt)'),
  absoluteExpiresAt: Timestamp.describe('When it expires however active it is')
}).describe('A session').meta({ id: 'Session' })

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
