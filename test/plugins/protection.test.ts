// Hardening: security headers, CORS only when configured, trusted proxies, and load shedding under pressure.
import t from 'tap'
import { CORS_EXPOSED_HEADERS } from '../../src/http/response-headers.js'
import { buildTestApp, captureLogs } from '../helpers/app.js'

t.test('security headers on every answer; a strict policy for API answers, the page its own', async (t) => {
  const app = await buildTestApp(t)
  const html = { 'content-type': 'text/html' }
  await app.inject({ method: 'PUT', url: '/cache/page', headers: html, payload: '<script>1</script>' })
  const res = await app.inject({ method: 'GET', url: '/cache/page' })
  t.equal(res.headers['x-content-type-options'], 'nosniff')
  t.match(res.headers['content-security-policy'], /default-src 'none'/)
  t.match(res.headers['content-security-policy'], /sandbox/, 'a cached HTML value cannot run scripts in a browser')
  t.ok(res.headers['strict-transport-security'])
  const docs = await app.inject({ method: 'GET', url: '/docs/' })
  t.match(docs.headers['content-security-policy'], /'self'/, 'the docs page runs with its own policy')
})

t.test('no CORS unless configured', async (t) => {
  const app = await buildTestApp(t)
  const res = await app.inject({ method: 'GET', url: '/healthz', headers: { origin: 'https://app.example' } })
  t.equal(res.headers['access-control-allow-origin'], undefined)
  const preflight = await app.inject({
    method: 'OPTIONS', url: '/cache/k', headers: { origin: 'https://app.example', 'access-control-request-method': 'PUT' }
  })
  t.equal(preflight.headers['access-control-allow-origin'], undefined)
})

t.test('CORS_ORIGINS allows exactly those origins, with preflight', async (t) => {
  const app = await buildTestApp(t, { env: { CORS_ORIGINS: 'https://app.example' } })
  const preflight = await app.inject({
    method: 'OPTIONS', url: '/cache/k', headers: { origin: 'https://app.example', 'access-control-request-method': 'PUT' }
  })
  t.equal(preflight.statusCode, 204)
  t.equal(preflight.headers['access-control-allow-origin'], 'https://app.example')
  const get = await app.inject({ method: 'GET', url: '/healthz', headers: { origin: 'https://app.example' } })
  t.equal(get.headers['access-control-allow-origin'], 'https://app.example')
  const exposed = String(get.headers['access-control-expose-headers']).split(/\s*,\s*/)
  t.same(exposed.sort(), [...CORS_EXPOSED_HEADERS].sort(), 'every header of the registry a script may read')
  for (const name of ['ETag', 'Cache-Lease-Token', 'Cache-Status', 'Age']) t.ok(exposed.includes(name), name)
  const other = await app.inject({ method: 'GET', url: '/healthz', headers: { origin: 'https://evil.example' } })
  t.equal(other.headers['access-control-allow-origin'], undefined)
})

t.test('TRUST_PROXY decides whether X-Forwarded-For is believed', async (t) => {
  for (const [trust, expected] of [['false', '127.0.0.1'], ['true', '203.0.113.9']] as const) {
    const logs = captureLogs()
    const app = await buildTestApp(t, { env: { TRUST_PROXY: trust }, logs })
    await app.inject({ method: 'GET', url: '/healthz', headers: { 'x-forwarded-for': '203.0.113.9' } })
    const incoming = logs.lines().find((line) => line.msg === 'incoming request') as { req: { remoteAddress: string } }
    t.equal(incoming.req.remoteAddress, expected, `TRUST_PROXY=${trust}`)
  }
})

t.test('an overloaded event loop sheds load with 503 and Retry-After', async (t) => {
  const app = await buildTestApp(t, { env: { MAX_EVENT_LOOP_DELAY_MS: '50' } })
  await app.ready()
  // Block the event loop for longer than a sampling interval (1 s), so that the sample taken right after it
  // measures the delay; the request that follows meets it.
  const until = Date.now() + 1500
  while (Date.now() < until) { /* busy */ }
  await new Promise((resolve) => setTimeout(resolve, 20))
  const res = await app.inject({ method: 'GET', url: '/cache/k' })
  t.equal(res.statusCode, 503)
  t.equal(res.headers['retry-after'], '1')
  t.match(res.json(), { type: 'urn:cache-service:problem:overloaded', status: 503 })
})
