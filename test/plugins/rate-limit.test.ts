// The per-caller rate limit lives in Redis, so two replicas enforce one shared limit.
import t from 'tap'
import { hashApiKey } from '../../src/auth/api-keys.js'
import { buildMetricsServer } from '../../src/metrics-server.js'
import { buildTestApp } from '../helpers/app.js'
import { startRedis } from '../helpers/redis-server.js'

const redis = await startRedis(t)
const API_KEYS = JSON.stringify([
  { name: 'orders', sha256: hashApiKey('orders-key-0123456789'), scopes: ['cache:read'] },
  { name: 'billing', sha256: hashApiKey('billing-key-0123456789'), scopes: ['cache:read'] }
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
