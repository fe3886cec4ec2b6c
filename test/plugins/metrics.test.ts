// /metrics, on its own listener, after some traffic: what operators graph and alert on.
import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { buildMetricsServer } from '../../src/metrics-server.js'
import { buildTestApp } from '../helpers/app.js'
import { startRedis } from '../helpers/redis-server.js'

t.test('requests, cache hits and misses, Redis commands and connection, process metrics', async (t) => {
  const redis = await startRedis(t)
  const app = await buildTestApp(t, { env: { REDIS_URL: redis.url } })
  await app.inject({ method: 'PUT', url: '/cache/secret-key-name', payload: 'v' })
  await app.inject({ method: 'GET', url: '/cache/secret-key-name' })
  await app.inject({ method: 'GET', url: '/cache/secret-key-name' })
  await app.inject({ method: 'GET', url: '/cache/absent-key-name' })
  await app.inject({ method: 'GET', url: '/nowhere' })

  const metricsServer = buildMetricsServer(app)
  t.teardown(() => metricsServer.close())
  const res = await metricsServer.inject({ method: 'GET', url: '/metrics' })
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /^text\/plain; version=0\.0\.4/)
  const body = res.body
  t.match(body, /^http_request_duration_seconds_count\{route="\/cache\/:key",method="GET",status_code="200"\} 2$/m)
  t.match(body, /^http_request_duration_seconds_count\{route="\/cache\/:key",method="GET",status_code="404"\} 1$/m)
  t.match(body, /^http_request_duration_seconds_count\{route="\/cache\/:key",method="PUT",status_code="201"\} 1$/m)
  t.match(body, /^cache_lookups_total\{result="hit"\} 2$/m)
  t.match(body, /^cache_lookups_total\{result="miss"\} 1$/m)
  t.match(body, /^redis_command_duration_seconds_count\{command="cacheGet"\} 3$/m)
  t.match(body, /^redis_command_duration_seconds_count\{command="cachePut"\} 1$/m)
  t.match(body, /^redis_connection_up 1$/m)
  // The same, under the OpenTelemetry semantic conventions' names, for standard dashboards.
  const server = (method: string, route: string, status: number) => new RegExp(
    `^http_server_request_duration_seconds_count\\{http_request_method="${method}",http_route="${route}",` +
    `http_response_status_code="${status}",url_scheme="http"\\} 1$`, 'm')
  t.match(body, server('PUT', '/cache/:key', 201))
  t.match(body, server('GET', '/cache/:key', 404))
  t.match(body, server('GET', '', 404), 'a path no route matches has no route')
  t.match(body, /^http_server_request_duration_seconds_bucket\{le="0.0005",/m, 'buckets fine enough for a cache')
  t.match(body, new RegExp('^db_client_operation_duration_seconds_count\\{db_system_name="redis",' +
    'db_operation_name="EVALSHA",db_stored_procedure_name="cacheGet",error_type=""\\} 3$', 'm'))
  t.match(body, /^process_cpu_seconds_total /m)
  t.match(body, /^nodejs_eventloop_lag_seconds /m)
  t.notMatch(body, /secret-key-name|absent-key-name|nowhere/, 'no raw URL or key appears in a label')

  await redis.kill()
  t.equal((await app.inject({ method: 'GET', url: '/cache/secret-key-name' })).statusCode, 503)
  // The client notices the closed socket a moment after the process dies.
  let down = await metricsServer.inject({ method: 'GET', url: '/metrics' })
  for (let i = 0; i < 50 && !/^redis_connection_up 0$/m.test(down.body); i++) {
    await sleep(50)
    down = await metricsServer.inject({ method: 'GET', url: '/metrics' })
  }
  t.match(down.body, /^redis_connection_up 0$/m, 'the connection state follows Redis')
  // The rate limit admitted the request from the budget this replica took earlier, with no call; the store's read
  // failed it, and nothing else was tried.
  t.match(down.body, /^redis_command_errors_total\{command="cacheGet"\} 1$/m, 'failed commands are counted')
  t.match(down.body, new RegExp('^db_client_operation_duration_seconds_count\\{[^}]*' +
    'db_stored_procedure_name="cacheGet",error_type="StoreUnavailableError"\\} 1$', 'm'), 'with their kind of error')
  t.notMatch(down.body, /^redis_command_errors_total\{command="rateLimit"\}/m, 'the counter was not asked')
  t.notMatch(down.body, /redis_token_/, 'no token metrics without Entra ID')
})

t.test('the metrics listener answers the liveness probe, as the API does', async (t) => {
  const app = await buildTestApp(t)
  const metricsServer = buildMetricsServer(app)
  t.teardown(() => metricsServer.close())
  const [api, metrics] = await Promise.all([app, metricsServer]
    .map(async (server) => await server.inject({ method: 'GET', url: '/healthz' })))
  t.equal(metrics!.statusCode, 200)
  t.same(metrics!.json(), api!.json())
})

t.test('the embedded store reports no Redis connection at all', async (t) => {
  const app = await buildTestApp(t)
  await app.ready()
  const res = await buildMetricsServer(app).inject({ method: 'GET', url: '/metrics' })
  t.notMatch(res.body, /redis_/)
})
