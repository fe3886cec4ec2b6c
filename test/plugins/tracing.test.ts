// Traces, as a collector receives them over OTLP: the caller's trace continued, a server span per request named and
// described as the HTTP conventions say, a client span per Redis call under it as the database conventions say, no
// secret anywhere, log lines that carry the trace, and nothing sent at all while tracing is off.
import { setTimeout as sleep } from 'node:timers/promises'
import type { FastifyInstance } from 'fastify'
import t from 'tap'
import { buildApp } from '../../src/app.js'
import { loadConfig, ConfigError } from '../../src/config/index.js'
import { buildTestApp, captureLogs } from '../helpers/app.js'
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../helpers/otlp-receiver.js'
import { EntraRedis } from '../helpers/entra-redis.js'
import { FakeEntraCredential } from '../helpers/fake-entra-credential.js'
import { startRedis } from '../helpers/redis-server.js'
import { until } from '../helpers/until.js'

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736'
const CALLER_SPAN_ID = '00f067aa0ba902b7'
const traceparent = (flags = '01') => `00-${TRACE_ID}-${CALLER_SPAN_ID}-${flags}`
const SERVER = 2
const CLIENT = 3

/** The env that sends spans to the receiver at once (a short batch delay), in the given protocol. */
const tracingEnv = (receiver: OtlpReceiver, protocol = 'http/json') => ({
  OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
  OTEL_EXPORTER_OTLP_PROTOCOL: protocol,
  OTEL_SERVICE_NAME: 'cache-service-under-test',
  OTEL_BSP_SCHEDULE_DELAY: '20'
})

/** The spans exported once the app closes (which flushes its queue). */
async function exportedBy (app: FastifyInstance, receiver: OtlpReceiver): Promise<ReceivedSpan[]> {
  await app.close()
  return receiver.spans
}

/** The spans as a tree, each under its parent, with its kind and main attributes: for a reader of the test's output. */
function treeOf (spans: ReceivedSpan[], parent = CALLER_SPAN_ID, depth = 0): string {
  return spans.filter(({ parentSpanId }) => parentSpanId === parent).map((span) => {
    const shown = ['http.response.status_code', 'http.route', 'db.system.name', 'db.operation.name',
      'db.stored_procedure.name', 'server.port'].filter((name) => span.attributes[name] !== undefined)
      .map((name) => `${name}=${String(span.attributes[name])}`)
    const line = `${'  '.repeat(depth)}${span.name} [${['', 'internal', 'server', 'client'][span.kind]}] ` +
      `${span.spanId} ${shown.join(' ')}`
    return [line, treeOf(spans, span.spanId, depth + 1)].filter(Boolean).join('\n')
  }).join('\n')
}

/** The span and its ancestors up to the root, within the spans received. */
function ancestry (spans: ReceivedSpan[], span: ReceivedSpan): string[] {
  const names: string[] = []
  for (let at: ReceivedSpan | undefined = span; at !== undefined;
    at = spans.find(({ spanId }) => spanId === at!.parentSpanId)) names.push(at.name)
  return names
}

for (const protocol of ['http/json', 'http/protobuf']) {
  t.test(`a request continues the caller's trace, with a span per Redis call under it (${protocol})`, async (t) => {
    const receiver = await startOtlpReceiver(t)
    const redis = await startRedis(t, { args: ['--requirepass', 'redis-password-never-traced'] })
    const app = await buildTestApp(t, {
      env: {
        ...tracingEnv(receiver, protocol),
        REDIS_URL: redis.url,
        REDIS_PASSWORD: 'redis-password-never-traced',
        RATE_LIMIT_MAX: '0'
      }
    })
    // Over a socket, as callers send it: the body arrives in events of the connection's, not of the request's span.
    const base = await app.listen({ port: 0, host: '127.0.0.1' })
    const written = await fetch(`${base}/cache/traced-key?ttl=60`, {
      method: 'PUT',
      headers: { traceparent: traceparent(), tracestate: 'vendor=opaque', 'content-type': 'text/plain' },
      body: 'value-never-traced'
    })
    t.equal(written.status, 201)
    t.equal((await fetch(`${base}/cache/traced-key`, { headers: { traceparent: traceparent() } })).status, 200)
    const spans = await exportedBy(app, receiver)

    t.match(receiver.contentTypes[0], protocol === 'http/json' ? 'application/json' : 'application/x-protobuf')
    const server = spans.filter(({ kind }) => kind === SERVER)
    t.same(server.map(({ name }) => name), ['PUT /cache/:key', 'GET /cache/:key'], 'a server span per request')
    t.comment(`trace ${TRACE_ID}, under the caller's span ${CALLER_SPAN_ID}:\n${treeOf(spans)}`)
    for (const span of server) {
      t.equal(span.traceId, TRACE_ID, 'in the caller\'s trace')
      t.equal(span.parentSpanId, CALLER_SPAN_ID, 'under the caller\'s span')
      t.equal(span.resource['service.name'], 'cache-service-under-test')
    }
    t.equal(server[0]!.traceState, 'vendor=opaque', 'the caller\'s tracestate carried on')
    t.match(server[0]!.attributes, {
      'http.request.method': 'PUT',
      'http.route': '/cache/:key',
      'http.response.status_code': 201,
      'url.scheme': 'http',
      'url.path': '/cache/traced-key',
      'server.address': '127.0.0.1',
      'server.port': Number(new URL(base).port),
      'client.address': '127.0.0.1',
      'network.protocol.version': '1.1'
    })
    const redisSpans = spans.filter(({ kind }) => kind === CLIENT)
    t.same(redisSpans.map(({ name }) => name), ['EVALSHA cachePut', 'EVALSHA cacheGet'], 'a span per Redis call')
    for (const span of redisSpans) {
      t.match(span.attributes, {
        'db.system.name': 'redis',
        'db.operation.name': 'EVALSHA',
        'db.stored_procedure.name': /^cache(Put|Get)$/,
        'db.namespace': '0',
        'server.address': '127.0.0.1',
        'server.port': redis.port
      })
      t.equal(span.traceId, TRACE_ID)
      t.equal(ancestry(spans, span).at(-1), span.name.endsWith('Put') ? 'PUT /cache/:key' : 'GET /cache/:key',
        'under its request\'s span')
    }
    const everything = receiver.raw.join('\n')
    for (const secret of ['value-never-traced', 'redis-password-never-traced', 'redis.call']) {
      t.notOk(everything.includes(secret), `nothing exported holds ${secret}`)
    }
  })
}

t.test('a failure of the service marks its span an error, with its kind; a caller\'s mistake does not', async (t) => {
  const receiver = await startOtlpReceiver(t)
  const redis = await startRedis(t)
  const app = await buildTestApp(t, {
    env: { ...tracingEnv(receiver), REDIS_URL: redis.url, REDIS_COMMAND_TIMEOUT_MS: '300', RATE_LIMIT_MAX: '0' }
  })
  const headers = { traceparent: traceparent() }
  t.equal((await app.inject({ method: 'PUT', url: '/cache/k?ttl=0', headers, payload: 'v' })).statusCode, 400)
  await redis.kill()
  t.equal((await app.inject({ method: 'GET', url: '/cache/k', headers })).statusCode, 503)
  // By name: the two may come in one export or in two, in either order.
  const spans = (await exportedBy(app, receiver)).filter(({ kind }) => kind === SERVER)
    .sort((a, b) => a.name.localeCompare(b.name))
  t.match(spans.map(({ name, status, attributes }) => ({ name, status, attributes })), [
    {
      name: 'GET /cache/:key',
      status: 2,
      attributes: { 'http.response.status_code': 503, 'error.type': 'CS_STORE_UNAVAILABLE' }
    },
    { name: 'PUT /cache/:key', status: 0, attributes: { 'http.response.status_code': 400, 'error.type': undefined } }
  ])
  const redisSpan = receiver.spans.find(({ name }) => name === 'EVALSHA cacheGet')
  t.match(redisSpan, { status: 2, attributes: { 'error.type': String } }, 'and its Redis call\'s')
})

t.test('no secret in any span: session ids, API keys, script bodies, values', async (t) => {
  const receiver = await startOtlpReceiver(t)
  const redis = await startRedis(t)
  const app = await buildTestApp(t, { env: { ...tracingEnv(receiver), REDIS_URL: redis.url } })
  const created = await app.inject({
    method: 'POST',
    url: '/sessions',
    headers: { traceparent: traceparent() },
    payload: { data: { cart: 'secret-cart' } }
  })
  t.equal(created.statusCode, 201)
  const id = String(created.json().id)
  for (const url of [`/sessions/${id}`, `/%73essions/${id}`, `//sessions/${id}`, `/sessions/${id}?touch=false`]) {
    await app.inject({ method: 'GET', url, headers: { traceparent: traceparent() } })
  }
  await app.inject({
    method: 'PATCH',
    url: `/sessions/${id}`,
    headers: { traceparent: traceparent(), 'content-type': 'application/merge-patch+json' },
    payload: { cart: 'other-secret' }
  })
  const spans = await exportedBy(app, receiver)
  const everything = receiver.raw.join('\n')
  t.notOk(everything.includes(id), 'the session id appears nowhere')
  t.notOk(everything.includes(id.slice(0, 12)), 'nor any part of it')
  for (const secret of ['secret-cart', 'other-secret', 'redis.call(', 'KEYS[1]']) {
    t.notOk(everything.includes(secret), `nor ${secret}`)
  }
  const paths = spans.filter(({ kind }) => kind === SERVER).map(({ attributes }) => attributes['url.path'])
  t.same(paths, [
    '/sessions', '/sessions/[redacted]', '/sessions/[redacted]', '[no matching route]', '/sessions/[redacted]',
    '/sessions/[redacted]'
  ], 'each path as the logs show it')
  t.ok(spans.some(({ name }) => name === 'EVALSHA sessionGet'), 'the session scripts by name')
})

t.test('a lease wait, a bulk request and a tag\'s invalidation batches: a span each, not one per key', async (t) => {
  const receiver = await startOtlpReceiver(t)
  const redis = await startRedis(t)
  const app = await buildTestApp(t, { env: { ...tracingEnv(receiver), REDIS_URL: redis.url, RATE_LIMIT_MAX: '0' } })
  const headers = { traceparent: traceparent() }
  // Somebody holds the lease on a missing value; this reader waits for its write.
  const leased = await app.inject({ method: 'GET', url: '/cache/leased', headers: { 'cache-lease': 'acquire' } })
  t.equal(leased.headers['cache-lease'], 'granted; ttl=5')
  const waiting = app.inject({ method: 'GET', url: '/cache/leased', headers: { ...headers, prefer: 'wait=5' } })
  await sleep(100)
  await app.inject({ method: 'PUT', url: '/cache/leased', payload: 'computed' })
  t.equal((await waiting).statusCode, 200)

  const keys = Array.from({ length: 50 }, (_, i) => `bulk-${i}`)
  await app.inject({ method: 'POST', url: '/cache-bulk/get', headers, payload: { keys } })
  for (const key of keys.slice(0, 30)) {
    await app.inject({ method: 'PUT', url: `/cache/${key}`, headers: { 'cache-tag': 'many' }, payload: 'v' })
  }
  t.equal((await app.inject({ method: 'DELETE', url: '/cache?tag=many', headers })).statusCode, 200)
  const spans = await exportedBy(app, receiver)

  const wait = spans.find(({ name }) => name === 'cache lease wait')
  t.match(wait?.attributes, { 'cache_service.lease.wait_ms': 5000, 'cache_service.lease.outcome': 'value' })
  t.equal(ancestry(spans, wait!).at(-1), 'GET /cache/:key', 'under the waiting read')
  const bulk = spans.find(({ name }) => name === 'cache bulk read')
  t.match(bulk?.attributes, { 'cache_service.bulk.keys': 50 })
  t.same(spans.filter(({ parentSpanId }) => parentSpanId === bulk?.spanId), [], 'its keys\' calls are not a span each')
  const batches = spans.filter(({ name }) => name === 'tag invalidation batch')
  t.equal(batches.length, 1, 'one batch of 30 members')
  t.match(batches[0]?.attributes, {
    'cache_service.tag.mode': 'remove', 'cache_service.tag.members': 30, 'cache_service.tag.removed': 30
  })
  const traced = spans.filter(({ traceId }) => traceId === TRACE_ID)
  t.ok(traced.length < 20, `${traced.length} spans in the caller's trace, for 80 keys`)
})

t.test('each Entra token refresh is a trace of its own, failed ones marked, never holding the token', async (t) => {
  const receiver = await startOtlpReceiver(t)
  const server = await startRedis(t)
  const stand: { in?: EntraRedis } = {}
  const credential = new FakeEntraCredential({
    lifetimeMs: 3000, onIssue: async (token) => await stand.in!.accept(token)
  })
  stand.in = await EntraRedis.start(t, [server], credential.oid)
  const config = loadConfig({
    ...tracingEnv(receiver), LOG_LEVEL: 'silent', AUTH_MODE: 'none', REDIS_URL: server.url, REDIS_AUTH: 'entra'
  })
  const app = await buildApp(config, { credential, tokenBackoff: { baseDelayMs: 50, maxDelayMs: 300 } })
  t.teardown(() => app.close())
  credential.failNext(1)
  // A token of 3 s is refreshed well before it ends: the first attempt fails, the retry succeeds.
  const refreshes = () => receiver.spans.filter(({ name }) => name === 'entra token refresh')
  await until(() => refreshes().length >= 2, 'a failed refresh and a good one')
  await app.close()
  const described = refreshes().map(({ attributes, status, parentSpanId }) => ({ attributes, status, parentSpanId }))
  t.match(described.slice(0, 2), [
    {
      attributes: { 'cache_service.token.outcome': 'failed', 'error.type': 'AuthenticationError' },
      status: 2,
      parentSpanId: ''
    },
    { attributes: { 'cache_service.token.outcome': 'refreshed' }, status: 0, parentSpanId: '' }
  ])
  const everything = receiver.raw.join('\n')
  t.notOk(credential.issued.some(({ token }) => everything.includes(token)), 'no token is exported')
})

t.test('an unsampled caller, a ratio of 0, probes and the service\'s own Redis calls start no trace', async (t) => {
  const receiver = await startOtlpReceiver(t)
  const redis = await startRedis(t)
  const app = await buildTestApp(t, {
    env: {
      ...tracingEnv(receiver),
      REDIS_URL: redis.url,
      OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
      OTEL_TRACES_SAMPLER_ARG: '0'
    }
  })
  await app.inject({ method: 'GET', url: '/cache/k', headers: { traceparent: traceparent('00') } })
  await app.inject({ method: 'GET', url: '/cache/k' })
  await app.inject({ method: 'GET', url: '/healthz', headers: { traceparent: traceparent() } })
  await app.inject({ method: 'GET', url: '/readyz', headers: { traceparent: traceparent() } })
  // Heartbeats and clock samples run every second.
  await sleep(1500)
  await app.inject({ method: 'GET', url: '/cache/k', headers: { traceparent: traceparent() } })
  const spans = await exportedBy(app, receiver)
  t.same(spans.filter(({ kind }) => kind === SERVER).map(({ name }) => name), ['GET /cache/:key'],
    'only the request whose caller sampled it')
  t.ok(spans.every((span) => span.traceId === TRACE_ID && ancestry(spans, span).at(-1) === 'GET /cache/:key'),
    'and its Redis calls (a clock sample among them, maybe): nothing outside it')
  t.ok(spans.some(({ name }) => name === 'EVALSHA cacheGet'))
})

t.test('a forged or malformed traceparent is ignored: the request starts a trace of its own', async (t) => {
  const receiver = await startOtlpReceiver(t)
  const app = await buildTestApp(t, { env: tracingEnv(receiver) })
  const forged = [
    'garbage',
    `00-${'0'.repeat(32)}-${CALLER_SPAN_ID}-01`,
    `00-${TRACE_ID}-${'0'.repeat(16)}-01`,
    `ff-${TRACE_ID}-${CALLER_SPAN_ID}-01`,
    `00-${TRACE_ID.toUpperCase()}-${CALLER_SPAN_ID}-01`,
    `00-${TRACE_ID}-${CALLER_SPAN_ID}-01-${'x'.repeat(4000)}`
  ]
  for (const header of forged) {
    await app.inject({
      method: 'GET', url: '/cache/k', headers: { traceparent: header, tracestate: `a=${'b'.repeat(300)},`.repeat(40) }
    })
  }
  const server = (await exportedBy(app, receiver)).filter(({ kind }) => kind === SERVER)
  t.equal(server.length, forged.length, 'each answered, and traced')
  t.ok(server.every(({ traceId, parentSpanId }) => traceId !== TRACE_ID && /^[0-9a-f]{32}$/.test(traceId) &&
    !/^0+$/.test(traceId) && parentSpanId === ''), 'each in a new trace, as its root')
  t.ok(server.every(({ traceState }) => traceState.length <= 512), 'and no oversized tracestate carried on')
})

t.test('a traced request\'s log lines carry its trace and span ids; an untraced one\'s none', async (t) => {
  const receiver = await startOtlpReceiver(t)
  const logs = captureLogs()
  const app = await buildTestApp(t, { env: tracingEnv(receiver), logs })
  await app.inject({ method: 'GET', url: '/cache/missing', headers: { traceparent: traceparent() } })
  await app.inject({ method: 'GET', url: '/cache/missing', headers: { traceparent: traceparent('00') } })
  const spans = await exportedBy(app, receiver)
  const server = spans.find(({ kind }) => kind === SERVER)!
  const completed = logs.lines().filter(({ msg }) => msg === 'request completed')
  t.equal(completed.length, 2)
  t.match(completed[0], { trace_id: TRACE_ID, span_id: server.spanId })
  t.notOk('trace_id' in completed[1]!, 'a request not traced has no ids to join')
})

t.test('nothing is sent while tracing is off', async (t) => {
  const receiver = await startOtlpReceiver(t)
  const off: Array<Record<string, string>> = [
    {},
    { OTEL_SERVICE_NAME: 'named-but-not-exporting' },
    { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_SDK_DISABLED: 'true' },
    { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_TRACES_EXPORTER: 'none' }
  ]
  for (const env of off) {
    const app = await buildTestApp(t, { env: { ...env, OTEL_BSP_SCHEDULE_DELAY: '20' } })
    await app.inject({ method: 'GET', url: '/cache/k', headers: { traceparent: traceparent() } })
    await app.close()
  }
  await sleep(100)
  t.same(receiver.raw, [], 'no export reached the receiver')
})

t.test('the OTEL_* variables are checked at startup, and a bad one is named, never quoted', async (t) => {
  const refused = (env: Record<string, string>) => {
    try {
      loadConfig(env)
      return ''
    } catch (err) {
      t.type(err, ConfigError)
      return (err as Error).message
    }
  }
  const endpoint = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }
  t.match(refused({ ...endpoint, OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }), /OTEL_EXPORTER_OTLP_PROTOCOL: must be one of/)
  t.match(refused({ ...endpoint, OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '1.5' }),
    /OTEL_TRACES_SAMPLER_ARG: must be a number from 0 to 1/)
  t.match(refused({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' }), /OTEL_EXPORTER_OTLP_ENDPOINT: must be an http/)
  const headers = refused({ ...endpoint, OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer%20ok,secret-token-xyz' })
  t.match(headers, /OTEL_EXPORTER_OTLP_HEADERS: entry 2 must be key=value/)
  t.notOk(headers.includes('secret-token-xyz'), 'the header is not quoted')

  t.equal(loadConfig({}).tracing, undefined, 'off by default')
  t.match(loadConfig({
    ...endpoint,
    OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer%20abc, x-tenant = t1',
    OTEL_RESOURCE_ATTRIBUTES: 'service.name=from-attributes,deployment.environment.name=prod',
    OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
    OTEL_TRACES_SAMPLER_ARG: '0.01'
  }).tracing, {
    url: 'http://collector:4318/v1/traces',
    protocol: 'http/protobuf',
    headers: { authorization: 'Bearer abc', 'x-tenant': 't1' },
    serviceName: 'from-attributes',
    resourceAttributes: { 'deployment.environment.name': 'prod' },
    sampler: 'parentbased_traceidratio',
    samplerRatio: 0.01
  })
  t.match(loadConfig({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://in.example/otlp/traces' }).tracing,
    { url: 'https://in.example/otlp/traces', serviceName: 'cache-service', sampler: 'parentbased_always_on' })
})
