// End to end through the client generated from openapi.yaml: every operation, against a listening service on a
// real redis-server, and every answer held to the document.
import type { FastifyInstance } from 'fastify'
import t from 'tap'
import { createCacheServiceClient } from '../../client/index.js'
import { buildTestApp } from '../helpers/app.js'
import { violationsOf } from '../helpers/openapi-conformance.js'
import { startRedis } from '../helpers/redis-server.js'

const redis = await startRedis(t)
const app: FastifyInstance = await buildTestApp(t, { env: { REDIS_URL: redis.url } })
const baseUrl = await app.listen({ port: 0, host: '127.0.0.1' })

const violations: string[] = []
const client = createCacheServiceClient({ baseUrl })
client.use({
  async onResponse ({ request, response }) {
    const url = new URL(request.url)
    violations.push(...violationsOf({
      method: request.method,
      url: url.pathname + url.search,
      statusCode: response.status,
      headers: Object.fromEntries(response.headers),
      body: await response.clone().text()
    }))
  }
})
t.afterEach(() => {
  t.same(violations.splice(0), [], 'every answer conforms to openapi.yaml')
})

t.test('health', async (t) => {
  t.same((await client.GET('/healthz')).data, { status: 'ok' })
  t.same((await client.GET('/readyz')).data, { status: 'ready' })
})

t.test('the cache: put, get, head, conditional get, conditional put, delete', async (t) => {
  const key = 'user:42/profile ✓'
  const put = await client.PUT('/cache/{key}', {
    params: {
      path: { key }, query: { ttl: 60 }, header: { 'if-none-match': '*', 'cache-content-type': 'application/json' }
    },
    body: Buffer.from('{"name":"Ada"}')
  })
  t.equal(put.response.status, 201)
  const etag = put.response.headers.get('etag')!

  const get = await client.GET('/cache/{key}', { params: { path: { key } }, parseAs: 'text' })
  t.equal(get.response.status, 200)
  t.equal(get.data, '{"name":"Ada"}')
  t.equal(get.response.headers.get('content-type'), 'application/json')
  t.match(get.response.headers.get('cache-control'), /^max-age=(59|60)$/)

  const head = await client.HEAD('/cache/{key}', { params: { path: { key } } })
  t.equal(head.response.status, 200)
  t.equal(head.response.headers.get('etag'), etag)

  const notModified = await client.GET('/cache/{key}', { params: { path: { key }, header: { 'if-none-match': etag } } })
  t.equal(notModified.response.status, 304)

  const stale = await client.PUT('/cache/{key}', {
    params: { path: { key }, header: { 'if-match': '"stale"' } }, body: Buffer.from('x')
  })
  t.equal(stale.response.status, 412)
  t.equal(stale.error?.type, 'urn:cache-service:problem:precondition-failed', 'errors are typed Problems')

  const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i))
  const binary = await client.PUT('/cache/{key}', {
    params: { path: { key: 'binary' } }, body: bytes
  })
  t.equal(binary.response.status, 201)
  const back = await client.GET('/cache/{key}', { params: { path: { key: 'binary' } }, parseAs: 'arrayBuffer' })
  t.same(Buffer.from(back.data as ArrayBuffer), bytes)

  const deleted = await client.DELETE('/cache/{key}', { params: { path: { key }, header: { 'if-match': etag } } })
  t.equal(deleted.response.status, 204)
  const gone = await client.GET('/cache/{key}', { params: { path: { key } } })
  t.equal(gone.response.status, 404)
  t.equal(gone.error?.status, 404)
})

t.test('tags: a tagged put, then one request removes every entry of the tag', async (t) => {
  for (const key of ['tagged-1', 'tagged-2']) {
    const put = await client.PUT('/cache/{key}', {
      params: { path: { key }, header: { 'cache-tag': 'user:7, pages' } }, body: Buffer.from(key)
    })
    t.equal(put.response.status, 201)
  }
  const invalidated = await client.DELETE('/cache', { params: { query: { tag: 'user:7' } } })
  t.equal(invalidated.response.status, 200)
  t.same(invalidated.data, { removed: 2, markedStale: 0 })
  t.equal((await client.GET('/cache/{key}', { params: { path: { key: 'tagged-1' } } })).response.status, 404)
})

t.test('leases: one caller computes a missing value while another waits for it', async (t) => {
  const params = { path: { key: 'leased' }, header: { 'cache-lease': 'acquire' } }
  const miss = await client.GET('/cache/{key}', { params })
  t.equal(miss.response.status, 404)
  t.equal(miss.response.headers.get('cache-lease'), 'granted; ttl=5')
  const token = miss.response.headers.get('cache-lease-token')!

  const waiting = client.GET('/cache/{key}', {
    params: { path: { key: 'leased' }, header: { prefer: 'wait=5' } }, parseAs: 'text'
  })
  const put = await client.PUT('/cache/{key}', {
    params: { path: { key: 'leased' }, query: { ttl: 60, stale: 30 }, header: { 'cache-lease-token': token } },
    body: Buffer.from('computed')
  })
  t.equal(put.response.status, 201)
  const waited = await waiting
  t.equal(waited.data, 'computed')
  t.match(waited.response.headers.get('cache-status'), /^cache-service; hit; ttl=/)
})

t.test('bulk: put many, get many, delete many', async (t) => {
  const put = await client.POST('/cache-bulk/put', {
    body: {
      entries: [
        { key: 'bulk-1', value: Buffer.from('one').toString('base64'), contentType: 'text/plain', tags: ['bulk'] },
        { key: 'bulk-2', value: Buffer.from('two').toString('base64'), ttlSeconds: 60 }
      ]
    }
  })
  t.same(put.data?.results.map((result) => result.outcome), ['created', 'created'])

  const got = await client.POST('/cache-bulk/get', { body: { keys: ['bulk-2', 'missing', 'bulk-1'] } })
  const entries = got.data!.entries
  t.same(entries.map((entry) => entry.found), [true, false, true])
  t.equal(Buffer.from(entries[2]!.value!, 'base64').toString(), 'one')
  t.equal(entries[2]!.contentType, 'text/plain')
  t.equal(entries[2]!.etag, put.data?.results[0]?.etag)

  const deleted = await client.POST('/cache-bulk/delete', { body: { keys: ['bulk-1', 'missing'] } })
  t.same(deleted.data?.results, [{ key: 'bulk-1', outcome: 'deleted' }, { key: 'missing', outcome: 'not-found' }])

  const keys = Array.from({ length: 101 }, (_, i) => `k${i}`)
  const tooMany = await client.POST('/cache-bulk/get', { body: { keys } })
  t.equal(tooMany.response.status, 400)
  t.equal(tooMany.error?.type, 'urn:cache-service:problem:validation-failed')
})

t.test('sessions: create, read, patch, replace, delete', async (t) => {
  const created = await client.POST('/sessions', { body: { data: { user: 'ada' }, idleTtlSeconds: 600 } })
  t.equal(created.response.status, 201)
  const id = created.data!.id
  t.equal(created.response.headers.get('location'), `/sessions/${id}`)

  const read = await client.GET('/sessions/{id}', { params: { path: { id }, query: { touch: 'false' } } })
  t.same(read.data?.data, { user: 'ada' })

  const patched = await client.PATCH('/sessions/{id}', {
    params: { path: { id }, header: { 'if-match': read.response.headers.get('etag')! } },
    body: { cart: { sku: 2 } },
    headers: { 'content-type': 'application/merge-patch+json' }
  })
  t.equal(patched.response.status, 200)
  t.same(patched.data?.data, { user: 'ada', cart: { sku: 2 } })

  const replaced = await client.PUT('/sessions/{id}', { params: { path: { id } }, body: { data: { user: 'grace' } } })
  t.equal(replaced.response.status, 200)
  t.equal(replaced.data?.createdAt, created.data?.createdAt)

  const wrongType = await client.PATCH('/sessions/{id}', { params: { path: { id } }, body: {} })
  t.equal(wrongType.response.status, 415, 'a merge patch sent as application/json')
  t.equal(wrongType.response.headers.get('accept-patch'), 'application/merge-patch+json')

  t.equal((await client.DELETE('/sessions/{id}', { params: { path: { id } } })).response.status, 204)
  t.equal((await client.GET('/sessions/{id}', { params: { path: { id } } })).response.status, 404)

  const chosen = await client.PUT('/sessions/{id}', {
    params: { path: { id: 'client-chosen-id-0000000001' }, header: { 'if-none-match': '*' } },
    body: { data: {} }
  })
  t.equal(chosen.response.status, 201)
})

t.test('validation errors come back as typed Problems listing each problem', async (t) => {
  const res = await client.PUT('/cache/{key}', {
    params: { path: { key: 'k' }, query: { ttl: 0 } }, body: Buffer.from('x')
  })
  t.equal(res.response.status, 400)
  t.match(res.error, { status: 400, errors: [{ in: 'querystring', path: '/ttl' }] })
})
