// The document states every bound the routes enforce: for each rule, values on both sides of it are judged the same
// way by the service (400 or not) and by a JSON Schema validator reading the served document. Among them, each
// request of issue 22 that the document called valid and the service refused.
import { Ajv2020 } from 'ajv/dist/2020.js'
import type { FastifyInstance } from 'fastify'
import t, { type Test } from 'tap'
import { buildTestApp } from '../helpers/app.js'

const app: FastifyInstance = await buildTestApp(t)
const document = (await app.inject({ method: 'GET', url: '/openapi.json' })).json()
const ajv = new Ajv2020({ strict: false })

interface Case { value: unknown, valid: boolean }
type Send = (value: any) => Promise<{ statusCode: number }>

function parameterSchema (path: string, method: string, name: string): object {
  const parameter = document.paths[path][method].parameters.find((p: { name: string }) => p.name === name)
  return parameter.schema
}

async function judge (t: Test, name: string, schema: object, send: Send, cases: Case[]) {
  const validate = ajv.compile(schema)
  for (const { value, valid } of cases) {
    const label = `${name} ${JSON.stringify(value).slice(0, 60)}`
    t.equal(validate(value), valid, `${label}: the document says ${valid ? 'valid' : 'invalid'}`)
    const { statusCode } = await send(value)
    if (valid) t.ok(statusCode < 500 && statusCode !== 400, `${label}: the service takes it (${statusCode})`)
    else t.equal(statusCode, 400, `${label}: the service refuses it`)
  }
}

const putWith = (headers: Record<string, string>, key = 'k') =>
  app.inject({ method: 'PUT', url: `/cache/${encodeURIComponent(key)}`, headers, payload: 'x' })

t.test('cache keys: 1 to 512 characters, no control characters', async (t) => {
  await judge(t, 'key', parameterSchema('/cache/{key}', 'put', 'key'), (key) => putWith({}, key), [
    { value: 'a\u0085b', valid: false },
    { value: 'a\u0000b', valid: false },
    { value: 'x'.repeat(513), valid: false },
    { value: '😀'.repeat(512), valid: true },
    { value: 'a b/c', valid: true }
  ])
  const keys = document.paths['/cache-bulk/get'].post.requestBody.content['application/json'].schema.properties.keys
  const bulkGet = (value: unknown) =>
    app.inject({ method: 'POST', url: '/cache-bulk/get', payload: { keys: value } })
  await judge(t, 'bulk keys', keys, bulkGet, [
    { value: [''], valid: false },
    { value: ['a', 'a'], valid: false },
    { value: ['a', 'b'], valid: true }
  ])
})

t.test('If-Match and If-None-Match: * or a list of quoted entity tags', async (t) => {
  for (const header of ['if-match', 'if-none-match']) {
    await judge(t, header, parameterSchema('/cache/{key}', 'put', header), (value) => putWith({ [header]: value }), [
      { value: 'abc', valid: false },
      { value: '"a" "b"', valid: false },
      { value: '*', valid: true },
      { value: ', "a",, W/"b" ,', valid: true }
    ])
  }
})

t.test('tags: in Cache-Tag, in ?tag= and in a bulk write', async (t) => {
  const tags = (count: number) => Array.from({ length: count }, (_, i) => `t${i}`).join(', ')
  await judge(t, 'Cache-Tag', parameterSchema('/cache/{key}', 'put', 'cache-tag'),
    (value) => putWith({ 'cache-tag': value }), [
      { value: 'a b', valid: false },
      { value: tags(17), valid: false },
      { value: 'x'.repeat(129), valid: false },
      { value: tags(16), valid: true },
      { value: `${'x'.repeat(128)},, y`, valid: true }
    ])
  await judge(t, '?tag=', parameterSchema('/cache', 'delete', 'tag'),
    (value) => app.inject({ method: 'DELETE', url: `/cache?tag=${encodeURIComponent(value)}` }), [
      { value: 'a,b', valid: false },
      { value: 'a\u00a0b', valid: false },
      { value: 'ü'.repeat(129), valid: false },
      { value: 'ü'.repeat(128), valid: true }
    ])
})

t.test('TTLs and the lease ttl follow the configuration', async (t) => {
  for (const name of ['ttl', 'stale']) {
    await judge(t, `?${name}=`, parameterSchema('/cache/{key}', 'put', name),
      (value) => app.inject({ method: 'PUT', url: `/cache/k?${name}=${value}`, payload: 'x' }), [
        { value: 0, valid: false },
        { value: 2592001, valid: false },
        { value: 99999999999, valid: false },
        { value: 2592000, valid: true }
      ])
  }
  await judge(t, 'Cache-Lease', parameterSchema('/cache/{key}', 'get', 'cache-lease'),
    (value) => app.inject({ method: 'GET', url: '/cache/leased', headers: { 'cache-lease': value } }), [
      { value: 'acquire; ttl=61', valid: false },
      { value: 'acquire; ttl=0', valid: false },
      { value: 'acquire; ttl=60', valid: true },
      { value: 'ACQUIRE', valid: true }
    ])
})

t.test('a query takes only the parameters the document lists: a misspelt one is refused, not ignored', async (t) => {
  const session = (await app.inject({ method: 'POST', url: '/sessions', payload: { data: {} } })).json().id
  for (const [method, url] of [
    ['PUT', '/cache/query-k?tll=60'],
    ['PUT', '/cache/query-k?ttl=60&x=1'],
    ['DELETE', '/cache?tag=a&tags=b'],
    ['GET', `/sessions/${session}?touch=false&mode=x`]
  ] as const) {
    const res = await app.inject({ method, url, payload: method === 'PUT' ? 'x' : undefined })
    t.equal(res.statusCode, 400, `${method} ${url.replace(session, '{id}')}`)
    t.match(res.json(), { errors: [{ in: 'querystring' }] })
  }
  t.equal((await app.inject({ method: 'GET', url: '/cache/query-k' })).statusCode, 404, 'and nothing was stored')
})

t.test('the served document follows the configured caps', async (t) => {
  const configured = await buildTestApp(t, {
    env: { CACHE_DEFAULT_TTL_SECONDS: '60', CACHE_MAX_TTL_SECONDS: '600', CACHE_LEASE_MAX_TTL_SECONDS: '9' }
  })
  const served = (await configured.inject({ method: 'GET', url: '/openapi.json' })).json()
  const put = served.paths['/cache/{key}'].put.parameters
  t.match(put.find((p: { name: string }) => p.name === 'ttl').schema, { type: 'integer', minimum: 1, maximum: 600 })
  t.match(put.find((p: { name: string }) => p.name === 'stale').schema, { maximum: 600 })
  const lease = served.paths['/cache/{key}'].get.parameters.find((p: { name: string }) => p.name === 'cache-lease')
  const validate = ajv.compile(lease.schema)
  t.ok(validate('acquire; ttl=9'))
  t.notOk(validate('acquire; ttl=10'))
  const entry = served.paths['/cache-bulk/put'].post.requestBody.content['application/json'].schema
    .properties.entries.items.properties
  t.match(entry.ttlSeconds, { maximum: 600 })
})

t.test('session events: a cursor as the log writes them, and a page within SESSION_LIST_MAX_LIMIT', async (t) => {
  const events = (query: string) => app.inject({ method: 'GET', url: `/sessions/events?${query}` })
  await judge(t, 'after', parameterSchema('/sessions/events', 'get', 'after'), (value) =>
    events(`after=${encodeURIComponent(value)}`), [
    { value: '1764812345678-0', valid: true },
    { value: '0-0', valid: true },
    { value: '999999999999999-999999999999999', valid: true },
    { value: '1234567890123456-0', valid: false },
    { value: '1764812345678', valid: false },
    { value: '-1-0', valid: false },
    { value: '1-0 ', valid: false }
  ])
  await judge(t, 'limit', parameterSchema('/sessions/events', 'get', 'limit'), (value) =>
    events(`limit=${value}`), [
    { value: 100, valid: true },
    { value: 101, valid: false },
    { value: 0, valid: false }
  ])
})

t.test('a stored media type: no wildcards', async (t) => {
  await judge(t, 'Cache-Content-Type', parameterSchema('/cache/{key}', 'put', 'cache-content-type'),
    (value) => putWith({ 'cache-content-type': value }), [
      { value: '*/*', valid: false },
      { value: 'text/*', valid: false },
      { value: 'text/plain; charset=utf-8', valid: true },
      { value: '*a/b', valid: true }
    ])
})

t.test('a pattern refuses a long hostile value in one pass, not by trying every way to split it', async (t) => {
  // Each value nearly matches, then fails at its last character. As the RFC spells the media type grammar,
  // `a/b ; ; … x` of 58 characters took 4 s of backtracking (exponential in its semicolons), and a Cache-Tag of
  // separators took 100 ms per 16 KB (quadratic). The bound below is a hundred times what a linear match needs
  // here, and no more than a tenth of what the exponential one needs at this size.
  const run = (n: number, unit: string, head = '', tail = 'x') => head + unit.repeat(n) + tail
  const cases: Array<[string, Record<string, string>]> = [
    ['Content-Type', { 'content-type': run(24, ' ; ', 'a/b') }],
    ['Cache-Content-Type', { 'cache-content-type': run(24, ' ; ', 'a/b') }],
    ['Cache-Content-Type, long', { 'cache-content-type': run(80, ' ;', 'a/b') }],
    ['Cache-Tag', { 'cache-tag': run(8000, ' ,', '', 'x y') }],
    ['Cache-Tag after a tag', { 'cache-tag': run(8000, ' ,', 'a', 'x y') }],
    ['If-Match', { 'if-match': run(5000, ' , ', '"a"') }],
    ['If-None-Match', { 'if-none-match': run(16000, ',') }]
  ]
  for (const [name, headers] of cases) {
    const started = process.hrtime.bigint()
    const res = await putWith(headers)
    const ms = Number(process.hrtime.bigint() - started) / 1e6
    t.ok(res.statusCode === 400 || res.statusCode === 415, `${name} is refused (${res.statusCode})`)
    t.ok(ms < 500, `${name} is refused in ${ms.toFixed(1)} ms`)
  }
})

t.test('what JSON Schema cannot say is said in the description', async (t) => {
  const session = document.paths['/sessions'].post.requestBody.content['application/json'].schema.properties.data
  t.match(session.description, /at most \d+ bytes/)
  t.match(session.description, /nested at most 64 levels/)
  t.match(session.description, /double holds exactly/)
  t.match(session.description, /__proto__/)
  const entries = document.paths['/cache-bulk/put'].post.requestBody.content['application/json'].schema
    .properties.entries
  t.match(entries.description, /no two may name the same key/)
  const key = document.paths['/cache/{key}'].get.parameters.find((p: { name: string }) => p.name === 'key')
  t.match(key.description, /unpaired surrogates/)
})
