// Microsoft Entra ID against a faithful stand-in: tokens that really expire, and a Redis that closes every
// connection that did not send a newer token in time. Rotations under load must cost no request and no connection.
import { setTimeout as sleep } from 'node:timers/promises'
import type { FastifyInstance } from 'fastify'
import { Redis } from 'ioredis'
import t, { type Test } from 'tap'
import { buildApp } from '../../src/app.js'
import { loadConfig } from '../../src/config/index.js'
import { buildMetricsServer } from '../../src/metrics-server.js'
import { EntraRedis } from '../helpers/entra-redis.js'
import { FakeEntraCredential, type FakeEntraOptions } from '../helpers/fake-entra-credential.js'
import { holdToDocument } from '../helpers/openapi-conformance.js'
import { startRedis } from '../helpers/redis-server.js'

const SCOPE = 'https://redis.azure.com/.default'
const FAST_BACKOFF = { baseDelayMs: 50, maxDelayMs: 300 }
const BASE_ENV = { LOG_LEVEL: 'silent', AUTH_MODE: 'none', RATE_LIMIT_MAX: '0' }
const SESSION = '/sessions/load-session-id-0000001'
const JSON_TYPE = { 'content-type': 'application/json' }
const PATCH_TYPE = { 'content-type': 'application/merge-patch+json' }

async function setUp (t: Test, options: Omit<FakeEntraOptions, 'onIssue'>) {
  const server = await startRedis(t)
  const stand: { in?: EntraRedis } = {}
  // The credential tells the stand-in about each token it issues, as Entra and Azure share a trust.
  const credential = new FakeEntraCredential({ ...options, onIssue: async (token) => await stand.in!.accept(token) })
  const emulator = await EntraRedis.start(t, [server], credential.oid)
  stand.in = emulator
  return { server, credential, emulator }
}

async function entraApp (t: Test, url: string, credential: FakeEntraCredential): Promise<FastifyInstance> {
  // The load here is far above any sane rate limit, which has tests of its own.
  const config = loadConfig({ ...BASE_ENV, REDIS_URL: url, REDIS_AUTH: 'entra' })
  const app = await buildApp(config, { credential, tokenBackoff: FAST_BACKOFF })
  t.teardown(() => app.close())
  holdToDocument(app)
  return app
}

/** Requests from a few workers until `done()`; returns every status that was not the expected one. */
async function load (app: FastifyInstance, done: () => boolean): Promise<{ requests: number, failures: string[] }> {
  let requests = 0
  const failures: string[] = []
  const session = await app.inject({ method: 'PUT', url: SESSION, headers: JSON_TYPE, payload: '{"data":{}}' })
  if (session.statusCode !== 201) failures.push(`session setup: ${session.statusCode}`)
  await Promise.all(Array.from({ length: 4 }, async (_, worker) => {
    for (let i = 0; !done(); i++) {
      const key = `/cache/w${worker}-k${i % 20}`
      const results = [await app.inject({ method: 'PUT', url: key, payload: `v${i}` })]
      results.push(...await Promise.all([
        app.inject({ method: 'GET', url: key }),
        app.inject({ method: 'PATCH', url: SESSION, headers: PATCH_TYPE, payload: `{"w${worker}":${i}}` })
      ]))
      requests += results.length
      for (const res of results) if (res.statusCode >= 300) failures.push(`${res.statusCode} ${res.body}`)
      await sleep(5)
    }
  }))
  return { requests, failures }
}

t.test('across 10 rotations under continuous load, no request fails and the connections stay', async (t) => {
  // Tokens of 3 s: a refresh lands about 0.6 s before expiry, room enough for a busy machine.
  const { server, credential, emulator } = await setUp(t, { lifetimeMs: 3000 })
  const app = await entraApp(t, server.url, credential)

  // A control connection that never sends a newer token: the stand-in must close it, or it proves nothing.
  const first = credential.issued[0]!
  const control = new Redis({
    port: server.port,
    host: '127.0.0.1',
    username: credential.oid,
    password: first.token,
    connectionName: 'stale-control',
    retryStrategy: () => null
  })
  control.on('error', () => {})
  t.equal(await control.ping(), 'PONG')

  const counts: number[] = []
  const sample = () => { emulator.connectionsPerNode('cache-service').then(([n]) => counts.push(n!), () => {}) }
  const sampler = setInterval(sample, 200)
  const { requests, failures } = await load(app, () => credential.issued.length > 10)
  clearInterval(sampler)

  t.same(failures, [], `none of ${requests} requests failed`)
  t.ok(credential.issued.length > 10, `${credential.issued.length - 1} rotations`)
  t.ok(counts.length > 20 && counts.every((count) => count === 1), `one connection throughout: ${[...new Set(counts)]}`)
  t.same(emulator.kills.filter((kill) => kill.name.startsWith('cache-service')), [],
    'no service connection was closed, the change channel\'s subscriber included')
  t.ok(emulator.kills.some((kill) => kill.name === 'stale-control'), 'the stale control connection was closed')

  await sleep(300) // the last token may still be on its way to the connection
  const status = app.redisAuthStatus()
  t.equal(status.refreshFailures, 0)
  t.equal(status.reauthenticationFailures, 0)
  // Two connections carry the token: the commands' and, with the near cache on (the default), the change channel's
  // subscriber, made at startup for its heartbeats.
  t.equal(status.reauthentications, 2 * (status.refreshes! - 1), 'every new token reached both connections by AUTH')
  t.ok(status.reauthentications >= 10, `${status.reauthentications} re-authentications`)
  t.ok(status.tokenExpiresAt! > Date.now())
  t.ok(credential.calls < 3 * credential.issued.length, `${credential.calls} token requests: no hammering`)
  control.disconnect()
})

t.test('a credential that returns its cached token is asked again, in time', async (t) => {
  const { server, credential, emulator } = await setUp(t, { lifetimeMs: 3000, cacheWhileRemainingMs: 600 })
  const app = await entraApp(t, server.url, credential)
  const { failures } = await load(app, () => credential.issued.length > 3)
  t.same(failures, [])
  t.same(emulator.kills, [], 'no connection outlived its token')
  const { calls, issued } = credential
  t.ok(calls > issued.length, `cached copies were returned (${calls} calls, ${issued.length} tokens)`)
})

t.test('a credential failing for a while is retried; the service reports not ready, then recovers', async (t) => {
  const { server, credential } = await setUp(t, { lifetimeMs: 2000 })
  const app = await entraApp(t, server.url, credential)
  t.equal((await app.inject({ method: 'GET', url: '/readyz' })).statusCode, 200)

  // Enough transient failures to outlast the token: the service must say so, and come back by itself.
  credential.failNext(14)
  let sawNotReady = false
  const deadline = Date.now() + 20_000
  while (Date.now() < deadline) {
    const ready = await app.inject({ method: 'GET', url: '/readyz' })
    if (ready.statusCode === 503) {
      sawNotReady = true
      t.equal(ready.headers['retry-after'], '1')
    }
    if (sawNotReady && ready.statusCode === 200) break
    await sleep(50)
  }
  t.ok(sawNotReady, 'readiness turned 503 once the token expired')
  t.equal((await app.inject({ method: 'GET', url: '/readyz' })).statusCode, 200, 'and recovered')
  t.equal((await app.inject({ method: 'PUT', url: '/cache/after', payload: 'x' })).statusCode, 201)
  t.ok((app.redisAuthStatus().refreshFailures ?? 0) >= 14, 'every failure was counted')
  const metrics = (await buildMetricsServer(app).inject({ method: 'GET', url: '/metrics' })).body
  t.match(metrics, /^redis_token_refresh_failures_total (1[4-9]|[2-9]\d)$/m, 'and exposed as a metric')
  const expiry = Number(/^redis_token_expiry_timestamp_seconds (\S+)$/m.exec(metrics)?.[1])
  t.ok(expiry * 1000 > Date.now(), 'with the expiry of the token now in use')
  t.match(metrics, /^redis_reauthentications_total\{outcome="ok"\} /m)
})

t.test('startup fails clearly without a token, or when Redis refuses it', async (t) => {
  const { server, credential } = await setUp(t, { lifetimeMs: 60_000 })
  credential.failNext(1, 'unavailable')
  await t.rejects(entraApp(t, server.url, credential), /could not get a Microsoft Entra ID token .*no identity/)

  const stranger = new FakeEntraCredential({ lifetimeMs: 60_000 })
  await t.rejects(entraApp(t, server.url, stranger), /Redis refused the connection: WRONGPASS/)
})

t.test('REDIS_ENTRA_USERNAME overrides the oid claim', async (t) => {
  const { server, credential } = await setUp(t, { lifetimeMs: 60_000 })
  const config = loadConfig({
    ...BASE_ENV, REDIS_URL: server.url, REDIS_AUTH: 'entra', REDIS_ENTRA_USERNAME: 'someone-else'
  })
  await t.rejects(buildApp(config, { credential }), /WRONGPASS/, 'the username is the one configured')
  t.equal(credential.issued.length, 1, 'one token was asked for')
  t.equal(SCOPE, config.redis?.auth.mode === 'entra' && config.redis.auth.scope)
})
