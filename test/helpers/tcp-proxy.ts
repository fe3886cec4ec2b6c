// A TCP forwarder standing in for the address a managed Redis keeps while its primary changes: Azure's failover
// promotes the replica and then points the same host name at it. `retarget` moves the address; existing
// connections are dropped with it, or left on the old server (a connection that outlives the move). New connections
// can be made slow to open, like one crossing a congested network.
import { createConnection, createServer, type Socket } from 'node:net'
import { listenOnLoopback } from './free-port.js'

export interface TcpProxy {
  port: number
  url: string
  retarget (port: number, options?: { dropConnections?: boolean }): void
  /** Connections made from now on reach the server this much later; what the client sends meanwhile waits. */
  delayNewConnections (ms: number): void
}

interface Teardown { teardown (fn: () => unknown): void }

export async function startTcpProxy (t: Teardown, targetPort: number): Promise<TcpProxy> {
  let target = targetPort
  let delayMs = 0
  const pairs = new Set<[Socket, Socket]>()
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
    const pair: [Socket, Socket] = [client, upstream]
    pairs.add(pair)
    const close = () => {
      pairs.delete(pair)
      client.destroy()
      upstream.destroy()
    }
    client.on('error', close).on('close', close)
    upstream.on('error', close).on('close', close)
    client.pipe(upstream)
    upstream.pipe(client)
  }
  const port = await listenOnLoopback(server)
  t.teardown(async () => {
    for (const client of waiting) client.destroy()
    for (const [client, upstream] of pairs) {
      client.destroy()
      upstream.destroy()
    }
    await new Promise((resolve) => server.close(resolve))
  })
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    delayNewConnections (ms) { delayMs = ms },
    retarget (port, { dropConnections = true } = {}) {
      target = port
      if (!dropConnections) return
      for (const [client, upstream] of pairs) {
        client.destroy()
        upstream.destroy()
      }
    }
  }
}
