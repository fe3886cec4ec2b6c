// npm run check:redis: the operator's connectivity check, run as a process and in-process with Entra ID.
import { fileURLToPath } from 'node:url'
import type { AccessToken } from '@azure/core-auth'
import t from 'tap'
import { loadConfig } from '../../src/config/index.js'
import { checkRedis } from '../../src/redis/check.js'
import { EntraRedis } from '../helpers/entra-redis.js'
import { FakeEntraCredential } from '../helpers/fake-entra-credential.js'
import { freePort } from '../helpers/free-port.js'
import { startRedis } from '../helpers/redis-server.js'
import { startServerProcess } from '../helpers/server-process.js'

const CHECK = fileURLToPath(new URL('../../src/check-redis.ts', import.meta.url))

async function runCheck (env: Record<string, string>): Promise<{ code: number | string, output: string }> {
  const check = startServerProcess(env, CHECK)
  const code = await check.exited
  return { code, output: check.stdout() + check.stderr() }
}

t.test('with an access key: connects, PINGs, SETs and GETs, counts clients, exits 0', async (t) => {
  const server = await startRedis(t, { args: ['--requirepass', 'access-key-1'] })
  const { code, output } = await runCheck({ REDIS_URL: server.url, REDIS_PASSWORD: 'access-key-1' })
  t.equal(code, 0, output)
  t.match(output, /auth password/)
  t.match(output, /PING: PONG/)
  t.match(output, /SET and GET cache-service:check:[0-9a-f]+: ok/)
  t.match(output, /CLIENT LIST on 127\.0\.0\.1:\d+: \d+ clients/)
  t.match(output, /maxmemory-policy on 127\.0\.0\.1:\d+: noeviction: ok/)
  t.notMatch(output, /access-key-1/, 'the key is never printed')
})

t.test('an eviction policy that could drop sessions is warned of, and the check still passes', async (t) => {
  for (const policy of ['allkeys-lru', 'volatile-lru']) {
    const server = await startRedis(t, { args: ['--maxmemory', '64mb', '--maxmemory-policy', policy] })
    const lines: string[] = []
    const passed = await checkRedis(loadConfig({ AUTH_MODE: 'none', REDIS_URL: server.url }), {
      print: (line) => { lines.push(line) }
    })
    t.ok(passed, `${policy}: the connection itself is fine`)
    t.match(lines.join('\n'), new RegExp(`^WARNING: maxmemory-policy on 127\\.0\\.0\\.1:\\d+ is ${policy}: ` +
      'Redis may evict sessions before they expire', 'm'))
  }
})

t.test('any failure exits non-zero with the reason', async (t) => {
  const server = await startRedis(t, { args: ['--requirepass', 'access-key-1'] })
  const wrong = await runCheck({ REDIS_URL: server.url, REDIS_PASSWORD: 'wrong-key' })
  t.equal(wrong.code, 1)
  t.match(wrong.output, /FAILED: Redis refused the connection: WRONGPASS/)
  t.notMatch(wrong.output, /wrong-key/)

  const unconfigured = await runCheck({})
  t.equal(unconfigured.code, 1)
  t.match(unconfigured.output, /FAILED: Redis is not configured/)

  const invalid = await runCheck({ REDIS_AUTH: 'kerberos', REDIS_URL: server.url })
  t.equal(invalid.code, 1)
  t.match(invalid.output, /REDIS_AUTH: must be one of none, password, entra/)
})

t.test('an unreachable Redis is reported with its last connection error', { timeout: 30_000 }, async (t) => {
  const port = await freePort()
  const { code, output } = await runCheck({ REDIS_URL: `redis://127.0.0.1:${port}` })
  t.equal(code, 1)
  t.match(output, /FAILED: Redis did not become ready .*ECONNREFUSED/)
})

t.test('with Entra ID: the token\'s identity and expiry are shown, never the token', async (t) => {
  const server = await startRedis(t)
  const stand: { in?: EntraRedis } = {}
  const credential = new FakeEntraCredential({
    lifetimeMs: 60_000, onIssue: async (token: AccessToken) => await stand.in!.accept(token)
  })
  stand.in = await EntraRedis.start(t, [server], credential.oid)
  const lines: string[] = []
  const passed = await checkRedis(loadConfig({ AUTH_MODE: 'none', REDIS_URL: server.url, REDIS_AUTH: 'entra' }), {
    credential, print: (line) => lines.push(line)
  })
  t.ok(passed, lines.join('\n'))
  t.match(lines.join('\n'), new RegExp(`token: for ${credential.oid}, expires \\d{4}-`))
  t.notOk(lines.join('\n').includes(credential.issued[0]!.token.split('.')[2]!), 'the token is not printed')
})
