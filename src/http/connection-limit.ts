// A bound on the connections the process holds at once. Every connection costs memory while it is open: about 4 KiB
// idle, and up to its 16 KiB of headers while they arrive, for as long as REQUEST_TIMEOUT_MS allows. Fourteen
// thousand connections that each sent 15 KB of headers and stopped took a pod of the chart's (384 MiB, Node 26) past
// its memory limit, and the kernel killed it with every request in flight. Past the bound, a new connection is reset
// as soon as it is accepted, before a byte of it is read; the connections already open, a client's keep-alive pool
// among them, go on being served.
import type { Server } from 'node:http'
import type { Socket } from 'node:net'
import { Counter, Gauge, type Registry } from 'prom-client'

/** Holds server to maxConnections, with the connections open and those refused as metrics. */
export function limitConnections (server: Server, maxConnections: number, registry: Registry): void {
  let open = 0
  new Gauge({ // eslint-disable-line no-new
    name: 'http_connections_open',
    help: 'Connections open to the API, as counted against MAX_CONNECTIONS',
    registers: [registry],
    collect () { this.set(open) }
  })
  const refused = new Counter({
    name: 'http_connections_refused_total',
    help: 'Connections reset as soon as they were accepted, because MAX_CONNECTIONS were open',
    registers: [registry]
  })
  // Not Node's server.maxConnections, which closes such a connection: the fetch of Node 20 (undici 6) then waits for
  // its own timeout, where a reset fails it at once (ECONNRESET), as it does every client.
  server.on('connection', (socket: Socket) => {
    if (open >= maxConnections) {
      refused.inc()
      socket.resetAndDestroy()
      return
    }
    open++
    socket.once('close', () => { open-- })
  })
}
