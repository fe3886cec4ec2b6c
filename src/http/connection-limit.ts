// A bound on the connections the process holds at once. Every connection costs memory while it is open: about 4 KiB
// idle, and up to its 16 KiB of headers while they arrive, for as long as REQUEST_TIMEOUT_MS allows. Fourteen
// thousand connections that each sent 15 KB of headers and stopped took a pod of the chart's (384 MiB, Node 26) past
// its memory limit, and the kernel killed it with every request in flight. Past the bound, Node closes a new
// connection as soon as it is accepted (its 'drop'), before a byte of it is read; the connections already open, a
// client's keep-alive pool among them, go on being served.
import type { Server } from 'node:http'
import { Counter, Gauge, type Registry } from 'prom-client'

/** Holds server to maxConnections, with the connections open and those dropped as metrics. */
export function limitConnections (server: Server, maxConnections: number, registry: Registry): void {
  server.maxConnections = maxConnections
  const dropped = new Counter({
    name: 'http_connections_dropped_total',
    help: 'Connections closed as soon as they were accepted, because MAX_CONNECTIONS were open',
    registers: [registry]
  })
  server.on('drop', () => { dropped.inc() })
  new Gauge({ // eslint-disable-line no-new
    name: 'http_connections_open',
    help: 'Connections open to the API, as counted against MAX_CONNECTIONS',
    registers: [registry],
    async collect () {
      this.set(await new Promise<number>((resolve) => {
        server.getConnections((error, count) => { resolve(error === null ? count : 0) })
      }))
    }
  })
}
