// The shared rate limit's budgets (redis/rate-limit-store.ts), as two replicas on one real Redis use them: never more
// than the limit admitted in a window, all of it admitted when both keep asking, far fewer round trips than requests,
// nothing of a window used after it ends, and a bounded number of callers held.
import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import type { Redis } from 'ioredis'
import { SharedBudgets } from '../../src/redis/rate-limit-store.js'
import { StoreUnavailableError } from '../../src/store/types.js'
import { startRedis } from '../helpers/redis-server.js'
import { until } from '../helpers/until.js'

const redis = await startRedis(t)

type Answer = { current: number, ttl: number } | Error

/** One replica: a client of its own and a store of its own, as a pod has. */
function replica (budgetPercent: number, budgetKeys = 10_000): SharedBudgets {
  const client = redis.admin()
  // The service's own client has a command timeout; the store's calls are bounded by it (callRedis).
  client.options.commandTimeout = 500
  return new SharedBudgets(client, 'test:rate-limit:', { budgetPercent, budgetKeys })
}

const incr = async (store: SharedBudgets, key: string, windowMs: number, max: number) =>
  await new Promise<Answer>((resolve) => {
    store.incr(key, (err, result) => { resolve(err ?? result!) }, windowMs, max)
  })

/** Round trips the stores made: the grant script's calls, by EVALSHA or EVAL. */
async function grantsCalled (admin: Redis): Promise<number> {
  const stats = await admin.info('commandstats')
  return [...stats.matchAll(/^cmdstat_eval(?:sha)?:calls=(\d+)/gm)].reduce((sum, [, calls]) => sum + Number(calls), 0)
}

const admitted = (answers: Answer[], max: number) =>
  answers.filter((answer) => !(answer instanceof Error) && answer.current <= max).length

t.test('two replicas admit exactly the limit between them, in far fewer round trips than requests', async (t) => {
  const admin = redis.admin()
  const [a, b] = [replica(10), replica(10)]
  const before = await grantsCalled(admin)
  const answers: Answer[] = []
  // Waves of concurrent requests, alternating replicas, three times the limit in all.
  for (let wave = 0; wave < 60; wave++) {
    answers.push(...await Promise.all(Array.from({ length: 50 }, async (_, i) =>
      await incr(i % 2 === 0 ? a : b, 'caller:shared', 60_000, 1000))))
  }
  t.equal(answers.filter((answer) => answer instanceof Error).length, 0, 'no request failed')
  t.equal(admitted(answers, 1000), 1000, 'exactly the limit was admitted, across both replicas')
  const grants = await grantsCalled(admin) - before
  t.ok(grants <= 60, `${grants} round trips to Redis for 3000 requests (budgets of up to 100)`)
  t.ok(answers.every((answer) => answer instanceof Error || answer.ttl > 0), 'every answer says when the window ends')

  const afterwards = await grantsCalled(admin)
  const refused = await Promise.all(Array.from({ length: 100 }, async () =>
    await incr(a, 'caller:shared', 60_000, 1000)))
  t.equal(admitted(refused, 1000), 0, 'the window is used up')
  t.equal(await grantsCalled(admin) - afterwards, 0, 'and refusing costs no round trip until it ends')
})

t.test('with no budget, every request is counted in Redis as it comes, as without budgets', async (t) => {
  const admin = redis.admin()
  const [a, b] = [replica(0), replica(0)]
  const before = await grantsCalled(admin)
  const answers = await Promise.all(Array.from({ length: 40 }, async (_, i) =>
    await incr(i % 2 === 0 ? a : b, 'caller:exact', 60_000, 30)))
  t.equal(admitted(answers, 30), 30)
  t.equal(await admin.get('test:rate-limit:caller:exact'), '40', 'the counter holds every request')
  t.equal(await grantsCalled(admin) - before, 40, 'one round trip each')
  // Refused from now on; once this replica has seen the window used up (one more call at most, if every count it
  // was answered was below the limit), without asking Redis.
  t.match(await incr(a, 'caller:exact', 60_000, 30), { current: 31 }, 'then refused')
  const seen = await grantsCalled(admin)
  t.match(await incr(a, 'caller:exact', 60_000, 30), { current: 31 }, 'and again')
  t.equal(await grantsCalled(admin), seen, 'locally')
})

t.test('what a replica took of a window is never used after the window ends', async (t) => {
  const admin = redis.admin()
  const store = replica(25)
  // Enough requests for budgets to grow: the replica now holds requests it has taken and not used.
  const first = await Promise.all(Array.from({ length: 20 }, async () => await incr(store, 'caller:short', 300, 100)))
  t.equal(admitted(first, 100), 20)
  const taken = Number(await admin.get('test:rate-limit:caller:short'))
  t.ok(taken > 20, `the replica took ${taken} requests of the window for 20`)

  await new Promise((resolve) => setTimeout(resolve, 400))
  t.equal(await admin.exists('test:rate-limit:caller:short'), 0, 'the window ended in Redis')
  const next = await incr(store, 'caller:short', 300, 100)
  t.match(next, { current: 1 }, 'the next request opens a new window')
  t.equal(await admin.get('test:rate-limit:caller:short'), '1', 'counted in Redis: the old budget was dropped')
})

t.test('a window used up elsewhere is refused here once this replica\'s budget is spent', async (t) => {
  const [a, b] = [replica(10), replica(10)]
  // a takes budgets while b uses up the rest of the window.
  const fromA = await Promise.all(Array.from({ length: 10 }, async () => await incr(a, 'caller:split', 60_000, 200)))
  t.equal(admitted(fromA, 200), 10)
  const fromB = []
  for (let i = 0; i < 300; i++) fromB.push(await incr(b, 'caller:split', 60_000, 200))
  const more = []
  for (let i = 0; i < 300; i++) more.push(await incr(a, 'caller:split', 60_000, 200))
  t.equal(admitted(fromA, 200) + admitted(fromB, 200) + admitted(more, 200), 200, 'never past the limit')
  t.ok(admitted(more, 200) > 0, 'a still spent what it had taken')
})

t.test('the callers a replica holds budgets for are bounded', async (t) => {
  const store = replica(10, 100)
  await Promise.all(Array.from({ length: 1000 }, async (_, i) => await incr(store, `address:${i}`, 60_000, 1000)))
  t.equal(store.held, 100, '1000 callers seen, 100 held')
  const again = await incr(store, 'address:0', 60_000, 1000)
  t.match(again, { current: 2 }, 'a caller forgotten is counted again from Redis, as before')
})

t.test('a hung Redis fails every waiting request with the store\'s error, within one command timeout', async (t) => {
  const store = replica(10)
  await incr(store, 'caller:hung', 60_000, 1000)
  redis.pause()
  t.teardown(() => { redis.resume() })
  const started = performance.now()
  const answers = await Promise.all(Array.from({ length: 30 }, async () =>
    await incr(store, 'caller:hung', 60_000, 1000)))
  const elapsed = performance.now() - started
  redis.resume()
  t.ok(answers.every((answer) => answer instanceof StoreUnavailableError), 'each got StoreUnavailableError (503)')
  t.ok(elapsed < 900, `all answered in ${Math.round(elapsed)} ms, within one 500 ms timeout (and its sweep)`)
})

t.test('after a failed grant, requests are admitted uncounted at once, and one probe a second asks again',
  async (t) => {
    const store = replica(10)
    await incr(store, 'caller:outage', 60_000, 1000)
    const before = await grantsCalled(redis.admin())
    redis.pause()
    t.teardown(() => { redis.resume() })
    const first = await Promise.all(Array.from({ length: 30 }, async () =>
      await incr(store, 'caller:outage', 60_000, 1000)))
    t.ok(first.some((answer) => answer instanceof StoreUnavailableError), 'the grant that timed out answers 503')
    const started = performance.now()
    const during: Answer[] = []
    while (performance.now() - started < 2500) {
      during.push(await incr(store, 'caller:outage', 60_000, 1000))
      await sleep(10)
    }
    t.ok(during.every((answer) => !(answer instanceof Error) && answer.current === 0), 'then each is admitted at once')
    redis.resume()
    await until(async () => {
      const answer = await incr(store, 'caller:outage', 60_000, 1000)
      return !(answer instanceof Error) && answer.current > 0
    }, 'a probe to succeed, and counting to resume')
    const probes = await grantsCalled(redis.admin()) - before
    t.ok(probes >= 2 && probes <= 8, `${probes} grants reached Redis over the outage and its end, one a second`)
  })

t.test('under steady load across window ends, no window admits past the limit', async (t) => {
  const [a, b] = [replica(25), replica(25)]
  const windowMs = 250
  const max = 40
  // When each admitted request's window ends, by the answer's ttl: windows are windowMs apart.
  const ends: number[] = []
  const stopAt = performance.now() + 2000
  const caller = async (store: SharedBudgets) => {
    while (performance.now() < stopAt) {
      const answer = await incr(store, 'caller:steady', windowMs, max)
      if (!(answer instanceof Error) && answer.current <= max) ends.push(performance.now() + answer.ttl)
      await new Promise((resolve) => setImmediate(resolve))
    }
  }
  await Promise.all(Array.from({ length: 20 }, async (_, i) => { await caller(i % 2 === 0 ? a : b) }))
  ends.sort((x, y) => x - y)
  const windows: number[] = []
  let start = -Infinity
  for (const end of ends) {
    if (end - start > windowMs / 2) { windows.push(0); start = end }
    windows[windows.length - 1]!++
  }
  t.ok(windows.length >= 6, `${windows.length} windows in 2 s`)
  t.ok(windows.every((count) => count <= max), `admitted per window: ${windows.join(', ')} (limit ${max})`)
})
