// Every refusal is limited: failed authentication per client address (before any verification work), and 403,
// 400, 413 and 415 against the caller's own limit. Counted in Redis, so shared by replicas.
import t from 'tap'
import { hashApiKey } from '../../src/auth/api-keys.js'
import { buildTestApp } from '../helpers/app.js'
import { startRedis } from '../helpers/redis-server.js'

const redis = await startRedis(t)
const READER = 'reader-key-0123456789'
const WRITER = 'writer-key-0123456789'
const API_KEYS = JSON.stringify([
  { name: 'reader', sha256: hashApiKey(READER), scopes: ['cache:read'] },
  { name: 'writer', sha256: hashApiKey(WRITER), scopes: ['cache:write', 'sessions:write'] }
])
const env = { REDIS_URL: redis.url, AUTH_MODE: 'api-key', API_KEYS, RATE_LIMIT_MAX: '3', AUTH_FAILURE_MAX: '3' }
const bearer = (key: string) => ({ authorization: `Bearer ${key}` })

t.beforeEach(async () => { await redis.admin().flushall() })

t.test('failed authentication is limited per client address, across replicas', async (t) => {
  const replicaA = await buildTestApp(t, { env })
  const replicaB = await buildTestApp(t, { env })
  const statuses: number[] = []
  for (let i = 0; i < 6; i++) {
    const replica = i % 2 === 0 ? replicaA : replicaB
    const res = await replica.inject({ method: 'GET', url: '/cache/k', headers: bearer(`wrong-key-${i}`) })
    statuses.push(res.statusCode)
  }
  t.same(statuses, [401, 401, 401, 429, 429, 429], 'three failures across both replicas, then 429')

  const blocked = await replicaA.inject({ method: 'GET', url: '/cache/k', headers: bearer('wrong-key-again') })
  t.equal(blocked.statusCode, 429)
  t.match(blocked.headers['retry-after'], /^[1-9]\d*$/)
  t.notOk(blocked.headers['www-authenticate'], 'no challenge: the address must wait, whatever it sends')
  t.match(blocked.json(), { type: 'urn:cache-service:problem:rate-limited', status: 429 })

  const missing = await replicaA.inject({ method: 'GET', url: '/cache/k' })
  t.equal(missing.statusCode, 429, 'no credential at all is refused too while the address is blocked')
  const other = await replicaA.inject({
    method: 'GET', url: '/cache/k', headers: bearer(READER), remoteAddress: '10.0.0.2'
  })
  t.equal(other.statusCode, 404, 'another address is not affected')
  const keys = await redis.admin().keys('*auth-failures*')
  t.ok(keys.some((key) => key.endsWith('auth-failures:127.0.0.1')), 'the count lives in Redis, per address')
})

t.test('requests without any credential count as failures too', async (t) => {
  const app = await buildTestApp(t, { env })
  const statuses = []
  for (let i = 0; i < 4; i++) statuses.push((await app.inject({ method: 'GET', url: '/cache/k' })).statusCode)
  t.same(statuses, [401, 401, 401, 429])
})

t.test('a blocked address costs no verification: the key is not even checked', async (t) => {
  const app = await buildTestApp(t, { env })
  for (let i = 0; i < 4; i++) await app.inject({ method: 'GET', url: '/cache/k', headers: bearer('wrong-key') })
  const valid = await app.inject({ method: 'GET', url: '/cache/k', headers: bearer(READER) })
  t.equal(valid.statusCode, 429, 'a valid key from the blocked address waits like the rest')
})

t.test('403 counts against the caller', async (t) => {
  const app = await buildTestApp(t, { env })
  const statuses = []
  for (let i = 0; i < 6; i++) {
    const res = await app.inject({ method: 'PUT', url: '/cache/k', headers: bearer(READER), payload: 'v' })
    statuses.push(res.statusCode)
  }
  t.same(statuses, [403, 403, 403, 429, 429, 429])
  t.equal(await redis.admin().exists('cache-service:cache:k'), 0, 'nothing was stored')
})

t.test('400, 413 and 415 count against the caller', async (t) => {
  const app = await buildTestApp(t, { env: { ...env, CACHE_MAX_VALUE_BYTES: '4', RATE_LIMIT_MAX: '4' } })
  const refusals = [
    { method: 'PUT' as const, url: '/cache/k?ttl=-1', payload: 'v' },
    { method: 'PUT' as const, url: '/cache/k', payload: 'too large' },
    { method: 'POST' as const, url: '/sessions', payload: 'x', headers: { 'content-type': 'text/plain' } },
    { method: 'POST' as const, url: '/sessions', payload: '{', headers: { 'content-type': 'application/json' } }
  ]
  const statuses = []
  for (const request of refusals) {
    const res = await app.inject({ ...request, headers: { ...request.headers, ...bearer(WRITER) } })
    statuses.push(res.statusCode)
  }
  t.same(statuses, [400, 413, 415, 400])
  const next = await app.inject({ method: 'PUT', url: '/cache/k', headers: bearer(WRITER), payload: 'v' })
  t.equal(next.statusCode, 429, 'the caller used its limit on refused requests')
})

t.test('AUTH_FAILURE_MAX=0 turns the failure limit off', async (t) => {
  const app = await buildTestApp(t, { env: { ...env, AUTH_FAILURE_MAX: '0' } })
  const statuses = new Set<number>()
  for (let i = 0; i < 6; i++) statuses.add((await app.inject({ method: 'GET', url: '/cache/k' })).statusCode)
  t.same([...statuses], [401])
})
