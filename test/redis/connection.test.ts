// The Redis connection: one long-lived client for every request, and a password that never reaches a log.
import t from 'tap'
import { buildTestApp, captureLogs } from '../helpers/app.js'
import { startRedis } from '../helpers/redis-server.js'

const PASSWORD = 's3cret-redis-pass'

t.test('one connection serves every request, however many run at once', async (t) => {
  const redis = await startRedis(t)
  const admin = redis.admin()
  const app = await buildTestApp(t, { env: { REDIS_URL: redis.url } })
  const serviceConnections = async () => (await admin.client('LIST') as string).split('\n')
    .filter((line) => line.includes('name=cache-service ')).length

  t.equal(await serviceConnections(), 1)
  const results = await Promise.all(Array.from({ length: 200 }, (_, i) => app.inject({
    method: i % 2 === 0 ? 'PUT' : 'GET', url: `/cache/k${i % 10}`, payload: i % 2 === 0 ? `v${i}` : undefined
  })))
  t.ok(results.every((res) => res.statusCode < 500), 'every request was served')
  t.equal(await serviceConnections(), 1, 'still one connection')
})

t.test('keys are written under KEY_PREFIX', async (t) => {
  const redis = await startRedis(t)
  const admin = redis.admin()
  const app = await buildTestApp(t, { env: { REDIS_URL: redis.url, KEY_PREFIX: 'tenant-a:' } })
  await app.inject({ method: 'PUT', url: '/cache/user%3A42', payload: 'x' })
  const keys = await admin.keys('*')
  t.ok(keys.includes('tenant-a:cache:user:42'))
  t.ok(keys.every((key) => key.startsWith('tenant-a:')), `every key is under the prefix: ${keys}`)
  const ttl = await admin.ttl('tenant-a:cache:user:42')
  t.ok(ttl > 3590 && ttl <= 3600, 'with the expiry set in the same step')
})

t.test('with a password: requests work, and neither the password nor a bearer token is logged', async (t) => {
  const redis = await startRedis(t, { args: ['--requirepass', PASSWORD] })
  const logs = captureLogs()
  const app = await buildTestApp(t, {
    env: { REDIS_URL: `redis://:${PASSWORD}@127.0.0.1:${redis.port}`, REDIS_COMMAND_TIMEOUT_MS: '300' }, logs
  })
  const headers = { authorization: 'Bearer caller-token-123', cookie: 'sid=cookie-secret-456' }
  t.equal((await app.inject({ method: 'PUT', url: '/cache/k', payload: 'v', headers })).statusCode, 201)
  t.equal((await app.inject({ method: 'GET', url: '/cache/k', headers })).statusCode, 200)

  // An outage makes ioredis and the error handler log connection errors: they must not carry the URL's password.
  await redis.kill()
  t.equal((await app.inject({ method: 'GET', url: '/cache/k', headers })).statusCode, 503)
  await redis.restart()

  const text = logs.text()
  t.match(text, /redis connection/, 'the outage was logged')
  for (const secret of [PASSWORD, 'caller-token-123', 'cookie-secret-456']) {
    t.notOk(text.includes(secret), `no log line contains ${secret.slice(0, 6)}…`)
  }
})

t.test('a wrong password fails startup with a clear error', async (t) => {
  const redis = await startRedis(t, { args: ['--requirepass', PASSWORD] })
  await t.rejects(buildTestApp(t, { env: { REDIS_URL: `redis://:wrong@127.0.0.1:${redis.port}` } }),
    /WRONGPASS|invalid password/)
})
