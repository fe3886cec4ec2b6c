// The per-caller rate limit lives in Redis, so two replicas enforce one shared limit.
import t from 'tap'
import { hashApiKey } from '../../src/auth/api-keys.js'
import { buildMetricsServer } from '../../src/metrics-server.js'
import { buildTestApp } from '../helpers/app.js'
import { startRedis } from '../helpers/redis-server.js'

const redis = await startRedis(t)
const API_KEYS = JSON.stringify([
  { name: 'orders', sha256: hashApiKey('orders-key-0123456789'), scopes: ['cache:read'] },
  { name: 'billing', sha256: hashApiKey('billing-key-0123456789'), scopes: ['cache:read'] },
  { name: 'reports', sha256: hashApiKey('reports-key-0123456789'), scopes: ['cache:read'] }
])
const env = { REDIS_URL: redis.url, AUTH_MODE: 'api-key', API_KEYS, RATE_LIMIT_MAX: '5', RATE_LIMIT_WINDOW_MS: '60000' }
const replicaA = await buildTestApp(t, { env })
const replicaB = await buildTestApp(t, { env })
const as = (key: string) => ({ authorization: `Bearer ${key}` })

t.test('the limit is shared by every replica, per caller', async (t) => {
  const statuses: number[] = []
  for (let i = 0; i < 6; i++) {
    const replica = i % 2 === 0 ? replicaA : replicaB
    const res = await replica.inject({ method: 'GET', url: '/cache/k', headers: as('orders-key-0123456789') })
    statuses.push(res.statusCode)
  }
  t.same(statuses, [404, 404, 404, 404, 404, 429], 'five requests across both replicas, then 429')

  const limited = await replicaA.inject({ method: 'GET', url: '/cache/k', headers: as('orders-key-0123456789') })
  t.equal(limited.statusCode, 429)
  t.match(limited.headers['retry-after'], /^\d+$/)
  t.equal(limited.headers['ratelimit-limit'], '5')
  t.equal(limited.headers['ratelimit-remaining'], '0')
  t.match(limited.headers['content-type'], /^application\/problem\+json/)
  t.match(limited.json(), { type: 'urn:cache-service:problem:rate-limited', status: 429 })

  const other = await replicaB.inject({ method: 'GET', url: '/cache/k', headers: as('billing-key-0123456789') })
  t.equal(other.statusCode, 404, 'another caller has a limit of its own')
  t.equal(other.headers['ratelimit-remaining'], '4')
  t.equal((await replicaA.inject({ method: 'GET', url: '/healthz' })).statusCode, 200, 'probes are never limited')

  const metrics = await buildMetricsServer(replicaA).inject({ method: 'GET', url: '/metrics' })
  t.match(metrics.body, /^rate_limited_requests_total [1-9]/m, 'counted in the metrics')
})

t.test('without authentication, each client address has a limit of its own', async (t) => {
  const open = await buildTestApp(t, { env: { REDIS_URL: redis.url, AUTH_MODE: 'none', RATE_LIMIT_MAX: '3' } })
  const from = async (remoteAddress: string) =>
    (await open.inject({ method: 'GET', url: '/cache/anonymous', remoteAddress })).statusCode
  const first = []
  for (let i = 0; i < 4; i++) first.push(await from('10.1.0.1'))
  t.same(first, [404, 404, 404, 429], 'one client uses up its own limit')
  t.equal(await from('10.1.0.2'), 404, 'and another client is not affected')
})

t.test('the default limit never throttles a busy caller', async (t) => {
  // No RATE_LIMIT_MAX: the default with Redis, as a service gets it out of the box.
  const defaults = await buildTestApp(t, { env: { REDIS_URL: redis.url, AUTH_MODE: 'api-key', API_KEYS } })
  const statuses = new Map<number, number>()
  // 1,200 requests in a few seconds, beyond "a few hundred a second": the old default (1,000 a minute) refused 200.
  for (let batch = 0; batch < 12; batch++) {
    const responses = await Promise.all(Array.from({ length: 100 }, () =>
      defaults.inject({ method: 'GET', url: '/cache/busy', headers: as('orders-key-0123456789') })))
    for (const res of responses) statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1)
  }
  t.same(Object.fromEntries(statuses), { 404: 1200 }, 'no 429 at all')
  const last = await defaults.inject({ method: 'GET', url: '/cache/busy', headers: as('orders-key-0123456789') })
  t.equal(last.headers['ratelimit-limit'], '100000', 'the default is 100,000 a minute per caller')
})

t.test('with budgets, two replicas admit exactly the shared limit between them', async (t) => {
  const budgets = { ...env, RATE_LIMIT_MAX: '300', RATE_LIMIT_BUDGET_PERCENT: '10' }
  const replicas = [await buildTestApp(t, { env: budgets }), await buildTestApp(t, { env: budgets })]
  const statuses = new Map<number, number>()
  const remaining: number[] = []
  for (let wave = 0; wave < 8; wave++) {
    const responses = await Promise.all(Array.from({ length: 50 }, async (_, i) =>
      await replicas[i % 2]!.inject({ method: 'GET', url: '/cache/budget', headers: as('reports-key-0123456789') })))
    for (const res of responses) {
      statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1)
      remaining.push(Number(res.headers['ratelimit-remaining']))
    }
  }
  t.same(Object.fromEntries(statuses), { 404: 300, 429: 100 }, '300 admitted of 400, across both replicas')
  t.ok(remaining.every((left) => left >= 0 && left < 300), 'RateLimit-Remaining stays within the limit')
})

t.test('without Redis, each replica counts its own limit, with the same headers and 429', async (t) => {
  const local = await buildTestApp(t, { env: { AUTH_MODE: 'api-key', API_KEYS, RATE_LIMIT_MAX: '2' } })
  const responses = []
  for (let i = 0; i < 3; i++) {
    responses.push(await local.inject({ method: 'GET', url: '/cache/k', headers: as('orders-key-0123456789') }))
  }
  t.same(responses.map((res) => res.statusCode), [404, 404, 429])
  t.same(responses.map((res) => res.headers['ratelimit-remaining']), ['1', '0', '0'])
  const [first, , limited] = responses
  t.equal(first!.headers['ratelimit-limit'], '2')
  t.match(first!.headers['ratelimit-reset'], /^\d+$/)
  t.notOk(first!.headers['retry-after'], 'Retry-After only on a refusal')
  t.match(limited!.headers['retry-after'], /^[1-9]\d*$/)
  t.match(limited!.json(), { type: 'urn:cache-service:problem:rate-limited', status: 429 })
  t.equal((await local.inject({ method: 'GET', url: '/healthz' })).statusCode, 200, 'probes are never limited')
})
