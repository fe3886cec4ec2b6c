// The framework's ceiling on this machine: a bare Fastify 5 server with one route that answers a constant 1 KiB
// body, run as its own process like the service. `node bench/ceiling.js <port>`
import Fastify from 'fastify'

const BODY = Buffer.alloc(1024, 'v')
const app = Fastify()
app.get('/value', async (_request, reply) => reply.type('application/octet-stream').send(BODY))
await app.listen({ port: Number(process.argv[2]), host: '127.0.0.1' })
process.send?.('listening')
process.on('SIGTERM', () => { app.close().then(() => process.exit(0)) })
