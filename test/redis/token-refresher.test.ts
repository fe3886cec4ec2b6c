// The token refresher on its own: schedule, one refresh at a time, timeouts, failures, shutdown, secrecy.
import { spawn } from 'node:child_process'
import { setTimeout as sleep } from 'node:timers/promises'
import type { AccessToken } from '@azure/core-auth'
import { pino } from 'pino'
import t, { type Test } from 'tap'
import { isTransientCredentialError, TokenRefresher } from '../../src/redis/token-refresher.js'
import { captureLogs } from '../helpers/app.js'
import { FakeEntraCredential } from '../helpers/fake-entra-credential.js'

const SCOPE = 'https://redis.azure.com/.default'

// A running service keeps its event loop busy; a test must too, or the refresher's unref'd timers would let the
// process end in the middle of a test.
const keepAlive = setInterval(() => {}, 1000)
t.teardown(() => clearInterval(keepAlive))

function refresherFor (t: Test, credential: FakeEntraCredential, attemptTimeoutMs = 5000) {
  const logs = captureLogs()
  const applied: AccessToken[] = []
  const refresher = new TokenRefresher({
    credential,
    scope: SCOPE,
    log: pino({ level: 'debug' }, logs.stream),
    attemptTimeoutMs,
    backoff: { baseDelayMs: 20, maxDelayMs: 200 },
    apply: async (token) => { applied.push(token) }
  })
  t.teardown(() => refresher.stop())
  return { refresher, applied, logs }
}

t.test('the first token comes from start(); each later one is applied before the current expires', async (t) => {
  const credential = new FakeEntraCredential({ lifetimeMs: 1000 })
  const { refresher, applied } = refresherFor(t, credential)
  const first = await refresher.start()
  t.equal(first, credential.issued[0])
  t.ok(refresher.hasValidToken())
  await sleep(3500)
  t.ok(applied.length >= 2, `${applied.length} tokens applied`)
  for (const [i, token] of applied.entries()) {
    const previous = credential.issued[i]!
    t.ok(token.expiresOnTimestamp > previous.expiresOnTimestamp, `token ${i + 1} is newer`)
  }
  t.equal(refresher.status().refreshes, applied.length + 1)
  t.equal(refresher.status().tokenExpiresAt, applied.at(-1)!.expiresOnTimestamp)
})

t.test('one refresh at a time, shared by every caller', async (t) => {
  const credential = new FakeEntraCredential({ lifetimeMs: 60_000 })
  const { refresher, applied } = refresherFor(t, credential)
  await refresher.start()
  await Promise.all(Array.from({ length: 10 }, () => refresher.refresh()))
  t.equal(credential.calls, 2, 'ten callers, one request for a token')
  t.equal(applied.length, 1)
})

t.test('a cached copy is not applied; the refresher asks again later', async (t) => {
  const credential = new FakeEntraCredential({ lifetimeMs: 60_000, cacheWhileRemainingMs: 30_000 })
  const { refresher, applied, logs } = refresherFor(t, credential)
  await refresher.start()
  await refresher.refresh()
  t.equal(credential.calls, 2)
  t.same(applied, [], 'nothing new to send')
  t.match(logs.text(), /cached token/)
})

t.test('an attempt that hangs times out, and is retried', async (t) => {
  const credential = new FakeEntraCredential({ lifetimeMs: 60_000 })
  const { refresher, applied } = refresherFor(t, credential, 100)
  await refresher.start()
  credential.failNext(1, 'hang')
  await refresher.refresh()
  t.equal(refresher.status().refreshFailures, 1)
  await sleep(400)
  t.equal(applied.length, 1, 'the retry got a token')
})

t.test('transient failures back off and recover; non-transient ones are surfaced as errors', async (t) => {
  const credential = new FakeEntraCredential({ lifetimeMs: 60_000 })
  const { refresher, applied, logs } = refresherFor(t, credential)
  await refresher.start()
  credential.failNext(3, 'transient')
  credential.failNext(1, 'unavailable')
  await refresher.refresh()
  await sleep(1200)
  t.equal(refresher.status().refreshFailures, 4)
  t.equal(applied.length, 1, 'then it recovered')
  const levels = logs.lines().filter((line) => line.msg?.toString().startsWith('redis token refresh failed'))
    .map((line) => line.level)
  t.same(levels, [40, 40, 40, 50], 'three warnings, then an error for the identity that is not configured')
})

t.test('start() fails clearly when no token can be had', async (t) => {
  const credential = new FakeEntraCredential({ lifetimeMs: 60_000 })
  credential.failNext(1, 'unavailable')
  const { refresher } = refresherFor(t, credential)
  await t.rejects(refresher.start(), {
    message: `could not get a Microsoft Entra ID token for Redis (scope ${SCOPE}): no identity is configured here`
  })
  t.notOk(refresher.hasValidToken())
})

t.test('no log line holds a token', async (t) => {
  const credential = new FakeEntraCredential({ lifetimeMs: 500 })
  const { refresher, logs } = refresherFor(t, credential)
  await refresher.start()
  credential.failNext(1)
  await sleep(1500)
  t.ok(credential.issued.length >= 2)
  t.match(logs.text(), /redis token refreshed/)
  for (const { token } of credential.issued) {
    t.notOk(logs.text().includes(token.split('.')[2]!), 'the signature is not in the log')
    t.notOk(logs.text().includes(token.split('.')[1]!), 'nor are the claims')
  }
})

t.test('errors are sorted into transient and not', async (t) => {
  t.ok(isTransientCredentialError(new Error('socket hang up')))
  t.ok(isTransientCredentialError(Object.assign(new Error('x'), { statusCode: 503 })))
  t.ok(isTransientCredentialError(Object.assign(new Error('x'), { statusCode: 429 })))
  t.notOk(isTransientCredentialError(Object.assign(new Error('x'), { statusCode: 401 })))
  t.notOk(isTransientCredentialError(Object.assign(new Error('x'), { name: 'CredentialUnavailableError' })))
})

t.test('a started refresher does not keep the process alive, and stop() ends its work', async (t) => {
  const script = `
    import { TokenRefresher } from './src/redis/token-refresher.ts'
    import { pino } from 'pino'
    const credential = { getToken: async () => ({ token: 'a.b.c', expiresOnTimestamp: Date.now() + 3600_000 }) }
    const log = pino({ level: 'silent' })
    const refresher = new TokenRefresher({ credential, scope: 's', log, apply: async () => {} })
    await refresher.start()
    console.log('started')
  `
  const child = spawn(process.execPath, [...process.execArgv, '--input-type=module', '-e', script], { stdio: 'pipe' })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString() })
  child.stderr.on('data', (chunk: Buffer) => { output += chunk.toString() })
  const code = await Promise.race([
    new Promise((resolve) => child.on('exit', resolve)),
    sleep(10_000).then(() => { child.kill(); return 'still running' })
  ])
  t.equal(code, 0, output)
  t.match(output, /started/)

  const credential = new FakeEntraCredential({ lifetimeMs: 400 })
  const { refresher } = refresherFor(t, credential)
  await refresher.start()
  refresher.stop()
  await sleep(800)
  t.equal(credential.calls, 1, 'no refresh after stop()')
})

t.test('a failed apply is a failure: counted, logged and retried, and the refresher keeps going', async (t) => {
  const credential = new FakeEntraCredential({ lifetimeMs: 2000 })
  const logs = captureLogs()
  const applied: AccessToken[] = []
  let failuresLeft = 1
  const refresher = new TokenRefresher({
    credential,
    scope: SCOPE,
    log: pino({ level: 'debug' }, logs.stream),
    backoff: { baseDelayMs: 20, maxDelayMs: 200 },
    apply: async (token) => {
      if (failuresLeft-- > 0) throw new Error('every connection refused the new token')
      applied.push(token)
    }
  })
  t.teardown(() => refresher.stop())
  await refresher.start()
  // The first refresh comes at 75-80 % of 2 s; its apply throws; the retry follows after the backoff.
  await sleep(2500)
  t.equal(refresher.status().refreshFailures, 1, 'the failed apply is counted')
  t.ok(applied.length >= 1, 'a later token was applied')
  t.ok(credential.calls >= 3, `getToken was called again (${credential.calls} calls)`)
  t.ok(refresher.hasValidToken(), 'the token in use never lapsed')
  t.match(logs.text(), /redis token could not be applied/)
  t.notOk(logs.text().includes(credential.issued[1]!.token), 'the token is not logged')
})
