// Request lines: at info only failed (5xx) and slow requests are logged; at debug every request, in full.
import t from 'tap'
import { buildTestApp, captureLogs } from '../helpers/app.js'
import { startRedis } from '../helpers/redis-server.js'

const requestLines = (lines: Array<Record<string, unknown>>) =>
  lines.filter((line) => line.msg === 'incoming request' || line.msg === 'request completed')

t.test('at info, a fast successful request writes no line; a failed one writes one, naming it', async (t) => {
  const redis = await startRedis(t)
  const logs = captureLogs()
  const app = await buildTestApp(t, { env: { LOG_LEVEL: 'info', REDIS_URL: redis.url }, logs })
  t.equal((await app.inject({ method: 'PUT', url: '/cache/k', payload: 'v' })).statusCode, 201)
  t.equal((await app.inject({ method: 'GET', url: '/cache/k' })).statusCode, 200)
  t.same(requestLines(logs.lines()), [], 'nothing for two fast successes')

  await redis.kill()
  t.equal((await app.inject({ method: 'GET', url: '/cache/k' })).statusCode, 503)
  const [failed, ...more] = requestLines(logs.lines())
  t.equal(more.length, 0)
  t.match(failed, {
    level: 30, msg: 'request completed', req: { method: 'GET', url: '/cache/k' }, res: { statusCode: 503 }
  })
  t.type(failed?.responseTime, 'number')
})

t.test('LOG_SLOW_REQUEST_MS=0 logs every request at info', async (t) => {
  const logs = captureLogs()
  const app = await buildTestApp(t, { env: { LOG_LEVEL: 'info', LOG_SLOW_REQUEST_MS: '0' }, logs })
  await app.inject({ method: 'GET', url: '/healthz' })
  const [line] = requestLines(logs.lines())
  t.match(line, { msg: 'request completed', req: { url: '/healthz' }, res: { statusCode: 200 } })
})

t.test('at debug, every request has an incoming and a completed line', async (t) => {
  const logs = captureLogs()
  const app = await buildTestApp(t, { env: { LOG_LEVEL: 'debug' }, logs })
  await app.inject({ method: 'GET', url: '/healthz' })
  t.same(requestLines(logs.lines()).map((line) => line.msg), ['incoming request', 'request completed'])
})
