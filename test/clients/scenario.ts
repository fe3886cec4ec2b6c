// The scenario every generated client must drive against the real service (issue 22): what each client observed
// is held to the same expectations, so that the three cannot quietly test different things.
import type { Test } from 'tap'
import { hashApiKey } from '../../src/auth/api-keys.js'
import { buildTestApp } from '../helpers/app.js'
import { startRedis } from '../helpers/redis-server.js'

/** A value no text decoding survives: a PNG signature, then every byte value, stored as image/png. */
export const BINARY_VALUE = Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'),
  Buffer.from(Array.from({ length: 256 }, (_, i) => i))])
export const BINARY_MEDIA_TYPE = 'image/png'

/** What a client saw; each client fills it in its own language and idiom. */
export interface Observations {
  binary: {
    created: number
    repeated: number
    repeatedProblemType: string
    read: number
    bytesHex: string
    contentType: string
    cacheControl: string
    revalidated: number
  }
  session: {
    created: number
    read: Record<string, unknown>
    patched: Record<string, unknown>
    deleted: number
    gone: number
  }
  /**
   * Two sessions of one user: the first rotated, both listed, then all but the rotated one revoked; then the events
   * of their ends read, and read again from the cursor.
   */
  subject: {
    rotated: number
    newId: boolean
    listed: number
    refLength: number
    idListed: boolean
    ended: number
    left: number
    told: string[]
    missed: boolean
    toldAfter: number
  }
  bulk: { outcomes: string[], found: boolean[], valueBase64: string, contentType: string }
  tag: { removed: number, gone: number }
  markStale: { key: number, markedStale: number, cacheStatus: string }
  lease: { miss: number, lease: string, hasToken: boolean, fulfilled: number, read: string }
  problem: { status: number, type: string, paths: string[], typed: boolean }
}

export function assertScenario (t: Test, seen: Observations): void {
  t.match(seen.binary, {
    created: 201,
    repeated: 412,
    repeatedProblemType: 'urn:cache-service:problem:precondition-failed',
    read: 200,
    bytesHex: BINARY_VALUE.toString('hex'),
    contentType: BINARY_MEDIA_TYPE,
    cacheControl: /^max-age=(59|60)$/,
    revalidated: 304
  }, 'a binary value with a chosen media type and TTL is read back byte-exact; If-None-Match: * then 412; a 304')
  t.same(seen.session, {
    created: 201,
    read: { user: 'ada' },
    patched: { user: 'ada', cart: { sku: 2 } },
    deleted: 204,
    gone: 404
  }, 'a session created, read, merge-patched and deleted')
  t.same(seen.subject, {
    rotated: 201,
    newId: true,
    listed: 2,
    refLength: 43,
    idListed: false,
    ended: 1,
    left: 1,
    told: ['rotated', 'revoked'],
    missed: false,
    toldAfter: 0
  }, 'a user\'s session rotated, the user\'s sessions listed by reference, all but the one in use ended, and the ' +
    'ends read as events, then none more from the cursor')
  t.same(seen.bulk, {
    outcomes: ['created', 'created'],
    found: [true, false, true],
    valueBase64: Buffer.from('one').toString('base64'),
    contentType: 'text/plain'
  }, 'a bulk put and get')
  t.same(seen.tag, { removed: 2, gone: 404 }, 'a tag invalidation')
  t.match(seen.markStale, { key: 204, markedStale: 1, cacheStatus: /; detail=stale$/ },
    'a key, then the rest of its tag, marked stale (mode=stale), and served as stale')
  t.same(seen.lease, { miss: 404, lease: 'granted; ttl=5', hasToken: true, fulfilled: 201, read: 'computed' },
    'a lease granted, and fulfilled with its token')
  t.same(seen.problem, {
    status: 400, type: 'urn:cache-service:problem:validation-failed', paths: ['/ttl'], typed: true
  }, 'a problem+json error read as a typed object')
}

/** The service on a real Redis, listening, with one API key that has every scope. */
export async function startScenarioService (t: Test): Promise<{ baseUrl: string, apiKey: string }> {
  const redis = await startRedis(t)
  const apiKey = 'scenario-key-0123456789abcdefghijklmnopqrstuv'
  const app = await buildTestApp(t, {
    env: {
      REDIS_URL: redis.url,
      AUTH_MODE: 'api-key',
      API_KEYS: JSON.stringify([{ name: 'generated-client', sha256: hashApiKey(apiKey), scopes: ['admin'] }])
    }
  })
  const baseUrl = await app.listen({ port: 0, host: '127.0.0.1' })
  return { baseUrl, apiKey }
}
