// Asks the kernel for a free TCP port on loopback. A port is free again once its probe closes, so the kernel may
// offer it twice to one test (a service's port and its metrics port, say): a port handed out once in this process
// is never handed out again.
import { once } from 'node:events'
import { createServer, type Server } from 'node:net'

const handedOut = new Set<number>()

export async function freePort (): Promise<number> {
  for (;;) {
    const port = await probe()
    if (!handedOut.has(port)) {
      handedOut.add(port)
      return port
    }
  }
}

async function probe (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0))
    })
  })
}

/** Starts a test's own server on a port the kernel picks, on loopback; resolves to the port. */
export async function listenOnLoopback (server: Server): Promise<number> {
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const address = server.address()
  return typeof address === 'object' && address !== null ? address.port : 0
}
