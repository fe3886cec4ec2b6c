// The practical ceiling of a Redis-backed service on this machine: a bare Fastify 5 route that reads a value from
// Redis through ioredis (auto-pipelining on, as the service has it) and answers it, with no validation, headers,
// metrics or logging. Unlike the bare-route ceiling, it pays the Redis round trip, and shares the cores with
// redis-server as the service does. `node bench/proxy.js <port> <redis url>`
import Fastify from 'fastify'
import { Redis } from 'ioredis'

const redis = new Redis(process.argv[3], { enableAutoPipelining: true })
const app = Fastify()
app.get('/value/:key', async (request, reply) => {
  const value = await redis.getBuffer(`proxy:${request.params.key}`)
  if (value === null) return reply.code(404).send()
  return reply.type('application/octet-stream').send(value)
})
await redis.set('proxy:hot', Buffer.alloc(1024, 'v'))
await app.listen({ port: Number(process.argv[2]), host: '127.0.0.1' })
process.send?.('listening')
process.on('SIGTERM', () => { app.close().then(() => redis.quit()).then(() => process.exit(0)) })
