// The process: exit code 1 on a bad configuration, graceful shutdown on SIGTERM and SIGINT.
import { request } from 'node:http'
import { connect } from 'node:net'
import t from 'tap'
import { freePort } from './helpers/free-port.js'
import { startRedis } from './helpers/redis-server.js'
import { startServerProcess } from './helpers/server-process.js'

t.test('an invalid configuration value stops the process with exit code 1, naming the variable', async (t) => {
  const server = startServerProcess({ PORT: 'not-a-port', REDIS_URL: 'redis://:s3cret-pass@127.0.0.1:1/?x' })
  t.equal(await server.exited, 1)
  t.match(server.stderr(), /PORT: must be a whole number/)
  t.notMatch(server.stderr() + server.stdout(), /s3cret-pass/)

  const secret = startServerProcess({ REDIS_URL: 'http://admin:s3cret-pass@cache:6379' })
  t.equal(await secret.exited, 1)
  t.match(secret.stderr(), /REDIS_URL: must be a redis:\/\/ or rediss:\/\/ URL/)
  t.notMatch(secret.stderr() + secret.stdout(), /s3cret-pass/, 'the bad value itself is not echoed')
})

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  t.test(`${signal}: stop accepting, finish in-flight requests, close Redis, exit 0`, async (t) => {
    const redis = await startRedis(t)
    const admin = redis.admin()
    const port = await freePort()
    const server = startServerProcess({
      PORT: String(port),
      HOST: '127.0.0.1',
      REDIS_URL: redis.url,
      AUTH_MODE: 'none',
      METRICS_PORT: String(await freePort()),
      SHUTDOWN_GRACE_MS: '5000'
    })
    t.teardown(() => { server.child.kill('SIGKILL') })
    await server.logged('Server listening')
    t.match(await admin.client('LIST'), /name=cache-service /, 'the service holds its Redis connection')

    // An upload still arriving when the signal comes must complete.
    const response = new Promise<number>((resolve, reject) => {
      const req = request({
        port,
        host: '127.0.0.1',
        method: 'PUT',
        path: '/cache/in-flight',
        headers: { 'content-length': '10' }
      }, (res) => { res.resume(); resolve(res.statusCode ?? 0) })
      req.on('error', reject)
      req.write('12345')
      setTimeout(() => {
        server.child.kill(signal)
        setTimeout(() => req.end('67890'), 300)
      }, 200)
    })
    const signalledAt = Date.now()
    t.equal(await response, 201, 'the in-flight request was answered')
    t.equal(await server.exited, 0)
    t.ok(Date.now() - signalledAt < 5000, 'within SHUTDOWN_GRACE_MS')

    const refused = await new Promise<string>((resolve) => {
      const socket = connect(port, '127.0.0.1')
      socket.on('connect', () => { socket.destroy(); resolve('connected') })
      socket.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'))
    })
    t.equal(refused, 'ECONNREFUSED', 'no longer accepting')
    t.notMatch(await admin.client('LIST'), /name=cache-service /, 'its Redis connection is closed')
    t.match(server.stdout(), new RegExp(`"signal":"${signal}"`))
  })
}
