// Cluster mode, as the Azure Managed Redis OSS cluster policy and Premium clustering need it: a local cluster of
// three masters, requests on keys of every slot range, and Entra ID rotations that reach every node connection.
import { setTimeout as sleep } from 'node:timers/promises'
import type { AccessToken } from '@azure/core-auth'
import type { Cluster } from 'ioredis'
import { pino } from 'pino'
import t from 'tap'
import { buildApp } from '../../src/app.js'
import { loadConfig } from '../../src/config/index.js'
import {
  CLUSTER_SLOTS_REFRESH_MS, closeRedisClient, createRedisClient, readyOrRefused
} from '../../src/redis/client.js'
import { buildTestApp } from '../helpers/app.js'
import { EntraRedis } from '../helpers/entra-redis.js'
import { FakeEntraCredential } from '../helpers/fake-entra-credential.js'
import { holdToDocument } from '../helpers/openapi-conformance.js'
import { startCluster } from '../helpers/redis-cluster.js'
import { until } from '../helpers/until.js'

const JSON_TYPE = { 'content-type': 'application/json' }
const PATCH_TYPE = { 'content-type': 'application/merge-patch+json' }

t.test('cache and session operations work across the slots of all three masters', async (t) => {
  const cluster = await startCluster(t)
  const app = await buildTestApp(t, { env: { REDIS_CLUSTER: 'true', REDIS_CLUSTER_NODES: cluster.seeds } })

  for (let i = 0; i < 60; i++) {
    t.equal((await app.inject({ method: 'PUT', url: `/cache/key-${i}`, payload: `value-${i}` })).statusCode, 201)
  }
  const reads = await Promise.all(Array.from({ length: 60 }, (_, i) =>
    app.inject({ method: 'GET', url: `/cache/key-${i}` })))
  t.same(reads.map((res) => res.body), Array.from({ length: 60 }, (_, i) => `value-${i}`), 'every value read back')
  t.equal((await app.inject({ method: 'DELETE', url: '/cache/key-0' })).statusCode, 204)

  for (let i = 0; i < 20; i++) {
    const url = `/sessions/cluster-session-${String(i).padStart(10, '0')}`
    const created = await app.inject({ method: 'PUT', url, headers: JSON_TYPE, payload: '{"data":{"n":0}}' })
    t.equal(created.statusCode, 201)
    const patched = await app.inject({ method: 'PATCH', url, headers: PATCH_TYPE, payload: `{"n":${i}}` })
    t.same(patched.json().data, { n: i })
  }
  const sizes = await Promise.all(cluster.nodes.map(async (node) => await node.admin().dbsize()))
  t.ok(sizes.every((size) => size > 0), `keys live on every master: ${sizes}`)
  t.equal((await app.inject({ method: 'GET', url: '/readyz' })).statusCode, 200)
})

t.test('Entra ID rotations re-authenticate every node connection, under load, losing nothing', async (t) => {
  const cluster = await startCluster(t)
  const stand: { in?: EntraRedis } = {}
  const onIssue = async (token: AccessToken) => await stand.in!.accept(token)
  const credential = new FakeEntraCredential({ lifetimeMs: 3000, onIssue })
  const emulator = await EntraRedis.start(t, cluster.nodes, credential.oid)
  stand.in = emulator

  const config = loadConfig({
    LOG_LEVEL: 'silent',
    AUTH_MODE: 'none',
    RATE_LIMIT_MAX: '0', // the load here is far above any sane limit, which has tests of its own
    REDIS_CLUSTER: 'true',
    REDIS_CLUSTER_NODES: cluster.seeds,
    REDIS_AUTH: 'entra'
  })
  const app = await buildApp(config, { credential, tokenBackoff: { baseDelayMs: 50, maxDelayMs: 300 } })
  t.teardown(() => app.close())
  holdToDocument(app)
  const authenticationsBefore = emulator.authenticationsPerNode()

  const failures: string[] = []
  const connections: number[][] = []
  let i = 0
  while (credential.issued.length <= 4) {
    const key = `/cache/rotating-${i++ % 50}`
    const put = await app.inject({ method: 'PUT', url: key, payload: 'x' })
    const get = await app.inject({ method: 'GET', url: key })
    for (const res of [put, get]) if (res.statusCode >= 300) failures.push(`${res.statusCode} ${res.body}`)
    if (i % 50 === 0) connections.push(await emulator.connectionsPerNode('cache-service'))
    await sleep(2)
  }
  await sleep(300)

  t.same(failures, [], `none of ${i * 2} requests failed across ${credential.issued.length - 1} rotations`)
  t.same(emulator.kills.filter((kill) => kill.name === 'cache-service'), [], 'no node connection was closed')
  t.ok(connections.length > 5 && connections.every((perNode) => perNode.join() === '1,1,1'),
    'one connection to each master throughout')
  const after = emulator.authenticationsPerNode()
  t.ok(after.every((count, node) => count - authenticationsBefore[node]! >= 4), `AUTHs per node: ${after}`)
  const status = app.redisAuthStatus()
  t.equal(status.reauthenticationFailures, 0)
  t.ok(status.reauthentications >= 3 * 4, `${status.reauthentications} node re-authentications`)
})

t.test('a cluster client quit while it looks at the slots looks no more', async (t) => {
  const cluster = await startCluster(t)
  const config = loadConfig({ AUTH_MODE: 'none', REDIS_CLUSTER: 'true', REDIS_CLUSTER_NODES: cluster.seeds })
  const client = createRedisClient(config.redis!, undefined, pino({ level: 'silent' })) as Cluster
  await readyOrRefused(client)
  // Every look counted; the first periodic one is still under way when the client quits.
  let looks = 0
  let quitting: Promise<void> | undefined
  const look = client.refreshSlotsCache.bind(client)
  client.refreshSlotsCache = (callback) => {
    looks++
    look(callback)
    quitting ??= closeRedisClient(client)
  }
  await until(() => quitting !== undefined, 'a periodic look at the slots', { timeoutMs: 2 * CLUSTER_SLOTS_REFRESH_MS })
  await quitting
  await sleep(1.5 * CLUSTER_SLOTS_REFRESH_MS)
  t.equal(looks, 1, 'no look at the slots after the quit (ioredis\'s own interval goes on, and holds the process open)')
})
