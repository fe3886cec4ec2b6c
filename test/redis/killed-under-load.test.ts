// Redis killed in the middle of a write load, with persistence on (appendonly, fsync always), as a managed Redis
// with persistence would be: every request gets a quick answer, the service resumes within 2 s of Redis's return
// without a restart, and no write that got a 2xx is lost. The acknowledged writes are replayed against Redis after.
import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { buildTestApp } from '../helpers/app.js'
import { startRedis } from '../helpers/redis-server.js'

const COMMAND_TIMEOUT_MS = 300
const WORKERS = 16
// The promise is the command timeout; the rest is room for sixteen workers on a busy CI machine (a killed Redis is
// refused at once, so the slowest answer is usually a tenth of this).
const ANSWER_BOUND_MS = COMMAND_TIMEOUT_MS + 700

t.test('killed under load: quick answers, recovery within 2 s, and every acknowledged write kept', async (t) => {
  const redis = await startRedis(t, { args: ['--appendonly', 'yes', '--appendfsync', 'always'] })
  const app = await buildTestApp(t, {
    env: { REDIS_URL: redis.url, REDIS_COMMAND_TIMEOUT_MS: String(COMMAND_TIMEOUT_MS) }
  })
  const acknowledged = new Map<string, string>()
  const statuses = new Map<number, number>()
  let slowest = 0
  let withoutRetryAfter = 0
  // Shared with the workers, which run while this function awaits.
  const run: { going: boolean, restartedAt?: number, firstStoredAfterRestart?: number } = { going: true }

  const worker = async (w: number) => {
    for (let i = 0; run.going; i++) {
      const key = `w${w}-${i}`
      const value = `${key}:${Math.random().toString(36).slice(2)}`
      const started = Date.now()
      const res = await app.inject({ method: 'PUT', url: `/cache/${key}`, payload: value })
      slowest = Math.max(slowest, Date.now() - started)
      statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1)
      if (res.statusCode === 201) {
        acknowledged.set(key, value)
        if (run.restartedAt !== undefined) run.firstStoredAfterRestart ??= Date.now()
      } else {
        if (res.headers['retry-after'] !== '1') withoutRetryAfter++
        await sleep(20)
      }
    }
  }
  const load = Array.from({ length: WORKERS }, async (_, w) => await worker(w))

  await sleep(500)
  const beforeKill = acknowledged.size
  await redis.kill()
  await sleep(700)
  t.equal((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200, 'the process stays up')
  await redis.restart()
  run.restartedAt = Date.now()
  const deadline = Date.now() + 10_000
  while (run.firstStoredAfterRestart === undefined && Date.now() < deadline) await sleep(20)
  await sleep(300)
  run.going = false
  await Promise.all(load)

  t.ok(beforeKill > 50, `${beforeKill} writes acknowledged before the kill`)
  t.ok((statuses.get(503) ?? 0) > 0, `${statuses.get(503)} writes refused while Redis was down`)
  t.same([...statuses.keys()].sort(), [201, 503], 'no status but 201 and 503')
  t.equal(withoutRetryAfter, 0, 'every 503 says when to retry')
  t.ok(slowest < ANSWER_BOUND_MS, `the slowest answer took ${slowest} ms`)
  const recoveryMs = (run.firstStoredAfterRestart ?? Infinity) - run.restartedAt
  t.ok(recoveryMs < 2000, `writes were stored again ${recoveryMs} ms after Redis returned`)

  // Replay: every acknowledged write is in Redis, with the value it was acknowledged with.
  const admin = redis.admin()
  const pipeline = admin.pipeline()
  for (const key of acknowledged.keys()) pipeline.hget(`cache-service:cache:${key}`, 'v')
  const found = (await pipeline.exec())!.map(([, value]) => value)
  const lost = [...acknowledged].filter(([, value], i) => found[i] !== value).map(([key]) => key)
  t.same(lost, [], `none of ${acknowledged.size} acknowledged writes was lost`)
})
