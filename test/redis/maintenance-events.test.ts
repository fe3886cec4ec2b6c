// Azure Cache for Redis's maintenance events (AzureRedisEvents): each is counted by type and logged, a replica
// subscribes again after a reconnect, and a user that may not subscribe to the channel is told once and served.
import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { buildMetricsServer } from '../../src/metrics-server.js'
import { MAINTENANCE_CHANNEL, parseMaintenanceEvent } from '../../src/redis/maintenance-events.js'
import { buildTestApp, captureLogs } from '../helpers/app.js'
import { startRedis } from '../helpers/redis-server.js'
import { until } from '../helpers/until.js'

const STARTING = 'NotificationType|NodeMaintenanceStarting|StartTimeInUTC|2026-12-04T05:00:00|IsReplica|False|' +
  'IPAddress|10.0.0.4|SSLPort|15001|NonSSLPort|13001'

t.test('a message is parsed as Azure documents it', async (t) => {
  t.same(parseMaintenanceEvent(STARTING), {
    type: 'NodeMaintenanceStarting',
    startTimeUtc: '2026-12-04T05:00:00',
    isReplica: false,
    ipAddress: '10.0.0.4',
    sslPort: 15001,
    nonSslPort: 13001
  })
  t.same(parseMaintenanceEvent('NotificationType|NodeMaintenanceEnded'), { type: 'NodeMaintenanceEnded' })
  t.equal(parseMaintenanceEvent('hello'), undefined, 'a message without a type is no event')
  t.equal(parseMaintenanceEvent('NotificationType|'), undefined)
  t.same(parseMaintenanceEvent('NotificationType|X|SSLPort|99999999'), { type: 'X' }, 'a port that is none is left out')
})

t.test('events are counted by type and logged, again after a reconnect', async (t) => {
  const redis = await startRedis(t)
  const logs = captureLogs()
  const app = await buildTestApp(t, { env: { REDIS_URL: redis.url }, logs })
  const metrics = buildMetricsServer(app)
  const count = async (type: string) => {
    const text = (await metrics.inject({ method: 'GET', url: '/metrics' })).body
    return Number(new RegExp(`^redis_maintenance_events_total\\{type="${type}"\\} (\\d+)$`, 'm').exec(text)?.[1])
  }
  const admin = redis.admin()
  await until(async () => await admin.pubsub('NUMSUB', MAINTENANCE_CHANNEL)
    .then((reply) => Number((reply as [string, number])[1]) === 1), 'the subscription')
  t.equal(await count('NodeMaintenanceStarting'), 0, 'every documented type is reported from the start')

  await admin.publish(MAINTENANCE_CHANNEL, STARTING)
  await admin.publish(MAINTENANCE_CHANNEL, 'NotificationType|SomethingNew')
  await admin.publish(MAINTENANCE_CHANNEL, 'not an event')
  await until(async () => await count('other') === 1, 'the events counted')
  t.equal(await count('NodeMaintenanceStarting'), 1)
  const logged = logs.lines().find((line) => line.msg === 'Azure Redis maintenance: NodeMaintenanceStarting')
  t.equal(logged?.level, 40, 'an imminent maintenance is logged at warn')
  t.same(logged?.maintenance, parseMaintenanceEvent(STARTING), 'with what Azure said of it')

  await redis.kill()
  await redis.restart()
  await until(async () => await admin.pubsub('NUMSUB', MAINTENANCE_CHANNEL).then((reply) =>
    Number((reply as [string, number])[1]) === 1).catch(() => false), 'the subscription made again')
  await admin.publish(MAINTENANCE_CHANNEL, 'NotificationType|NodeMaintenanceEnded')
  await until(async () => await count('NodeMaintenanceEnded') === 1, 'the event after the reconnect')
  // The commands' connection comes back on its own backoff, which may end after the subscriber's.
  await until(async () => (await app.inject({ method: 'GET', url: '/readyz' })).statusCode === 200,
    'ready again once the commands\' connection is back too')
  t.pass('the service answers again after the reconnect')
})

t.test('a user that may not subscribe to the channel is told once, and the service works', async (t) => {
  const redis = await startRedis(t)
  await redis.admin().acl('SETUSER', 'svc', 'on', '>secret', '~app:*', '&app:*', '+@all')
  const logs = captureLogs()
  const app = await buildTestApp(t, {
    env: { REDIS_URL: `redis://svc:secret@127.0.0.1:${redis.port}`, KEY_PREFIX: 'app:' }, logs
  })
  await until(() => logs.text().includes('not subscribed to AzureRedisEvents'), 'the refusal told')
  t.equal((await app.inject({ method: 'PUT', url: '/cache/k', payload: 'v' })).statusCode, 201)
  t.equal((await app.inject({ method: 'GET', url: '/cache/k' })).body, 'v')
  await sleep(200)
  t.equal(logs.text().split('not subscribed to AzureRedisEvents').length - 1, 1, 'once')

  const off = await buildTestApp(t, { env: { REDIS_URL: redis.url, REDIS_MAINTENANCE_EVENTS: 'false' } })
  t.equal((await off.inject({ method: 'GET', url: '/readyz' })).statusCode, 200)
  t.equal(Number((await redis.admin().pubsub('NUMSUB', MAINTENANCE_CHANNEL) as [string, number])[1]), 0,
    'REDIS_MAINTENANCE_EVENTS=false subscribes to nothing')
})
