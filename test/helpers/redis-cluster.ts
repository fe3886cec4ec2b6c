// A local Redis Cluster of three masters (redis-server --cluster-enabled yes, then redis-cli --cluster create),
// on free ports, stopped when the test ends.
import { execFile } from 'node:child_process'
import { setTimeout as sleep } from 'node:timers/promises'
import { promisify } from 'node:util'
import { freePort } from './free-port.js'
import { startRedis, type RedisServer } from './redis-server.js'
import type { TestCertificates } from './tls.js'

interface Teardown { teardown (fn: () => unknown): void }

export interface RedisCluster {
  nodes: RedisServer[]
  /** host:port of every master, as REDIS_CLUSTER_NODES takes them. */
  seeds: string
}

/** tls: every node serves TLS only, its cluster bus too, with these certificates. */
export async function startCluster (t: Teardown, { tls }: { tls?: TestCertificates } = {}): Promise<RedisCluster> {
  const nodes: RedisServer[] = []
  for (let i = 0; i < 3; i++) {
    const busPort = await freePort()
    nodes.push(await startRedis(t, {
      tls,
      args: ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-port', String(busPort),
        ...(tls === undefined ? [] : ['--tls-cluster', 'yes', '--tls-replication', 'yes'])]
    }))
  }
  const seeds = nodes.map((node) => `127.0.0.1:${node.port}`)
  const cliTls = tls === undefined ? [] : ['--tls', '--cacert', tls.caFile, '--sni', 'localhost']
  await promisify(execFile)('redis-cli',
    [...cliTls, '--cluster', 'create', ...seeds, '--cluster-replicas', '0', '--cluster-yes'])

  const admins = nodes.map((node) => node.admin())
  const deadline = Date.now() + 15_000
  for (;;) {
    const states = await Promise.all(admins.map(async (admin) => await admin.cluster('INFO') as string))
    if (states.every((info) => info.includes('cluster_state:ok'))) break
    if (Date.now() > deadline) throw new Error(`the cluster did not come up:\n${states.join('\n')}`)
    await sleep(100)
  }
  return { nodes, seeds: seeds.join(',') }
}
