// Readers waiting for a lease (Prefer: wait) cost the process a timer each, so what they can hold is bounded: a
// wait ends the moment its client goes away, waiters are capped per process and per caller, and when Redis stops
// answering every waiter gets its 503 within about the command timeout, not at the end of its wait.
import { connect, type Socket } from 'node:net'
import type { FastifyInstance } from 'fastify'
import t, { type Test } from 'tap'
import type { RedisCacheStore } from '../../src/store/redis-cache-store.js'
import { bearer, ISOLATED_CALLERS_ENV, WRITER_A, WRITER_B } from '../helpers/api-keys.js'
import { buildTestApp } from '../helpers/app.js'
import { startRedis, type RedisServer } from '../helpers/redis-server.js'
import { until } from '../helpers/until.js'

// Long enough that answering 50 waiters on a loaded 2-core machine (200-300 ms) stays well within the bound below,
// which a wait of two timeouts in a row still breaks: at 500 ms a CI run under full load measured 1264 ms.
const COMMAND_TIMEOUT_MS = 1000

async function appOn (t: Test, redis: RedisServer, env: Record<string, string> = {}) {
  return await buildTestApp(t, {
    env: { REDIS_URL: redis.url, REDIS_COMMAND_TIMEOUT_MS: String(COMMAND_TIMEOUT_MS), RATE_LIMIT_MAX: '0', ...env }
  })
}
const waiters = (app: FastifyInstance) => (app.cacheStore as RedisCacheStore).waiterCount
const takeLease = async (t: Test, app: FastifyInstance, key: string, headers: Record<string, string> = {}) => {
  const res = await app.inject({
    method: 'GET', url: `/cache/${key}`, headers: { 'cache-lease': 'acquire; ttl=60', ...headers }
  })
  t.equal(res.headers['cache-lease'], 'granted; ttl=60')
}

t.test('thousands of abandoned waiters are gone as soon as their clients are', async (t) => {
  const redis = await startRedis(t)
  // Every one of them is the same (anonymous) caller, whose default cap is 1000.
  const app = await appOn(t, redis, { CACHE_LEASE_MAX_WAITERS_PER_CALLER: '10000' })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as { port: number }
  await takeLease(t, app, 'hot')

  const CLIENTS = 2000
  const sockets: Socket[] = []
  for (let i = 0; i < CLIENTS; i++) {
    const socket = connect(port, '127.0.0.1')
    socket.on('error', () => {})
    socket.write('GET /cache/hot HTTP/1.1\r\nHost: cache\r\nPrefer: wait=60\r\n\r\n')
    sockets.push(socket)
  }
  await until(() => waiters(app) === CLIENTS, `${CLIENTS} waiters`, { timeoutMs: 30_000 })
  const heapWithWaiters = process.memoryUsage().heapUsed
  for (const socket of sockets) socket.destroy()
  const started = performance.now()
  await until(() => waiters(app) === 0, 'every waiter to end with its client', { timeoutMs: 5000 })
  t.pass(`${CLIENTS} abandoned waits ended ${(performance.now() - started).toFixed(0)} ms after their clients left ` +
    `(heap with them: ${(heapWithWaiters / 2 ** 20).toFixed(0)} MiB)`)
})

t.test('waiting is capped per caller and per process; past a cap a reader is answered at once', async (t) => {
  const redis = await startRedis(t)
  const app = await appOn(t, redis, {
    ...ISOLATED_CALLERS_ENV,
    KEY_ISOLATION: 'none',
    CACHE_LEASE_MAX_WAITERS: '5',
    CACHE_LEASE_MAX_WAITERS_PER_CALLER: '3'
  })
  await takeLease(t, app, 'capped', bearer(WRITER_A))
  const wait = async (key: string) => await app.inject({
    method: 'GET',
    url: `/cache/${key}`,
    headers: { prefer: 'wait=30', ...bearer(key === 'capped' ? WRITER_A : WRITER_B) }
  })
  const a = [wait('capped'), wait('capped'), wait('capped')]
  await until(() => waiters(app) === 3, 'three waiters of one caller')
  const fourth = await wait('capped')
  t.equal(fourth.statusCode, 404, 'a fourth wait of the same caller is answered at once')
  t.equal(fourth.headers['preference-applied'], undefined, 'without having waited')
  t.equal(fourth.headers['cache-lease'], 'held; ttl=60', 'and told the lease is held')

  await takeLease(t, app, 'other', bearer(WRITER_B))
  const b = [wait('other'), wait('other')]
  await until(() => waiters(app) === 5, 'five waiters in all')
  const sixth = await wait('other')
  t.equal(sixth.headers['preference-applied'], undefined, 'the process cap answers another caller at once too')

  await app.inject({ method: 'PUT', url: '/cache/capped', payload: 'a', headers: bearer(WRITER_A) })
  await app.inject({ method: 'PUT', url: '/cache/other', payload: 'b', headers: bearer(WRITER_B) })
  const answered = await Promise.all([...a, ...b])
  t.same(answered.map((res) => res.statusCode), [200, 200, 200, 200, 200], 'the waiters within the caps get the value')
  t.equal(waiters(app), 0)
})

for (const outage of ['killed', 'hung'] as const) {
  t.test(`Redis ${outage}: every waiter gets 503 with Retry-After within about the command timeout`, async (t) => {
    const redis = await startRedis(t)
    const app = await appOn(t, redis)
    await takeLease(t, app, 'stuck')
    const WAITERS = 50
    const waiting = Array.from({ length: WAITERS }, async () => {
      const res = await app.inject({ method: 'GET', url: '/cache/stuck', headers: { prefer: 'wait=30' } })
      return { res, at: performance.now() }
    })
    await until(() => waiters(app) === WAITERS, `${WAITERS} waiters`)
    const started = performance.now()
    if (outage === 'killed') await redis.kill()
    else redis.pause()
    const answers = await Promise.all(waiting)
    if (outage === 'hung') redis.resume()
    const slowest = Math.max(...answers.map(({ at }) => at - started))
    t.same(answers.map(({ res }) => res.statusCode), Array(WAITERS).fill(503), 'every waiter is told')
    t.ok(answers.every(({ res }) => res.headers['retry-after'] !== undefined), 'with Retry-After')
    // The health check runs every tenth of the timeout and itself times out at the timeout: at most 1.1 times it,
    // and some room for a busy machine; the waits themselves were 30 s.
    t.ok(slowest < 2 * COMMAND_TIMEOUT_MS, `the slowest answer came ${slowest.toFixed(0)} ms after Redis was ${outage}`)
  })
}
