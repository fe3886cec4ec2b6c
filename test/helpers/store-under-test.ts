// The stores a contract runs against: the embedded memory store, one redis-server, a cluster of three masters (as
// Azure Managed Redis's OSS policy), and one redis-server behind the stand-in for its Enterprise policy's proxy.
// Each gives an app factory and a way to count the records an app keeps under a part of its key prefix.
import type { FastifyInstance } from 'fastify'
import type { Test } from 'tap'
import type { MemoryCacheStore } from '../../src/store/memory-cache-store.js'
import type { AppFactory } from '../contract/cache-contract.js'
import { buildTestApp } from './app.js'
import { startEnterpriseProxy } from './enterprise-proxy.js'
import { startCluster } from './redis-cluster.js'
import { startRedis, type RedisServer } from './redis-server.js'

export interface StoreUnderTest {
  makeApp: AppFactory
  /** How many keys an app's store holds whose names start with its KEY_PREFIX and then `kind` ('tag:', say). */
  countKeys (app: FastifyInstance, kind: string): Promise<number>
  /** How many tag memberships (entry writes named by a tag) an app's store holds, over all its tags. */
  countTagMembers (app: FastifyInstance): Promise<number>
  /** Whether two apps can share one store (every store but the memory one, which lives in its app's process). */
  shared: boolean
}

export type Store = 'memory' | 'redis' | 'cluster' | 'enterprise'
/**
 * Every store, but the Enterprise stand-in when TEST_ENTERPRISE_STAND_IN=false: .ci/run runs it under one Node line
 * only, to keep CI's run short (the proxy is the same JavaScript under both).
 */
export const STORES: readonly Store[] = process.env.TEST_ENTERPRISE_STAND_IN === 'false'
  ? ['memory', 'redis', 'cluster']
  : ['memory', 'redis', 'cluster', 'enterprise']

/**
 * The contracts race hundreds of injected requests at once, which can hold the event loop for over a second on a busy
 * machine (a CI run with coverage): load shedding would refuse them, and the command timeout would fire before the
 * loop reads replies that have long arrived (seen: every read of one cluster node failing with "Command timed out").
 * What the contracts test is the stores' semantics, so neither may interfere; test/redis/ tests both.
 */
const UNHURRIED = { MAX_EVENT_LOOP_DELAY_MS: '0', REDIS_COMMAND_TIMEOUT_MS: '30000' }

/** Starts what the store needs for the test `t`; each app it builds has a KEY_PREFIX of its own. */
export async function storeUnderTest (t: Test, store: Store): Promise<StoreUnderTest> {
  if (store === 'memory') {
    return {
      makeApp: async (t, env = {}) => await buildTestApp(t, { env: { ...UNHURRIED, ...env } }),
      countKeys: async () => { throw new Error('the memory store keeps no keys to count') },
      countTagMembers: async (app) => (app.cacheStore as MemoryCacheStore).tagMemberCount,
      shared: false
    }
  }
  const prefixes = new WeakMap<FastifyInstance, string>()
  let servers: RedisServer[]
  let env: Record<string, string>
  if (store === 'redis') {
    const redis = await startRedis(t)
    servers = [redis]
    env = { REDIS_URL: redis.url }
  } else if (store === 'enterprise') {
    const redis = await startRedis(t)
    const proxy = await startEnterpriseProxy(t, redis.port)
    servers = [redis]
    env = { REDIS_URL: proxy.url }
    // A refusal fails whatever request met it; naming it here says which command and keys were at fault. (The
    // service's own probe, which learns that scripts must keep to one slot, is refused by design.)
    t.teardown(() => {
      const refused = proxy.refusals.filter((refusal) => !refusal.includes('slot-probe{a}'))
      if (refused.length > 0) t.comment(`the Enterprise proxy refused:\n${refused.join('\n')}`)
    })
  } else {
    const cluster = await startCluster(t)
    servers = cluster.nodes
    env = { REDIS_CLUSTER: 'true', REDIS_CLUSTER_NODES: cluster.seeds }
  }
  const admins = servers.map((server) => server.admin())
  let apps = 0
  return {
    // A KEY_PREFIX in `extra` makes a replica of an earlier app: another instance on the same keys.
    makeApp: async (t, extra = {}) => {
      const prefix = extra.KEY_PREFIX ?? `app-${++apps}:`
      const app = await buildTestApp(t, { env: { ...UNHURRIED, ...env, KEY_PREFIX: prefix, ...extra } })
      prefixes.set(app, prefix)
      return app
    },
    countKeys: async (app, kind) => {
      const counts = await Promise.all(admins.map(async (admin) =>
        (await admin.keys(`${prefixes.get(app)!}${kind}*`)).length))
      return counts.reduce((a, b) => a + b, 0)
    },
    countTagMembers: async (app) => {
      const counts = await Promise.all(admins.map(async (admin) => {
        const tags = await admin.keys(`${prefixes.get(app)!}tag:*`)
        const sizes = await Promise.all(tags.map(async (tag) => await admin.zcard(tag)))
        return sizes.reduce((a, b) => a + b, 0)
      }))
      return counts.reduce((a, b) => a + b, 0)
    },
    shared: true
  }
}
