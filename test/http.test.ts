// HTTP behaviour shared by every route: problem+json errors, 404 and 405, request ids.
import t from 'tap'
import { ISOLATED_CALLERS_ENV } from './helpers/api-keys.js'
import { buildTestApp, captureLogs } from './helpers/app.js'

t.test('an unknown route gets a 404 problem', async (t) => {
  const app = await buildTestApp(t)
  const res = await app.inject({ method: 'GET', url: '/nowhere' })
  t.equal(res.statusCode, 404)
  t.match(res.headers['content-type'], /^application\/problem\+json/)
  t.same(res.json(), {
    type: 'urn:cache-service:problem:route-not-found',
    title: 'No such route',
    status: 404,
    detail: 'No route for GET at this path'
  })
})

t.test('a known route with another method gets 405 and an Allow header', async (t) => {
  const app = await buildTestApp(t)
  for (const [method, url, allow] of [
    ['POST', '/cache/k', 'DELETE, GET, HEAD, PUT'],
    ['PATCH', '/cache/k', 'DELETE, GET, HEAD, PUT'],
    ['DELETE', '/healthz', 'GET'],
    ['PUT', '/readyz', 'GET'],
    ['HEAD', '/sessions/abcdefghijklmnopqrstuvwxyz', 'DELETE, GET, PATCH, PUT'],
    ['DELETE', '/sessions', 'GET, POST'],
    ['GET', '/sessions/abcdefghijklmnopqrstuvwxyz/rotate', 'POST']
  ] as const) {
    const res = await app.inject({ method, url })
    t.equal(res.statusCode, 405, `${method} ${url}`)
    t.equal(res.headers.allow, allow)
    if (method !== 'HEAD') t.match(res.json(), { type: 'urn:cache-service:problem:method-not-allowed', status: 405 })
  }
})

t.test('any method on a known path gets 405, before its body is parsed and before authentication', async (t) => {
  const app = await buildTestApp(t, { env: { ...ISOLATED_CALLERS_ENV } })
  for (const [method, url, headers, allow] of [
    ['QUERY', '/healthz', {}, 'GET'],
    ['QUERY', '/healthz', { 'content-type': 'application/json' }, 'GET'],
    ['POST', '/cache/k', { 'content-type': 'text/plain' }, 'DELETE, GET, HEAD, PUT'],
    ['POST', '/cache/k', { 'content-type': 'no media type' }, 'DELETE, GET, HEAD, PUT'],
    ['PROPFIND', '/cache/k', {}, 'DELETE, GET, HEAD, PUT'],
    ['MKCOL', '/sessions/abcdefghijklmnopqrstuvwxyz', {}, 'DELETE, GET, PATCH, PUT'],
    ['PROPFIND', '/cache?tag=t', {}, 'DELETE']
  ] as const) {
    const res = await app.inject({ method: method as 'GET', url, headers, payload: 'a body' })
    t.equal(res.statusCode, 405, `${method} ${url} ${JSON.stringify(headers)}`)
    t.equal(res.headers.allow, allow)
    t.match(res.json(), { type: 'urn:cache-service:problem:method-not-allowed', status: 405 })
  }
  const unknown = await app.inject({ method: 'PROPFIND' as 'GET', url: '/nowhere' })
  t.equal(unknown.statusCode, 404, 'an unknown path is still a 404, whatever the method')
  t.match(unknown.json(), { type: 'urn:cache-service:problem:route-not-found' })
})

t.test('a validation error lists each problem with where it was found', async (t) => {
  const app = await buildTestApp(t)
  const res = await app.inject({ method: 'PUT', url: `/cache/${'k'.repeat(600)}`, payload: 'x' })
  t.equal(res.statusCode, 400)
  t.match(res.json(), {
    type: 'urn:cache-service:problem:validation-failed',
    title: String,
    status: 400,
    detail: 'The params did not validate',
    errors: [{ in: 'params', path: '/key', message: 'must be 1 to 512 characters, without control characters' }]
  })
})

t.test('a malformed percent-encoding in the path gets a 400 problem', async (t) => {
  const app = await buildTestApp(t)
  const res = await app.inject({ method: 'GET', url: '/cache/%zz' })
  t.equal(res.statusCode, 400)
  t.match(res.headers['content-type'], /^application\/problem\+json/)
})

t.test('the request id comes from x-request-id, is echoed, and is in every log line of the request', async (t) => {
  const logs = captureLogs()
  const app = await buildTestApp(t, { logs })
  const res = await app.inject({ method: 'GET', url: '/healthz', headers: { 'x-request-id': 'trace-123' } })
  t.equal(res.headers['x-request-id'], 'trace-123')
  const lines = logs.lines().filter((line) => line.reqId === 'trace-123')
  t.ok(lines.some((line) => line.msg === 'incoming request'))
  t.ok(lines.some((line) => line.msg === 'request completed'))
})

t.test('without a usable x-request-id, one is generated', async (t) => {
  const app = await buildTestApp(t)
  const generated = await app.inject({ method: 'GET', url: '/healthz' })
  t.match(generated.headers['x-request-id'], /^[0-9a-f-]{36}$/)
  const hostile = await app.inject({ method: 'GET', url: '/healthz', headers: { 'x-request-id': 'a b\u00e9"}{' } })
  t.match(hostile.headers['x-request-id'], /^[0-9a-f-]{36}$/, 'an id with spaces or quotes is replaced')
  const long = await app.inject({ method: 'GET', url: '/healthz', headers: { 'x-request-id': 'x'.repeat(129) } })
  t.match(long.headers['x-request-id'], /^[0-9a-f-]{36}$/, 'an overlong id is replaced')
  t.ok(long.headers['x-request-id'] !== generated.headers['x-request-id'])
})

t.test('liveness answers without touching the store', async (t) => {
  const app = await buildTestApp(t)
  const res = await app.inject({ method: 'GET', url: '/healthz' })
  t.equal(res.statusCode, 200)
  t.same(res.json(), { status: 'ok' })
})

t.test('a DELETE is answered for what it asks, whatever body or Content-Type a client sends with it', async (t) => {
  const app = await buildTestApp(t)
  for (const headers of [
    { 'content-type': 'application/json', 'content-length': '0' },
    { 'content-type': 'text/plain', 'content-length': '0' },
    { 'content-type': '' },
    { 'content-type': 'application/json' }
  ]) {
    const created = await app.inject({
      method: 'POST', url: '/sessions', headers: { 'content-type': 'application/json' }, payload: { data: {} }
    })
    const { id } = created.json() as { id: string }
    await app.inject({ method: 'PUT', url: '/cache/k', payload: 'v' })
    const what = JSON.stringify(headers)
    t.equal((await app.inject({ method: 'DELETE', url: `/sessions/${id}`, headers })).statusCode, 204, what)
    t.equal((await app.inject({ method: 'DELETE', url: '/cache/k', headers })).statusCode, 204, what)
  }
  const withBody = await app.inject({
    method: 'DELETE', url: '/cache/k', headers: { 'content-type': 'application/json' }, payload: '{"not":"read"}'
  })
  t.equal(withBody.statusCode, 404, 'a body is not read: the entry is simply gone already')
})
