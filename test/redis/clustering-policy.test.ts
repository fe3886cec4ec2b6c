// Azure Managed Redis's three clustering policies, each against its stand-in: check:redis names the policy it
// finds, and a REDIS_CLUSTER that does not match the endpoint is named, by the check and at startup, rather than
// left to fail requests one by one.
import t from 'tap'
import { loadConfig } from '../../src/config/index.js'
import { checkRedis } from '../../src/redis/check.js'
import { buildTestApp } from '../helpers/app.js'
import { startEnterpriseProxy } from '../helpers/enterprise-proxy.js'
import { startCluster } from '../helpers/redis-cluster.js'
import { startRedis } from '../helpers/redis-server.js'

async function check (env: Record<string, string>): Promise<{ passed: boolean, output: string }> {
  const lines: string[] = []
  const print = (line: string) => { lines.push(line) }
  const passed = await checkRedis(loadConfig({ AUTH_MODE: 'none', ...env }), { print })
  return { passed, output: lines.join('\n') }
}

t.test('check:redis names each policy', async (t) => {
  const redis = await startRedis(t)
  const proxy = await startEnterpriseProxy(t, redis.port)
  const cluster = await startCluster(t)

  const plain = await check({ REDIS_URL: redis.url })
  t.ok(plain.passed, plain.output)
  t.match(plain.output, /^product: Redis \(127\.0\.0\.1 is no Azure host name\), Redis \d+\.\d+\.\d+$/m)
  t.match(plain.output, /^clustering policy: Non-clustered \(one keyspace: scripts may span slots\)$/m)

  const enterprise = await check({ REDIS_URL: proxy.url })
  t.ok(enterprise.passed, enterprise.output)
  t.match(enterprise.output,
    /^clustering policy: Enterprise \(a proxy: CLUSTER commands and scripts across slots refused/m)

  const oss = await check({ REDIS_CLUSTER: 'true', REDIS_CLUSTER_NODES: cluster.seeds })
  t.ok(oss.passed, oss.output)
  t.match(oss.output, /^clustering policy: OSS cluster \(3 primaries, addresses from CLUSTER SLOTS\)$/m)
})

t.test('a REDIS_CLUSTER that does not match the endpoint is named', async (t) => {
  const redis = await startRedis(t)
  const proxy = await startEnterpriseProxy(t, redis.port)
  const cluster = await startCluster(t)
  const seed = cluster.seeds.split(',')[0]!

  const standaloneOnCluster = await check({ REDIS_URL: `redis://${seed}` })
  t.notOk(standaloneOnCluster.passed)
  t.match(standaloneOnCluster.output,
    /FAILED: Redis is a node of an OSS cluster \(cluster_enabled:1: .*\): set REDIS_CLUSTER=true/)
  await t.rejects(buildTestApp(t, { env: { REDIS_URL: `redis://${seed}` } }),
    /Redis is a node of an OSS cluster \(cluster_enabled:1: .*\): set REDIS_CLUSTER=true/,
    'the service refuses to start')

  await t.rejects(buildTestApp(t, { env: { REDIS_CLUSTER: 'true', REDIS_URL: proxy.url } }),
    /cluster support disabled: this endpoint is no OSS cluster .*: set REDIS_CLUSTER=false/,
    'nor does it start as a cluster client at one endpoint')
  const clusterOnProxy = await check({ REDIS_CLUSTER: 'true', REDIS_URL: proxy.url })
  t.notOk(clusterOnProxy.passed)
  t.match(clusterOnProxy.output,
    /this endpoint is no OSS cluster \(the Enterprise or Non-clustered policy\): set REDIS_CLUSTER=false/)
})
