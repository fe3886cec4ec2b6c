// Asks the kernel for a free TCP port on loopback. A port is free again once its probe closes, so the kernel may
// offer it twice to one test (a service's port and its metrics port, say): a port handed out once in this process
// is never handed out again.
import { createServer } from 'node:net'

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
