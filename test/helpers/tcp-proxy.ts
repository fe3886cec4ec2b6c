// A TCP forwarder standing in for the address a managed Redis keeps while its primary changes: Azure's failover
// promotes the replica and then points the same host name at it. `retarget` moves the address; existing
// connections are dropped with it, or left on the old server (a connection that outlives the move). New connections
// can be made slow to open, like one crossing a congested network, and what a client sends can be held on its way,
// like a link that stalls (a Redis Cluster's bus between two nodes: see redis-cluster.ts).
import { createConnection, createServer, type Socket } from 'node:net'
import { listenOnLoopback } from './free-port.js'

export interface TcpProxy {
  port: number
  url: string
  retarget (port: number, options?: { dropConnections?: boolean }): void
  /** Connections made from now on reach the server this much later; what the client sends meanwhile waits. */
  delayNewConnections (ms: number): void
  /**
   * What the clients of open connections send is held, not forwarded, until release(): all of them, or those whose
   * first bytes `which` picks. The server's replies still flow. Returns how many connections are held.
   */
  hold (which?: (firstBytes: Buffer) => boolean): number
  /** Forwards what was held. */
  release (): void
  /** Closes the connections held, and what they held with them, as a reset of the network would. */
  cut (): void
}

interface Pair {
  client: Socket
  upstream: Socket
  /** The first bytes the client sent. */
  firstBytes: Buffer
  held: boolean
}

interface Teardown { teardown (fn: () => unknown): void }

/** Closes both ends of a connection: its 'close' handler then forgets it. */
function drop ({ client, upstream }: Pair): void {
  client.destroy()
  upstream.destroy()
}

export async function startTcpProxy (t: Teardown, targetPort: number): Promise<TcpProxy> {
  let target = targetPort
  let delayMs = 0
  const pairs = new Set<Pair>()
  const waiting = new Set<Socket>()
  const server = createServer((client) => {
    if (delayMs === 0) {
      forward(client)
      return
    }
    waiting.add(client)
    client.on('error', () => client.destroy())
    setTimeout(() => {
      waiting.delete(client)
      if (!client.destroyed) forward(client)
    }, delayMs)
  })
  function forward (client: Socket) {
    const upstream = createConnection({ host: '127.0.0.1', port: target })
    const pair: Pair = { client, upstream, firstBytes: Buffer.alloc(0), held: false }
    pairs.add(pair)
    const first = (chunk: Buffer) => {
      pair.firstBytes = Buffer.concat([pair.firstBytes, chunk])
      if (pair.firstBytes.length >= 64) client.off('data', first)
    }
    client.on('data', first)
    const close = () => {
      pairs.delete(pair)
      drop(pair)
    }
    client.on('error', close).on('close', close)
    upstream.on('error', close).on('close', close)
    client.pipe(upstream)
    upstream.pipe(client)
  }
  const port = await listenOnLoopback(server)
  t.teardown(async () => {
    for (const client of waiting) client.destroy()
    for (const pair of pairs) drop(pair)
    await new Promise((resolve) => server.close(resolve))
  })
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    delayNewConnections (ms) { delayMs = ms },
    retarget (port, { dropConnections = true } = {}) {
      target = port
      if (!dropConnections) return
      for (const pair of pairs) drop(pair)
    },
    hold (which = () => true) {
      let held = 0
      for (const pair of pairs) {
        if (!pair.held && which(pair.firstBytes)) {
          pair.held = true
          pair.client.unpipe(pair.upstream)
          pair.client.pause()
        }
        if (pair.held) held++
      }
      return held
    },
    release () {
      for (const pair of pairs) {
        if (!pair.held) continue
        pair.held = false
        pair.client.pipe(pair.upstream)
      }
    },
    cut () {
      for (const pair of pairs) if (pair.held) drop(pair)
    }
  }
}
