// A Redis user without a permission the service needs (Redis 7 gives new ACL users no channels, by
// acl-pubsub-default resetchannels): startup and check:redis name exactly what is missing, and a write refused half
// way never stores what it reports as failed.
import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { loadConfig } from '../../src/config/index.js'
import { checkRedis } from '../../src/redis/check.js'
import type { RedisCacheStore } from '../../src/store/redis-cache-store.js'
import { buildTestApp, captureLogs } from '../helpers/app.js'
import { startRedis, type RedisServer } from '../helpers/redis-server.js'

const PREFIX = 'perm:'
const JSON_TYPE = { 'content-type': 'application/json' }

async function userUrl (redis: RedisServer, name: string, ...rules: string[]): Promise<string> {
  await redis.admin().acl('SETUSER', name, 'reset', 'on', '>secret-of-the-test', ...rules)
  return `redis://${name}:secret-of-the-test@127.0.0.1:${redis.port}`
}

t.test('startup refuses a user without the lease channel, or without its keys, naming what is missing', async (t) => {
  const redis = await startRedis(t)
  const cases: Array<[string, string[], RegExp]> = [
    ['no channels (Redis 7\'s default for a new user)', ['~*', '+@all', 'resetchannels'],
      /lease channel perm:lease-ended/],
    ['no scripts', ['~*', '&*', '+@all', '-eval', '-evalsha'], /scripts: EVAL and EVALSHA/],
    ['keys of another prefix only', ['~other:*', '&*', '+@all'], /hashes under KEY_PREFIX/],
    // The rate limit's budgets take INCRBY (the probe asked INCR before, and a request then failed on the script).
    ['no INCRBY', ['~*', '&*', '+@all', '-incrby'], /counters under KEY_PREFIX \(the shared rate limit\): INCRBY/],
    // A soft invalidation by tag walks the tag with ZSCAN, which no other request uses.
    ['no ZSCAN', ['~*', '&*', '+@all', '-zscan'], /sorted sets under KEY_PREFIX \(tags[^)]*\): [^\n]*ZSCAN/],
    // A create past a subject's cap ends the oldest sessions with ZPOPMIN, which nothing else uses.
    ['no ZPOPMIN', ['~*', '&*', '+@all', '-zpopmin'], /sorted sets under KEY_PREFIX \(tags[^)]*\): [^\n]*ZPOPMIN/],
    // The log of session ends is the only stream, and the sweep's versions the only HINCRBY.
    ['no streams', ['~*', '&*', '+@all', '-@stream'], /streams under KEY_PREFIX \(the log of session ends\): XADD/],
    ['no HINCRBY', ['~*', '&*', '+@all', '-hincrby'], /hashes under KEY_PREFIX[^\n]*HINCRBY/]
  ]
  for (const [label, rules, named] of cases) {
    const url = await userUrl(redis, 'svc', ...rules)
    const config = { env: { REDIS_URL: url, KEY_PREFIX: PREFIX } }
    await t.rejects(buildTestApp(t, config), { message: named }, `${label}: refused`)
    await t.rejects(buildTestApp(t, config), { message: /^(?![\s\S]*secret-of-the-test)/ }, 'the password unsaid')

    const lines: string[] = []
    const passed = await checkRedis(loadConfig({ REDIS_URL: url, KEY_PREFIX: PREFIX, AUTH_MODE: 'none' }),
      { print: (line) => lines.push(line) })
    t.equal(passed, false, `${label}: check:redis fails`)
    t.match(lines.join('\n'), new RegExp(`MISSING PERMISSION: [^\\n]*${named.source}`), 'and says which')
  }
  const granted = await userUrl(redis, 'svc', '~perm:*', '&perm:*', '+@all')
  const lines: string[] = []
  t.equal(await checkRedis(loadConfig({ REDIS_URL: granted, KEY_PREFIX: PREFIX, AUTH_MODE: 'none' }),
    { print: (line) => lines.push(line) }), true, 'a user with exactly the prefix and channel passes')
  t.match(lines.join('\n'), /permissions \(scripts, TIME, keys and channel under KEY_PREFIX\): ok/)
})

t.test('a channel taken away at run time: writes that would announce a lease fail whole, and store nothing',
  async (t) => {
    const redis = await startRedis(t)
    const url = await userUrl(redis, 'svc', '~*', '&*', '+@all')
    const app = await buildTestApp(t, { env: { REDIS_URL: url, KEY_PREFIX: PREFIX, RATE_LIMIT_MAX: '0' } })
    const warnings: Error[] = []
    const onWarning = (warning: Error) => warnings.push(warning)
    process.on('warning', onWarning)
    t.teardown(() => { process.off('warning', onWarning) })
    const admin = redis.admin()

    await app.inject({ method: 'PUT', url: '/cache/kept?ttl=600', payload: 'before' })
    const granted = await app.inject({ method: 'GET', url: '/cache/leased', headers: { 'cache-lease': 'acquire' } })
    const token = granted.headers['cache-lease-token'] as string
    await admin.acl('SETUSER', 'svc', 'resetchannels')

    const put = await app.inject({
      method: 'PUT', url: '/cache/leased?ttl=600', headers: { 'cache-lease-token': token }, payload: 'computed'
    })
    t.equal(put.statusCode, 503, 'a write whose lease announcement is refused fails')
    t.same(await admin.hmget(`${PREFIX}cache:leased`, 'v'), [null], 'and nothing of it was stored')
    t.ok(await admin.pttl(`${PREFIX}cache:leased`) <= 10_000, 'the key keeps the lease\'s own lifetime, not 600 s')

    await app.inject({ method: 'GET', url: '/cache/kept-leased', headers: { 'cache-lease': 'acquire' } })
    const deleted = await app.inject({ method: 'DELETE', url: '/cache/kept-leased' })
    t.equal(deleted.statusCode, 503, 'a DELETE that would end a lease fails')
    t.equal(await admin.exists(`${PREFIX}cache:kept-leased`), 1, 'and deleted nothing')
    t.equal((await app.inject({ method: 'GET', url: '/cache/kept' })).body, 'before', 'other entries are untouched')

    for (let i = 0; i < 15; i++) {
      await app.inject({ method: 'GET', url: '/cache/leased', headers: { prefer: 'wait=1' } })
    }
    t.same(warnings.filter(({ name }) => name === 'MaxListenersExceededWarning'), [], 'no listener piles up')
    t.equal((app.cacheStore as RedisCacheStore).waiterCount, 0)
  })

t.test('a revocation that cannot end the sessions it took gives them back: a retry ends them, none is left live',
  async (t) => {
    const redis = await startRedis(t)
    const url = await userUrl(redis, 'svc', '~*', '&*', '+@all')
    const app = await buildTestApp(t, { env: { REDIS_URL: url, KEY_PREFIX: PREFIX, RATE_LIMIT_MAX: '0' } })
    const ids: string[] = []
    for (let i = 0; i < 5; i++) {
      const created = await app.inject({
        method: 'POST', url: '/sessions', headers: JSON_TYPE, payload: { subject: 'ada', data: {} }
      })
      ids.push(created.json().id)
    }
    // The subject's index stays as it was; the sessions may no longer be deleted: the revocation takes the index's
    // entries, then cannot end one session.
    await redis.admin().acl('SETUSER', 'svc', 'resetkeys', `~${PREFIX}subject:*`, `(~${PREFIX}session:* +@all -del)`)
    const revoke = async () => await app.inject({
      method: 'POST', url: '/sessions/revoke', headers: JSON_TYPE, payload: { subject: 'ada' }
    })
    t.equal((await revoke()).statusCode, 503, 'it fails')
    t.equal((await app.inject({ method: 'GET', url: '/sessions?subject=ada' })).json().sessions.length, 5,
      'and the subject\'s sessions are all listed still')

    await redis.admin().acl('SETUSER', 'svc', 'clearselectors', `~${PREFIX}*`)
    t.same((await revoke()).json(), { ended: 5 }, 'the retry ends every one')
    for (const id of ids) t.equal((await app.inject({ method: 'GET', url: `/sessions/${id}` })).statusCode, 404)
  })

t.test('the sweep for expiries kept from its keys at run time: sessions go on, each failure is logged, and the ' +
  'sweep tells of expiries again once it may', async (t) => {
  const redis = await startRedis(t)
  const url = await userUrl(redis, 'svc', '~*', '&*', '+@all')
  const logs = captureLogs()
  const app = await buildTestApp(t, {
    env: { REDIS_URL: url, KEY_PREFIX: PREFIX, RATE_LIMIT_MAX: '0', SESSION_EXPIRY_SWEEP_INTERVAL_MS: '100' },
    logs
  })
  const warned = (msg: string) => logs.lines().some((line) => line.level === 40 && line.msg === msg)
  await redis.admin().acl('SETUSER', 'svc', 'resetkeys', `~${PREFIX}session:*`, `~${PREFIX}subject:*`,
    `~${PREFIX}{session-events:*`)
  const created = await app.inject({
    method: 'POST', url: '/sessions', headers: JSON_TYPE, payload: { subject: 'ada', data: {} }
  })
  t.equal(created.statusCode, 201, 'a create whose subject the sweep cannot be told of succeeds: it is stored')
  t.ok(warned('the sweep for expired sessions was not told of a subject'), 'and the log says what was not done')
  t.equal((await app.inject({ method: 'DELETE', url: `/sessions/${created.json().id}` })).statusCode, 204)
  await sleep(300)
  t.ok(warned('the sweep for expired sessions failed'))

  await redis.admin().acl('SETUSER', 'svc', 'resetkeys', `~${PREFIX}*`)
  await app.inject({
    method: 'POST', url: '/sessions', headers: JSON_TYPE, payload: { subject: 'ada', data: {}, idleTtlSeconds: 1 }
  })
  let reasons: string[] = []
  for (let waited = 0; waited < 5000 && reasons.length < 2; waited += 100) {
    await sleep(100)
    reasons = (await app.inject({ method: 'GET', url: '/sessions/events' })).json().events
      .map(({ reason }: { reason: string }) => reason)
  }
  t.same(reasons, ['deleted', 'expired'], 'the delete was told at once, the expiry once the sweep could look')
})
