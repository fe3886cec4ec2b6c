// A local Redis Cluster of three masters, each with `replicas` replicas of its own (redis-server --cluster-enabled
// yes, then redis-cli --cluster create), on free ports, stopped when the test ends. Its bus can run through
// forwarders, so that a test can stall the link from one node to another, as a congested network between them would:
// a message published on one node (PUBLISH is sent to every node over the bus) then reaches the other's subscribers
// late, while the rest of the cluster answers.
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { freePort } from './free-port.js'
import { startRedis, type RedisServer } from './redis-server.js'
import { startTcpProxy, type TcpProxy } from './tcp-proxy.js'
import { until } from './until.js'
import type { TestCertificates } from './tls.js'

interface Teardown { teardown (fn: () => unknown): void }

export interface RedisCluster {
  nodes: RedisServer[]
  /** host:port of every node, as REDIS_CLUSTER_NODES takes them. */
  seeds: string
  /**
   * With busForwarders: holds what node `from` sends node `to` over the bus (once it has a link open), in order,
   * until release(); or cut() closes the link, and the messages held on it are lost, as with a reset of the network
   * (`from` opens another).
   * Keep a stall short of half the cluster-node-timeout, after which `from` drops the link itself.
   */
  stallBus (from: number, to: number): Promise<{ release (): void, cut (): void }>
  /**
   * Promotes replica `index` to master of its master's slots by a manual failover (CLUSTER FAILOVER, as a planned
   * failover or an operator does it: the master hands over, nothing is lost), once every node says so.
   */
  failover (index: number): Promise<void>
}

/** Where a cluster bus message's header holds its sender's client port (clusterMsg: sig, totlen, ver, port). */
const SENDER_PORT_OFFSET = 10

/**
 * tls: every node serves TLS only, its cluster bus too, with these certificates. busForwarders: each node's bus is
 * reached through a forwarder of its own (without tls: the forwarder reads the bus's headers), for stallBus.
 * nodeTimeoutMs: the cluster-node-timeout (a bus link silent for half of it is dropped by its sender).
 */
export async function startCluster (t: Teardown, { tls, busForwarders = false, replicas = 0, nodeTimeoutMs = 15_000 }:
{ tls?: TestCertificates, busForwarders?: boolean, replicas?: number, nodeTimeoutMs?: number } = {}):
  Promise<RedisCluster> {
  const nodes: RedisServer[] = []
  const forwarders: TcpProxy[] = []
  for (let i = 0; i < 3 * (1 + replicas); i++) {
    const busPort = await freePort()
    // The node announces its forwarder's port as its bus: every other node connects to it there.
    const forwarder = busForwarders ? await startTcpProxy(t, busPort) : undefined
    if (forwarder !== undefined) forwarders.push(forwarder)
    nodes.push(await startRedis(t, {
      tls,
      args: ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-port', String(busPort),
        '--cluster-node-timeout', String(nodeTimeoutMs),
        // A new master's replication offset stays 0 until it next pings its replicas (every 10 s by default), and
        // CLUSTER SLOTS lists no replica at offset 0; a full sync waits 5 s for more replicas to share it. Without
        // these a cluster with replicas took 12 to 14 s to be ready here, and past the wait below on a busy machine.
        '--repl-ping-replica-period', '1', '--repl-diskless-sync-delay', '0',
        ...(forwarder === undefined ? [] : ['--cluster-announce-bus-port', String(forwarder.port)]),
        ...(tls === undefined ? [] : ['--tls-cluster', 'yes', '--tls-replication', 'yes'])]
    }))
  }
  const seeds = nodes.map((node) => `127.0.0.1:${node.port}`)
  const cliTls = tls === undefined ? [] : ['--tls', '--cacert', tls.caFile, '--sni', 'localhost']
  await promisify(execFile)('redis-cli',
    [...cliTls, '--cluster', 'create', ...seeds, '--cluster-replicas', String(replicas), '--cluster-yes'])

  const admins = nodes.map((node) => node.admin())
  /** CLUSTER SLOTS as each node answers it. */
  const slotViews = async () => await Promise.all(admins.map(async (admin) => await admin.cluster('SLOTS')))
  let states: string[] = []
  let views: unknown[][][] = []
  // Every node sees every slot served, and each master with its replicas in sync (CLUSTER SLOTS lists no other).
  await until(async () => {
    states = await Promise.all(admins.map(async (admin) => /cluster_state:\w+/.exec(await admin.cluster('INFO'))![0]))
    views = await slotViews()
    return states.every((state) => state === 'cluster_state:ok') &&
      views.every((slots) => slots.every((range) => range.length === 3 + replicas))
  }, () => `the cluster to come up: ${states.join(', ')}; nodes per slot range in each node's CLUSTER SLOTS: ` +
    JSON.stringify(views.map((slots) => slots.map((range) => range.length - 2))), { timeoutMs: 30_000, everyMs: 100 })
  const stallBus = async (from: number, to: number) => {
    const forwarder = forwarders[to]
    if (forwarder === undefined) throw new Error('startCluster({ busForwarders: true }) makes a bus that can stall')
    // Each node connects to every other's bus: the links into `to` that `from` opened are those it sends on. After a
    // cut, `from` opens another within its cron's next runs.
    const sentByFrom = (firstBytes: Buffer) => firstBytes.length >= SENDER_PORT_OFFSET + 2 &&
      firstBytes.readUInt16BE(SENDER_PORT_OFFSET) === nodes[from]!.port
    await until(() => forwarder.hold(sentByFrom) > 0, `node ${from} has a link to node ${to}`)
    return { release: () => { forwarder.release() }, cut: () => { forwarder.cut() } }
  }
  const failover = async (index: number) => {
    await admins[index]!.cluster('FAILOVER')
    const id = await admins[index]!.cluster('MYID') as string
    await until(async () => (await slotViews()).every((slots) => slots.some(([, , master]) => master?.[2] === id)),
      `every node sees node ${index} promoted`)
  }
  return { nodes, seeds: seeds.join(','), stallBus, failover }
}
