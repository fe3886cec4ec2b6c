// A read that takes no lease is one plain HMGET, judged against Redis's clock as the replica reads it (TIME, now and
// then), not the lease-aware script: what Redis spends on a GET hit, the commonest request. Its answers are the
// script's (the contract suites run on Redis too); here, that the script is not run, and that an entry stored before
// fresh-until existed still falls back to it.
import t from 'tap'
import type { Redis } from 'ioredis'
import { buildTestApp } from '../helpers/app.js'
import { startRedis } from '../helpers/redis-server.js'

const redis = await startRedis(t)
const app = await buildTestApp(t, { env: { REDIS_URL: redis.url, KEY_PREFIX: 'plain:', RATE_LIMIT_MAX: '0' } })
const admin = redis.admin()

/** Calls of each command Redis has run, from INFO commandstats. */
async function calls (client: Redis): Promise<Record<string, number>> {
  const stats = await client.info('commandstats')
  const counted = [...stats.matchAll(/^cmdstat_(\w+):calls=(\d+)/gm)]
  return Object.fromEntries(counted.map(([, name, n]) => [name!, Number(n)]))
}

async function commandsOf (request: () => Promise<unknown>): Promise<Record<string, number>> {
  const before = await calls(admin)
  await request()
  const after = await calls(admin)
  // INFO itself is counted once between the two readings.
  return Object.fromEntries(Object.entries(after)
    .map(([name, n]): [string, number] => [name, n - (before[name] ?? 0) - (name === 'info' ? 1 : 0)])
    .filter(([, n]) => n > 0))
}

t.test('GET of a hit, of a miss and of a stale entry runs no script', async (t) => {
  await app.inject({ method: 'GET', url: '/cache/warm-up' })
  await app.inject({ method: 'PUT', url: '/cache/hot?ttl=60', payload: 'value' })
  await app.inject({ method: 'PUT', url: '/cache/old?ttl=1&stale=60', payload: 'old value' })
  await new Promise((resolve) => setTimeout(resolve, 1100))

  for (const [url, status] of [['/cache/hot', 200], ['/cache/absent', 404], ['/cache/old', 200]] as const) {
    let res: Awaited<ReturnType<typeof app.inject>> | undefined
    const used = await commandsOf(async () => { res = await app.inject({ method: 'GET', url }) })
    t.equal(res!.statusCode, status, `GET ${url}`)
    const { time = 0, ...others } = used
    t.same(others, { hmget: 1 }, `GET ${url}: one HMGET, no script`)
    t.ok(time <= 1, 'and a TIME at most, for the clock')
  }
  const stale = await app.inject({ method: 'GET', url: '/cache/old' })
  t.match(stale.headers['cache-status'], /stale|ttl=-/, 'the stale entry is said to be stale')
})

t.test('asking for a lease still runs the script, which takes it atomically', async (t) => {
  const used = await commandsOf(async () => {
    const res = await app.inject({ method: 'GET', url: '/cache/computed', headers: { 'cache-lease': 'acquire' } })
    t.equal(res.statusCode, 404)
  })
  t.ok((used.evalsha ?? 0) + (used.eval ?? 0) >= 1, 'the lease-aware script')
  const held = await app.inject({ method: 'GET', url: '/cache/computed', headers: { 'cache-lease': 'acquire' } })
  t.match(held.headers['cache-lease'], /held/, 'and a second caller finds it held')
})

t.test('an entry stored before fresh-until existed is read by the script, fresh until its key expires', async (t) => {
  await admin.hset('plain:cache:legacy', 'v', 'legacy value', 't', 'text/plain', 'e', '"legacy-tag"')
  await admin.pexpire('plain:cache:legacy', 30_000)
  let res: Awaited<ReturnType<typeof app.inject>> | undefined
  const used = await commandsOf(async () => { res = await app.inject({ method: 'GET', url: '/cache/legacy' }) })
  t.equal(res!.statusCode, 200)
  t.equal(res!.body, 'legacy value')
  t.equal(res!.headers.etag, '"legacy-tag"')
  t.match(res!.headers['cache-control'], /max-age=(29|30)\b/, 'fresh for its key\'s TTL')
  t.ok((used.evalsha ?? 0) + (used.eval ?? 0) >= 1, 'after the plain read, the script')
})
