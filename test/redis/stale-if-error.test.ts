// Stale-if-error (RFC 5861) from the near cache: when Redis does not answer, a read that allows it is answered with
// the last copy its replica read, marked stale, within the caller's allowance; and no copy outlives a change that
// any replica made, this replica's own writes first of all.
import { setImmediate, setTimeout as sleep } from 'node:timers/promises'
import type { FastifyInstance } from 'fastify'
import t from 'tap'
import type { RedisCacheStore } from '../../src/store/redis-cache-store.js'
import { buildTestApp } from '../helpers/app.js'
import { startCluster } from '../helpers/redis-cluster.js'
import { startRedis } from '../helpers/redis-server.js'
import { startTcpProxy } from '../helpers/tcp-proxy.js'
import { until } from '../helpers/until.js'

const COMMAND_TIMEOUT_MS = '300'
const ALLOW = (seconds: number) => ({ 'cache-control': `max-age=0, stale-if-error=${seconds}` })
const STALE_IF_ERROR = /^cache-service; hit; ttl=-?\d+; detail=stale-if-error$/

const get = async (app: FastifyInstance, key: string, headers: Record<string, string> = {}) =>
  await app.inject({ method: 'GET', url: `/cache/${key}`, headers })
const put = async (app: FastifyInstance, key: string, value: string, query = '?ttl=60') =>
  await app.inject({ method: 'PUT', url: `/cache/${key}${query}`, payload: value })
const copies = (app: FastifyInstance) => (app.cacheStore as RedisCacheStore).nearCache.size.copies

/** Until this app's change channel has carried a heartbeat: from then on it keeps copies. */
async function hearing (app: FastifyInstance): Promise<void> {
  await until(async () => {
    await put(app, 'probe', 'p')
    await get(app, 'probe', ALLOW(60))
    return copies(app) > 0
  }, 'the near cache hears its heartbeats')
  await app.inject({ method: 'DELETE', url: '/cache/probe' })
}

t.test('Redis gone: a read that allows it gets the copy, marked stale; others get 503 as before', async (t) => {
  const redis = await startRedis(t)
  const app = await buildTestApp(t, { env: { REDIS_URL: redis.url, REDIS_COMMAND_TIMEOUT_MS: COMMAND_TIMEOUT_MS } })
  await hearing(app)
  const written = await put(app, 'hot', 'hot value')
  await put(app, 'short', 'short value', '?ttl=1')
  await put(app, 'unread', 'never read with the directive')
  await put(app, 'own', 'its write allows it', '?ttl=60&stale-if-error=30')
  await app.inject({
    method: 'POST',
    url: '/cache-bulk/put',
    payload: { entries: [{ key: 'bulk-own', value: Buffer.from('bulk').toString('base64'), staleIfErrorSeconds: 30 }] }
  })
  // Its writes' announcements come back to it and drop any copy held then: read until they have.
  await until(async () => {
    t.equal((await get(app, 'hot', ALLOW(30))).statusCode, 200)
    t.equal((await get(app, 'short', ALLOW(30))).statusCode, 200)
    t.equal((await get(app, 'unread')).statusCode, 200, 'a read without the directive keeps no copy')
    t.equal((await get(app, 'own')).statusCode, 200, 'unless the entry has a stale-if-error of its own')
    t.equal((await get(app, 'bulk-own')).statusCode, 200)
    return copies(app) === 4
  }, 'a copy of each entry read with an allowance, once the writes\' announcements are back')

  await redis.kill()
  const stale = await get(app, 'hot', ALLOW(30))
  t.equal(stale.statusCode, 200, 'answered from the copy')
  t.equal(stale.body, 'hot value')
  t.equal(stale.headers.etag, written.headers.etag)
  t.match(stale.headers['cache-status'], STALE_IF_ERROR)
  t.equal(stale.headers['cache-control'], 'max-age=0', 'never as fresh')
  t.match(stale.headers.age, /^\d+$/)
  t.equal((await app.inject({ method: 'HEAD', url: '/cache/hot', headers: ALLOW(30) })).statusCode, 200)

  t.equal((await get(app, 'own')).statusCode, 200, 'the entry\'s own stale-if-error, for a read naming none')
  t.equal((await get(app, 'bulk-own')).statusCode, 200, 'as a bulk write gives it too')
  t.equal((await get(app, 'own', ALLOW(0))).statusCode, 503, 'a read may refuse it')
  const refused = await get(app, 'hot')
  t.equal(refused.statusCode, 503, 'a read that does not allow it gets 503')
  t.equal(refused.headers['retry-after'], '1')
  t.equal((await get(app, 'unread', ALLOW(30))).statusCode, 503, 'nor is there a copy of what was not kept')
  t.equal((await get(app, 'absent', ALLOW(30))).statusCode, 503, 'a miss is not known to be a miss')

  const bulk = async (keys: string[]) => await app.inject({
    method: 'POST', url: '/cache-bulk/get', headers: ALLOW(30), payload: { keys }
  })
  const both = await bulk(['hot', 'short'])
  t.equal(both.statusCode, 200, 'a bulk read is answered from the copies, entry by entry')
  t.match(both.json().entries, [
    { key: 'hot', found: true, value: Buffer.from('hot value').toString('base64'), stale: true, ttlSeconds: 0 },
    { key: 'short', found: true, stale: true }
  ])
  t.equal((await bulk(['hot', 'unread'])).statusCode, 503, 'but not when a key has no copy')

  // The allowance counts from the copy's TTL's end: short's, a second after it was written.
  await sleep(1500)
  t.equal((await get(app, 'short', ALLOW(30))).statusCode, 200, 'within the allowance')
  t.equal((await get(app, 'short', ALLOW(0))).statusCode, 503, 'past it')
  t.equal((await get(app, 'hot', ALLOW(1))).statusCode, 503,
    'and from the last heartbeat heard, for a copy whose changes may have gone unheard since')

  await redis.restart()
  await until(async () => (await get(app, 'hot', ALLOW(30))).statusCode === 404, 'Redis answers again')
  t.equal((await get(app, 'hot', ALLOW(30))).headers['cache-status'], 'cache-service; fwd=miss',
    'what Redis says wins as soon as it answers (it lost everything: no persistence)')
})

t.test('no copy survives a change, by another replica or by this one', async (t) => {
  const redis = await startRedis(t)
  const env = { REDIS_URL: redis.url, REDIS_COMMAND_TIMEOUT_MS: COMMAND_TIMEOUT_MS, KEY_PREFIX: 'shared:' }
  const one = await buildTestApp(t, { env })
  const two = await buildTestApp(t, { env })
  await hearing(one)
  const keys = ['deleted', 'rewritten', 'tagged', 'purged', 'own']
  for (const key of keys) {
    await two.inject({
      method: 'PUT', url: `/cache/${key}?ttl=60&stale=60`, headers: { 'cache-tag': 'tag' }, payload: 'old'
    })
  }
  // A write's announcement that reaches replica one after its read drops the copy that read kept (it cannot tell the
  // write came before): read until every announcement has come and gone.
  await until(async () => {
    for (const key of keys) t.equal((await get(one, key, ALLOW(60))).body, 'old')
    return copies(one) === keys.length
  }, 'replica one keeps a copy of each key, once replica two\'s writes are heard')

  await two.inject({ method: 'DELETE', url: '/cache/deleted' })
  await put(two, 'rewritten', 'new')
  await two.inject({ method: 'DELETE', url: '/cache?tag=tag&mode=remove' })
  // The other replica hears of its changes, each within a heartbeat or so.
  await until(() => copies(one) === 0, 'replica one forgets every key replica two changed')

  for (const key of ['rewritten', 'own']) await put(one, key, 'v1')
  // Its writes' announcements come back to it, and drop whatever copy it holds then: read until they have.
  await until(async () => {
    for (const key of ['rewritten', 'own']) t.equal((await get(one, key, ALLOW(60))).body, 'v1')
    return copies(one) === 2
  }, 'replica one keeps its own writes once their announcements are back')
  // Its own write is forgotten before it is sent, whatever the channel says and when.
  await put(one, 'own', 'v2')
  await redis.kill()
  t.equal((await get(one, 'own', ALLOW(60))).statusCode, 503, 'never the value its own write replaced')
  t.equal((await get(one, 'rewritten', ALLOW(60))).body, 'v1', 'while an unchanged copy is served')
})

t.test('how soon another replica\'s write reaches a replica\'s near cache', async (t) => {
  const redis = await startRedis(t)
  const env = { REDIS_URL: redis.url, KEY_PREFIX: 'delay:' }
  const one = await buildTestApp(t, { env })
  const two = await buildTestApp(t, { env })
  await hearing(one)
  const delays: number[] = []
  for (let i = 0; i < 100; i++) {
    await put(two, 'k', `v${i}`)
    await sleep(20)
    await get(one, 'k', ALLOW(60))
    if (copies(one) !== 1) continue
    await put(two, 'k', `w${i}`)
    // From the writer's acknowledgement: what a caller of replica two could observe first.
    const acknowledged = performance.now()
    while (copies(one) !== 0 && performance.now() - acknowledged < 5000) await setImmediate()
    delays.push(performance.now() - acknowledged)
  }
  delays.sort((a, b) => a - b)
  const at = (q: number) => delays[Math.min(delays.length - 1, Math.floor(q * delays.length))]!
  t.ok(delays.length >= 90, `${delays.length} samples`)
  t.comment(`invalidation delay after the write's answer: p50 ${at(0.5).toFixed(2)} ms, ` +
    `p99 ${at(0.99).toFixed(2)} ms, max ${at(1).toFixed(2)} ms`)
  // The bound that matters: within the heartbeat's gap, past which the replica stops trusting what it holds.
  t.ok(at(1) < 3000, 'every change heard well within the gap that would make the replica deaf')
})

t.test('on a cluster: copies kept from every node, forgotten on another replica\'s change, served when it fails',
  async (t) => {
    const cluster = await startCluster(t)
    // Without the shared rate limit: with every node gone, ioredis waits for the slots to come back rather than
    // failing at once, so a request whose counter call times out gets that 503 within the command timeout, never a
    // second wait (test/redis/rate-limit-store.test.ts). Here, the near cache alone.
    const env = {
      REDIS_CLUSTER: 'true',
      REDIS_CLUSTER_NODES: cluster.seeds,
      REDIS_COMMAND_TIMEOUT_MS: COMMAND_TIMEOUT_MS,
      KEY_PREFIX: 'cluster:',
      RATE_LIMIT_MAX: '0'
    }
    const one = await buildTestApp(t, { env })
    const two = await buildTestApp(t, { env })
    await hearing(one)
    const keys = Array.from({ length: 30 }, (_, i) => `spread-${i}`)
    for (const key of keys) await put(two, key, `value of ${key}`)
    // The writes' announcements cross the cluster bus to the subscriber's node: read until they have arrived.
    await until(async () => {
      for (const key of keys) t.equal((await get(one, key, ALLOW(60))).statusCode, 200)
      return copies(one) === keys.length
    }, 'keys of every slot are kept')
    await put(two, 'spread-0', 'changed')
    await until(() => copies(one) < keys.length,
      () => `a change announced on one node reaches the other replica (${copies(one)} copies kept)`)
    // A replica that went deaf meanwhile (no heartbeat back for 3 s, as on a loaded machine) drops every copy, the
    // changed key's too: the others are read again, the changed one is not.
    await until(async () => {
      for (const key of keys.slice(1)) await get(one, key, ALLOW(60))
      return copies(one) === keys.length - 1
    }, () => `the other keys are kept (${copies(one)} copies)`)

    for (const node of cluster.nodes) await node.kill()
    const answers = await Promise.all(keys.slice(1).map(async (key) => await get(one, key, ALLOW(60))))
    t.same(answers.map((res) => res.statusCode), Array(keys.length - 1).fill(200), 'every copy answers')
    t.ok(answers.every((res) => STALE_IF_ERROR.test(String(res.headers['cache-status']))), 'marked stale')
    t.equal((await get(one, 'spread-0', ALLOW(60))).statusCode, 503, 'the changed key has no copy')
  })

t.test('a replica that stops hearing keeps no copy, and drops what it had when it hears again', async (t) => {
  const redis = await startRedis(t)
  const app = await buildTestApp(t, { env: { REDIS_URL: redis.url, REDIS_COMMAND_TIMEOUT_MS: COMMAND_TIMEOUT_MS } })
  await hearing(app)
  await put(app, 'k', 'v')
  await put(app, 'other', 'v')
  await until(async () => {
    await get(app, 'k', ALLOW(60))
    return copies(app) === 1
  }, 'a copy of what was read, once the writes\' announcements are back')
  // The subscriber is cut, and may not subscribe again, so heartbeats stop coming back; writes still announce.
  const admin = redis.admin()
  await admin.acl('SETUSER', 'default', '-subscribe')
  await admin.call('CLIENT', 'KILL', 'TYPE', 'pubsub')
  await sleep(3500)
  t.equal((await get(app, 'other', ALLOW(60))).statusCode, 200)
  t.equal(copies(app), 1, 'a read while deaf keeps no copy')
  await admin.acl('SETUSER', 'default', '+subscribe')
  await until(() => copies(app) === 0, 'the copy kept before the gap is dropped when the heartbeats return')
  await get(app, 'other', ALLOW(60))
  t.equal(copies(app), 1, 'and copies are kept again')
})

/**
 * Reads HOT keys, all at once, over and over, allowing stale-if-error, while `outage` runs: what every answer was,
 * and when it came relative to Redis going away (`away`) and answering again (`back`), as `outage` reports them.
 */
async function readThrough (app: FastifyInstance, outage: (marks: { away: number, back: number }) => Promise<void>) {
  const HOT = 20
  for (let i = 0; i < HOT; i++) {
    t.equal((await put(app, `hot-${i}`, `value ${i}`, '?ttl=600')).statusCode, 201)
  }
  await sleep(200)
  for (let i = 0; i < HOT; i++) await get(app, `hot-${i}`, ALLOW(60))
  const marks = { away: Infinity, back: Infinity }
  const answers: Array<{ at: number, status: number, kind: string }> = []
  const reading = { on: true }
  const load = (async () => {
    while (reading.on) {
      const round = await Promise.all(Array.from({ length: HOT }, async (_, i) =>
        await get(app, `hot-${i}`, ALLOW(60))))
      const at = performance.now()
      for (const res of round) {
        const status = String(res.headers['cache-status'])
        answers.push({ at, status: res.statusCode, kind: status.includes('stale-if-error') ? 'stale' : 'fresh' })
      }
      await sleep(10)
    }
  })()
  await sleep(1000)
  await outage(marks)
  await sleep(3000)
  reading.on = false
  await load
  const failed = answers.filter(({ status }) => status !== 200)
  const stale = answers.filter(({ kind }) => kind === 'stale')
  return { answers, failed, stale, marks }
}

t.test('Redis killed under a steady read load, then restarted: no read fails, stale answers only meanwhile',
  async (t) => {
    const redis = await startRedis(t, { args: ['--appendonly', 'yes', '--appendfsync', 'always'] })
    const app = await buildTestApp(t, { env: { REDIS_URL: redis.url, REDIS_COMMAND_TIMEOUT_MS: COMMAND_TIMEOUT_MS } })
    await hearing(app)
    const { answers, failed, stale, marks } = await readThrough(app, async (marks) => {
      marks.away = performance.now()
      await redis.kill()
      await sleep(3000)
      await redis.restart()
      marks.back = performance.now()
    })
    t.same(failed.map(({ status }) => status), [], `none of ${answers.length} reads failed`)
    t.ok(stale.length > 0, `${stale.length} were answered stale`)
    t.ok(stale.every(({ at }) => at > marks.away && at < marks.back + 2000), 'only while Redis was away')
    const lastStale = Math.max(...stale.map(({ at }) => at))
    t.comment(`fresh answers again ${Math.max(0, lastStale - marks.back).toFixed(0)} ms after Redis was back`)
    t.ok(answers.filter(({ at }) => at > marks.back + 2000).every(({ kind }) => kind === 'fresh'),
      'and fresh ones within 2 s of its return')
  })

t.test('a failover behind one address under a steady read load: no read fails, stale answers only meanwhile',
  async (t) => {
    const primary = await startRedis(t)
    const replica = await startRedis(t, { args: ['--replicaof', '127.0.0.1', String(primary.port)] })
    const replicaAdmin = replica.admin()
    await until(async () => /master_link_status:up/.test(await replicaAdmin.info('replication')), 'the replica')
    const address = await startTcpProxy(t, primary.port)
    const app = await buildTestApp(t, {
      env: { REDIS_URL: address.url, REDIS_COMMAND_TIMEOUT_MS: COMMAND_TIMEOUT_MS }
    })
    await hearing(app)
    const { answers, failed, stale, marks } = await readThrough(app, async (marks) => {
      // Unplanned: the primary dies; two seconds later its replica is promoted and the address leads to it.
      await until(async () => await replicaAdmin.exists('cache-service:cache:hot-19') === 1, 'replication')
      marks.away = performance.now()
      await primary.kill()
      await sleep(2000)
      await replicaAdmin.replicaof('NO', 'ONE')
      address.retarget(replica.port)
      marks.back = performance.now()
    })
    t.same(failed.map(({ status }) => status), [], `none of ${answers.length} reads failed`)
    t.ok(stale.length > 0, `${stale.length} were answered stale`)
    t.ok(stale.every(({ at }) => at > marks.away && at < marks.back + 2000), 'only during the failover')
    t.ok(answers.filter(({ at }) => at > marks.back + 2000).every(({ kind }) => kind === 'fresh'),
      'and fresh ones within 2 s of its end')
  })
