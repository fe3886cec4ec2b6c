// Redis going away and coming back: requests fail fast with 503 and Retry-After, and service resumes by itself.
import { setTimeout as sleep } from 'node:timers/promises'
import type { FastifyInstance } from 'fastify'
import t, { type Test } from 'tap'
import { bearer, ISOLATED_CALLERS_ENV, WRITER_A } from '../helpers/api-keys.js'
import { buildTestApp } from '../helpers/app.js'
import { startRedis } from '../helpers/redis-server.js'

const COMMAND_TIMEOUT_MS = 300
const TIMEOUT = String(COMMAND_TIMEOUT_MS)
// The promise is an answer within the timeout; the rest is room for a busy machine, well short of a second wait.
const ANSWER_BOUND_MS = COMMAND_TIMEOUT_MS + 250

async function timed (app: FastifyInstance, method: 'GET' | 'PUT', url: string) {
  const started = Date.now()
  const res = await app.inject({ method, url, payload: method === 'PUT' ? 'v' : undefined })
  return { res, ms: Date.now() - started }
}

async function waitUntilReady (app: FastifyInstance): Promise<void> {
  const deadline = Date.now() + 15_000
  while (Date.now() < deadline) {
    if ((await app.inject({ method: 'GET', url: '/readyz' })).statusCode === 200) return
    await sleep(100)
  }
  throw new Error('the app did not become ready again')
}

function assertUnavailable (t: Test, { res, ms }: Awaited<ReturnType<typeof timed>>, what: string) {
  t.equal(res.statusCode, 503, `${what}: 503`)
  t.equal(res.headers['retry-after'], '1', `${what}: Retry-After`)
  t.match(res.headers['content-type'], /^application\/problem\+json/)
  t.match(res.json(), { type: 'urn:cache-service:problem:store-unavailable', status: 503 })
  t.ok(ms < ANSWER_BOUND_MS, `${what}: answered in ${ms} ms rather than waiting for Redis`)
}

t.test('a killed Redis gives fast 503s; a restarted one is used again without restarting the app', async (t) => {
  const redis = await startRedis(t)
  const app = await buildTestApp(t, { env: { REDIS_URL: redis.url, REDIS_COMMAND_TIMEOUT_MS: TIMEOUT } })
  t.equal((await timed(app, 'PUT', '/cache/before')).res.statusCode, 201)

  await redis.kill()
  assertUnavailable(t, await timed(app, 'GET', '/cache/before'), 'GET')
  assertUnavailable(t, await timed(app, 'PUT', '/cache/during'), 'PUT')
  assertUnavailable(t, await timed(app, 'GET', '/readyz'), 'readiness')
  const burst = await Promise.all(Array.from({ length: 20 }, () => timed(app, 'GET', '/cache/before')))
  t.same(burst.map(({ res }) => res.statusCode), Array(20).fill(503), 'a burst fails as fast, nothing queues')
  t.equal((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200, 'the process itself stays live')

  await redis.restart()
  await waitUntilReady(app)
  t.equal((await timed(app, 'PUT', '/cache/after')).res.statusCode, 201)
  t.equal((await timed(app, 'GET', '/cache/after')).res.statusCode, 200)
})

t.test('a hung Redis gives 503 after the command timeout; it recovers when Redis answers again', async (t) => {
  const redis = await startRedis(t)
  const app = await buildTestApp(t, { env: { REDIS_URL: redis.url, REDIS_COMMAND_TIMEOUT_MS: TIMEOUT } })
  t.equal((await timed(app, 'PUT', '/cache/before')).res.statusCode, 201)

  redis.pause()
  const hung = await timed(app, 'GET', '/cache/before')
  assertUnavailable(t, hung, 'GET')
  t.ok(hung.ms >= COMMAND_TIMEOUT_MS - 50, 'it waited for the command timeout first')
  assertUnavailable(t, await timed(app, 'GET', '/readyz'), 'readiness')

  redis.resume()
  await waitUntilReady(app)
  const read = await timed(app, 'GET', '/cache/before')
  t.equal(read.res.statusCode, 200)
  t.equal(read.res.body, 'v', 'what was acknowledged before the hang is still there')
})

t.test('one request, one deadline: with API keys and the shared rate limit, a hung Redis answers every concurrent ' +
  'read and write within the command timeout, not once for the counter and again for the store', async (t) => {
  const redis = await startRedis(t)
  const timeoutMs = 1000
  const app = await buildTestApp(t, {
    env: { ...ISOLATED_CALLERS_ENV, REDIS_URL: redis.url, REDIS_COMMAND_TIMEOUT_MS: String(timeoutMs) }
  })
  const send = async (i: number) => {
    const started = Date.now()
    const res = await app.inject(i % 3 === 0
      ? { method: 'PUT', url: `/cache/k${i}`, headers: bearer(WRITER_A), payload: 'v' }
      : { method: 'GET', url: `/cache/k${i}`, headers: bearer(WRITER_A) })
    return { res, ms: Date.now() - started }
  }
  t.equal((await send(1)).res.statusCode, 404, 'counted and read while Redis answers')
  redis.pause()
  // Reads and writes mixed: with auto-pipelining, a command waits unwritten while the connection's pipeline is in
  // flight, so without a deadline of its own each batch waited for the one before it to time out.
  const answers = await Promise.all(Array.from({ length: 30 }, async (_, i) => await send(i)))
  redis.resume()
  t.same(answers.map(({ res }) => res.statusCode), Array(30).fill(503))
  t.ok(answers.every(({ res }) => res.headers['retry-after'] === '1'), 'each with Retry-After')
  const slowest = Math.max(...answers.map(({ ms }) => ms))
  t.ok(slowest < timeoutMs * 1.5, `the slowest answered in ${slowest} ms, within the ${timeoutMs} ms timeout ` +
    '(twice it before: the counter\'s wait, then the store\'s)')
})
