// Access keys and ACL users: a static password from the environment, a mounted file, or the URL.
import { writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import t, { type Test } from 'tap'
import { buildTestApp } from '../helpers/app.js'
import { startRedis } from '../helpers/redis-server.js'

const server = await startRedis(t, { args: ['--requirepass', 'access-key-1'] })
const admin = new Redis({ port: server.port, host: '127.0.0.1', password: 'access-key-1' })
// Exactly what the service needs: its keys, and its lease channel (Redis 7 gives a new user no channels).
await admin.acl('SETUSER', 'cache-app', 'on', '>app-password', '~cache-service:*', '&cache-service:*', '+@all')
admin.disconnect()

async function works (t: Test, env: Record<string, string>) {
  const app = await buildTestApp(t, { env: { REDIS_HOST: '127.0.0.1', REDIS_PORT: String(server.port), ...env } })
  t.equal((await app.inject({ method: 'PUT', url: '/cache/k', payload: 'v' })).statusCode < 300, true)
  t.equal((await app.inject({ method: 'GET', url: '/cache/k' })).body, 'v')
}

t.test('REDIS_PASSWORD, as an Azure access key', async (t) => {
  await works(t, { REDIS_PASSWORD: 'access-key-1' })
})

t.test('REDIS_PASSWORD_FILE, as a mounted Kubernetes secret with its trailing newline', async (t) => {
  const file = join(tmpdir(), `redis-password-${process.pid}`)
  writeFileSync(file, 'access-key-1\n', { mode: 0o600 })
  await works(t, { REDIS_PASSWORD_FILE: file })
})

t.test('REDIS_USERNAME and REDIS_PASSWORD, for an ACL user', async (t) => {
  await works(t, { REDIS_USERNAME: 'cache-app', REDIS_PASSWORD: 'app-password' })
})

t.test('a password in the URL', async (t) => {
  const app = await buildTestApp(t, { env: { REDIS_URL: `redis://cache-app:app-password@127.0.0.1:${server.port}` } })
  t.equal((await app.inject({ method: 'GET', url: '/readyz' })).statusCode, 200)
})

t.test('no password where one is required fails startup clearly', async (t) => {
  await t.rejects(buildTestApp(t, { env: { REDIS_URL: server.url } }), /Redis refused the connection: NOAUTH/)
})
