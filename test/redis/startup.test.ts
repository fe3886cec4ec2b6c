// Redis is often still starting beside the pod: the service listens at once and serves 503 until Redis answers,
// then serves, with no restart. A refusal waiting cannot fix still stops the process with exit code 1.
import t from 'tap'
import { buildTestApp } from '../helpers/app.js'
import { freePort } from '../helpers/free-port.js'
import { until } from '../helpers/until.js'
import { startRedis } from '../helpers/redis-server.js'
import { startServerProcess } from '../helpers/server-process.js'

t.test('Redis unreachable at startup: listen, 503 until it answers, then serve without a restart', async (t) => {
  const redis = await startRedis(t)
  await redis.kill()
  const started = Date.now()
  const app = await buildTestApp(t, { env: { REDIS_URL: redis.url } })
  t.ok(Date.now() - started < 5000, `the app was built in ${Date.now() - started} ms, without waiting for Redis`)

  t.equal((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200, 'alive')
  const ready = await app.inject({ method: 'GET', url: '/readyz' })
  t.equal(ready.statusCode, 503, 'not ready')
  t.equal(ready.headers['retry-after'], '1')
  const read = await app.inject({ method: 'GET', url: '/cache/k' })
  t.equal(read.statusCode, 503, 'the API answers 503')
  t.equal(read.headers['retry-after'], '1')
  t.match(read.json(), { type: 'urn:cache-service:problem:store-unavailable' })

  await redis.restart()
  await until(async () => (await app.inject({ method: 'GET', url: '/readyz' })).statusCode === 200, 'readiness')
  t.equal((await app.inject({ method: 'PUT', url: '/cache/k', payload: 'v' })).statusCode, 201, 'then it serves')
  t.equal((await app.inject({ method: 'GET', url: '/cache/k' })).body, 'v')
})

t.test('a wrong password found once Redis comes up stops the process with exit code 1', async (t) => {
  const redis = await startRedis(t, { args: ['--requirepass', 'the-right-password'] })
  await redis.kill()
  const port = await freePort()
  const server = startServerProcess({
    PORT: String(port),
    HOST: '127.0.0.1',
    REDIS_URL: redis.url,
    REDIS_PASSWORD: 'a-wrong-password',
    AUTH_MODE: 'none',
    METRICS_ENABLED: 'false'
  })
  t.teardown(() => { server.child.kill('SIGKILL') })
  // The child compiles the TypeScript source first, which takes a while on a busy machine.
  await server.logged('Server listening', 60_000)
  const live = await fetch(`http://127.0.0.1:${port}/healthz`)
  t.equal(live.status, 200, 'it listens while Redis is down')
  t.equal((await fetch(`http://127.0.0.1:${port}/readyz`)).status, 503)

  await redis.restart()
  t.equal(await server.exited, 1, 'exit code 1 once Redis refuses the password')
  t.match(server.stdout(), /Redis refused the service/)
  t.match(server.stdout(), /WRONGPASS|invalid username-password/)
  t.notMatch(server.stdout() + server.stderr(), /a-wrong-password/, 'the password is not logged')
})

t.test('a wrong password with Redis up still fails startup at once', async (t) => {
  const redis = await startRedis(t, { args: ['--requirepass', 'the-right-password'] })
  await t.rejects(buildTestApp(t, { env: { REDIS_URL: redis.url, REDIS_PASSWORD: 'a-wrong-password' } }),
    /Redis refused the connection/)
})
