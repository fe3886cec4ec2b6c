// Hostile input, generated: keys of any bytes and encodings, path tricks, odd and huge headers, malformed entity tag
// lists, TTLs of every shape, bodies that are not JSON, JSON that is too deep, too large or carries numbers JSON
// cannot, and wrong media types. Over 10,000 requests a run. None gets a 5xx or hangs; every refusal is
// problem+json; and afterwards Redis holds nothing outside KEY_PREFIX and nothing a refused request sent.
// (Requests Node's parser refuses, and slow clients, need a real socket: client-errors and slow-client tests.)
import fc from 'fast-check'
import type { FastifyInstance } from 'fastify'
import t from 'tap'
import { buildTestApp } from '../helpers/app.js'
import { startRedis } from '../helpers/redis-server.js'

const RUNS_PER_PROPERTY = 2600
const PREFIX = 'hostile:'

interface HostileRequest {
  method: 'GET' | 'HEAD' | 'PUT' | 'POST' | 'PATCH' | 'DELETE'
  url: string
  headers: Record<string, string>
  payload?: string | Buffer
}

const redis = await startRedis(t)
// Load shedding is off: a thousand requests a second in one process is the test, not an overload.
const app = await buildTestApp(t, {
  env: { REDIS_URL: redis.url, KEY_PREFIX: PREFIX, MAX_EVENT_LOOP_DELAY_MS: '0', RATE_LIMIT_MAX: '0' }
})
/** A marker in every write's body; those of refused writes must be nowhere in Redis afterwards. */
let markers = 0
/**
 * Fixed width, so that a marker followed by random bytes that begin with a digit never reads as another marker
 * ("marker-292" then "0" is not "marker-2920").
 */
const nextMarker = () => `marker-${String(markers++).padStart(8, '0')}`
const MARKER = /marker-\d{8}/
const refusedMarkers = new Set<string>()
let requests = 0

const printable = fc.string({ unit: 'grapheme-ascii', maxLength: 80 })
/** Header values may hold any byte but CR, LF and NUL, which no HTTP message can carry in one. */
const anyText = fc.oneof(printable,
  fc.string({ unit: 'binary', maxLength: 40 }).map((text) => text.replace(/[\r\n\0]/g, '')))
const percentEncoded = (bytes: Uint8Array) =>
  [...bytes].map((byte) => `%${byte.toString(16).padStart(2, '0')}`).join('')

const key = fc.oneof(
  fc.uint8Array({ maxLength: 700 }).map(percentEncoded),
  fc.string({ unit: 'grapheme', maxLength: 600 }).map(encodeURIComponent),
  printable.map((text) => text.replace(/[/?#]/g, '')),
  fc.constantFrom('..', '.', '%2e%2e', 'a%2Fb', 'a%00b', '%00', '%', '%zz', '%c3%28', '%ed%a0%80', 'x'.repeat(513))
)
const entityTags = fc.oneof(anyText, fc.constantFrom('*', '"a"', 'W/"a"', '"a", "b"', ',,"a",,', '"', 'W/',
  '"a" "b"', '*, "a"', '"\u00ff"', `"${'e'.repeat(5000)}"`))
const ttl = fc.oneof(anyText,
  fc.constantFrom('-1', '0', 'NaN', '1e9', '1.5', '99999999999', '2592001', '', ' 1', '0x10'))
const mediaType = fc.oneof(anyText, fc.constantFrom('application/json', 'application/merge-patch+json', 'text/plain',
  'application/json; charset=utf-16', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', ''))
const hugeHeader = fc.integer({ min: 1000, max: 20_000 }).map((length) => 'h'.repeat(length))

const optionalHeaders = fc.record({
  'if-match': entityTags,
  'if-none-match': entityTags,
  'content-type': mediaType,
  'x-request-id': anyText,
  'x-huge': hugeHeader
}, { requiredKeys: [] })

/** The text of a JSON body that is wrong in one of many ways, around a marker. */
const jsonBody = (marker: string) => fc.oneof(
  fc.json({ maxDepth: 4 }).map((json) => `{"data":{"marker":"${marker}","x":${json}}}`),
  fc.json({ maxDepth: 4 }).map((json) => `{"marker":"${marker}","x":${json}}`),
  fc.constantFrom('1e999', '-1e999', '12345678901234567890', '1e-400', '0.10000000000000000000001', 'NaN', '-0')
    .map((n) => `{"data":{"marker":"${marker}","n":${n}}}`),
  fc.integer({ min: 60, max: 5000 })
    .map((depth) => `{"data":{"marker":"${marker}","d":${'['.repeat(depth)}${']'.repeat(depth)}}}`),
  fc.integer({ min: 60_000, max: 300_000 }).map((size) => `{"data":{"marker":"${marker}","s":"${'s'.repeat(size)}"}}`),
  fc.string({ maxLength: 200 }).map((text) => `{"data":{"marker":"${marker}"${text}`),
  fc.constantFrom('{"__proto__":{"x":1}}', '{"constructor":{"prototype":{}}}', '', 'null', '[]', '"x"', '{"data":[]}',
    '{"data":null}', '{"data":{},"extra":1}', '{"data":{},"idleTtlSeconds":-5}', '{"data":{},"idleTtlSeconds":1e9}')
)

const cacheRequest = fc.record({
  method: fc.constantFrom('GET', 'HEAD', 'PUT', 'DELETE', 'PATCH', 'POST'),
  key,
  ttl: fc.option(ttl),
  headers: optionalHeaders,
  body: fc.option(fc.uint8Array({ maxLength: 2048 }))
}).map(({ method, key, ttl, headers, body }): HostileRequest => {
  const marker = nextMarker()
  return {
    method: method as HostileRequest['method'],
    url: `/cache/${key}${ttl === null ? '' : `?ttl=${encodeURIComponent(ttl)}`}`,
    headers,
    ...(method === 'PUT' && { payload: Buffer.concat([Buffer.from(marker), body ?? Buffer.alloc(0)]) })
  }
})

const pathTrick = fc.record({
  method: fc.constantFrom('GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'),
  path: fc.constantFrom('/cache/..', '/cache/../sessions', '/cache/%2e%2e/x', '/cache/a/b', '//cache/x',
    '/cache//x', '/cache/', '/cache', '/CACHE/x', '/%63ache/x', '/cache/x/', '/sessions/..%2F',
    '//sessions/aaaaaaaaaaaaaaaaaaaaaaaaa', '/sessions%2Faaaaaaaaaaaaaaaaaaaaaaaa', '/sessions/', '/sessions/%00',
    '/cache/%', '/cache/%zz', '/cache/x?ttl=1&ttl=2', '/readyz/..', '/openapi.json/x', '/docs/../cache/x',
    '/cache/x;y', '/cache/x%20', '/\u00e9'),
  headers: optionalHeaders
}).map(({ method, path, headers }): HostileRequest =>
  ({ method: method as HostileRequest['method'], url: path, headers }))

const sessionId = fc.oneof(fc.constantFrom('aaaaaaaaaaaaaaaaaaaaaa', 'A'.repeat(128), 'short', 'x'.repeat(129)),
  fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 140 }).map(encodeURIComponent))

const sessionRequest = fc.record({
  method: fc.constantFrom('POST', 'PUT', 'PATCH', 'GET', 'DELETE'),
  id: sessionId,
  headers: optionalHeaders,
  contentType: mediaType,
  touch: fc.option(anyText)
}).chain(({ method, id, headers, contentType, touch }) => {
  const marker = nextMarker()
  return jsonBody(marker).map((payload): HostileRequest => ({
    method: method as HostileRequest['method'],
    url: method === 'POST'
      ? '/sessions'
      : `/sessions/${id}${touch === null ? '' : `?touch=${encodeURIComponent(touch)}`}`,
    headers: { ...headers, 'content-type': contentType },
    ...(['POST', 'PUT', 'PATCH'].includes(method) && { payload })
  }))
})

async function send (app: FastifyInstance, request: HostileRequest) {
  requests++
  const response = await app.inject({ ...request, payload: request.payload ?? undefined })
  const marker = typeof request.payload === 'string'
    ? new RegExp(`"marker":"(${MARKER.source})"`).exec(request.payload)?.[1]
    : MARKER.exec(request.payload?.subarray(0, 15).toString() ?? '')?.[0]
  if (response.statusCode >= 400 && marker !== undefined) refusedMarkers.add(marker)
  return response
}

/** The property every hostile request must hold. */
async function answeredCleanly (request: HostileRequest): Promise<boolean> {
  const response = await send(app, request)
  if (response.statusCode >= 500) throw new Error(`${response.statusCode} for ${request.method} ${request.url}`)
  if (response.statusCode < 400 || request.method === 'HEAD') return true
  if (!/^application\/problem\+json/.test(response.headers['content-type'] as string)) {
    throw new Error(`${response.statusCode} without problem+json for ${request.method} ${request.url}`)
  }
  const problem = response.json() as { type: string, status: number }
  return problem.status === response.statusCode && /^urn:cache-service:problem:[a-z-]+$/.test(problem.type)
}

const settings = { numRuns: RUNS_PER_PROPERTY, timeout: 5000, seed: Number(process.env.FC_SEED ?? Date.now()) }

t.test('cache requests with keys of any bytes, odd TTLs and headers: never a 5xx, refusals are problems', async (t) => {
  await fc.assert(fc.asyncProperty(cacheRequest, answeredCleanly), settings)
  t.pass(`seed ${settings.seed}`)
})

t.test('path tricks: never a 5xx, refusals are problems', async (t) => {
  await fc.assert(fc.asyncProperty(pathTrick, answeredCleanly), settings)
  t.pass(`seed ${settings.seed}`)
})

t.test('session writes with bodies that are wrong in every way: never a 5xx, refusals are problems', async (t) => {
  await fc.assert(fc.asyncProperty(sessionRequest, answeredCleanly), settings)
  t.pass(`seed ${settings.seed}`)
})

t.test('a random sequence of all three against one key: never a 5xx', async (t) => {
  await fc.assert(fc.asyncProperty(fc.array(fc.oneof(cacheRequest, sessionRequest), { maxLength: 8 }),
    async (sequence) => {
      for (const request of sequence) if (!(await answeredCleanly(request))) return false
      return true
    }), { ...settings, numRuns: RUNS_PER_PROPERTY / 4 })
  t.pass(`seed ${settings.seed}`)
})

t.test('afterwards: over 10,000 requests, no key outside KEY_PREFIX, nothing from a refused request', async (t) => {
  t.ok(requests >= 10_000, `${requests} requests sent, ${refusedMarkers.size} writes refused`)
  const admin = redis.admin()
  const keys: string[] = []
  let cursor = '0'
  do {
    const [next, batch] = await admin.scan(cursor, 'COUNT', 1000)
    keys.push(...batch)
    cursor = next
  } while (cursor !== '0')
  t.same(keys.filter((stored) => !stored.startsWith(PREFIX)), [], `all ${keys.length} keys are under ${PREFIX}`)

  const leaked: string[] = []
  for (const stored of keys) {
    if ((await admin.type(stored)) !== 'hash') continue
    const values = await admin.hvals(stored)
    for (const value of values) {
      const marker = MARKER.exec(value)?.[0]
      if (marker !== undefined && refusedMarkers.has(marker)) leaked.push(`${stored}: ${marker}`)
    }
  }
  t.same(leaked, [], 'no value of a refused write was stored')
})
