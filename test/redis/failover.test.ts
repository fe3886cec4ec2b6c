// A failover the way Azure patches a cache: the replica is promoted, the old primary demoted, and the same address
// then leads to the new primary. The service follows without a restart, a write that reaches the demoted primary
// gets a 503 and is not reported as stored, and what was acknowledged before the failover is still there.
import { setTimeout as sleep } from 'node:timers/promises'
import type { FastifyInstance } from 'fastify'
import type { Redis } from 'ioredis'
import t, { type Test } from 'tap'
import { buildTestApp } from '../helpers/app.js'
import { startRedis, type RedisServer } from '../helpers/redis-server.js'
import { startTcpProxy } from '../helpers/tcp-proxy.js'
import { until } from '../helpers/until.js'

const PREFIX = 'cache-service:cache:'

async function primaryAndReplica (t: Test): Promise<{ primary: RedisServer, replica: RedisServer }> {
  const primary = await startRedis(t)
  const replica = await startRedis(t, { args: ['--replicaof', '127.0.0.1', String(primary.port)] })
  const admin = replica.admin()
  await until(async () => /master_link_status:up/.test(await admin.info('replication')), 'the replica to sync')
  return { primary, replica }
}

/** Promotes the replica and demotes the primary to replicate from it, as a managed failover does. */
async function failOver (primary: Redis, replica: Redis, replicaPort: number): Promise<void> {
  await replica.replicaof('NO', 'ONE')
  await primary.replicaof('127.0.0.1', String(replicaPort))
}

async function put (app: FastifyInstance, key: string) {
  return await app.inject({ method: 'PUT', url: `/cache/${key}`, payload: `value of ${key}` })
}

/** Writes until one is acknowledged; returns how long that took and every status seen on the way. */
async function writeUntilStored (app: FastifyInstance, key: string) {
  const started = Date.now()
  const statuses: number[] = []
  while (Date.now() - started < 10_000) {
    const { statusCode } = await put(app, key)
    statuses.push(statusCode)
    if (statusCode === 201) return { ms: Date.now() - started, statuses }
    await sleep(50)
  }
  return { ms: Infinity, statuses }
}

/**
 * A primary and its replica behind one address, the service on that address with a write acknowledged and
 * replicated, then the failover: the replica promoted and the old primary demoted. Where the address leads next is
 * each test's business.
 */
async function failedOver (t: Test) {
  const { primary, replica } = await primaryAndReplica(t)
  const address = await startTcpProxy(t, primary.port)
  const app = await buildTestApp(t, { env: { REDIS_URL: address.url, REDIS_COMMAND_TIMEOUT_MS: '500' } })
  t.equal((await put(app, 'before')).statusCode, 201)
  const primaryAdmin = primary.admin()
  const replicaAdmin = replica.admin()
  await until(async () => await replicaAdmin.exists(`${PREFIX}before`) === 1, 'the write to reach the replica')
  await failOver(primaryAdmin, replicaAdmin, replica.port)
  return { app, address, primaryAdmin, replicaAdmin, newPrimaryPort: replica.port }
}

t.test('the address moves to the promoted replica: the service follows without a restart', async (t) => {
  const { app, address, replicaAdmin, newPrimaryPort } = await failedOver(t)
  address.retarget(newPrimaryPort)

  const after = await writeUntilStored(app, 'after')
  t.ok(after.ms < 2000, `writes are stored again ${after.ms} ms after the failover`)
  t.ok(after.statuses.every((status) => status === 201 || status === 503), `only 503s meanwhile: ${after.statuses}`)
  t.equal(await replicaAdmin.hget(`${PREFIX}after`, 'v'), 'value of after', 'it is on the new primary')
  const before = await app.inject({ method: 'GET', url: '/cache/before' })
  t.equal(before.body, 'value of before', 'what was acknowledged before the failover is still there')
})

t.test('a connection left on the demoted primary: its write gets 503, is not stored, and the client moves on',
  async (t) => {
    const { app, address, primaryAdmin, replicaAdmin, newPrimaryPort } = await failedOver(t)
    // The address moves, but the service's open connection still leads to the old primary, now a replica.
    address.retarget(newPrimaryPort, { dropConnections: false })

    const refused = await put(app, 'during')
    t.equal(refused.statusCode, 503, 'the demoted primary refused the write (READONLY)')
    t.match(refused.json(), { type: 'urn:cache-service:problem:store-unavailable' })
    t.equal(refused.headers['retry-after'], '1')
    await sleep(200)
    t.equal(await replicaAdmin.exists(`${PREFIX}during`), 0, 'the refused write is nowhere')
    t.equal(await primaryAdmin.exists(`${PREFIX}during`), 0)

    // READONLY made the client reconnect, and a new connection leads to the new primary.
    const retried = await writeUntilStored(app, 'during')
    t.ok(retried.ms < 2000, `the retried write is stored ${retried.ms} ms later`)
    t.equal(await replicaAdmin.hget(`${PREFIX}during`, 'v'), 'value of during')
  })
