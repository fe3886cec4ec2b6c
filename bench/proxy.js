// The practical ceiling of a Redis-backed service on this machine: a bare Fastify 5 server that reads and writes
// values in Redis through ioredis (auto-pipelining on, as the service has it), with no validation, headers,
// metrics or logging. Unlike the bare-route ceiling, it pays the Redis round trip, and shares the cores with
// redis-server as the service does. GET /value/:key answers GET's value; PUT /value/:key?ttl= stores the body with
// SET … EX. `node bench/proxy.js <port> <redis url>`
import Fastify from 'fastify'
import { Redis } from 'ioredis'

const redis = new Redis(process.argv[3], { enableAutoPipelining: true })
// Room for the largest value the bench writes, as the service's own body limit has.
const app = Fastify({ bodyLimit: 2 * 1024 * 1024 })
app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => { done(null, body) })
app.get('/value/:key', async (request, reply) => {
  const value = await redis.getBuffer(`proxy:${request.params.key}`)
  if (value === null) return reply.code(404).send()
  return reply.type('application/octet-stream').send(value)
})
app.put('/value/:key', async (request, reply) => {
  await redis.set(`proxy:${request.params.key}`, request.body, 'EX', Number(request.query.ttl ?? 60))
  return reply.code(201).send()
})
for (const [key, bytes] of [['hot', 1024], ['large-64k', 64 * 1024], ['large-1m', 1024 * 1024]]) {
  await redis.set(`proxy:${key}`, Buffer.alloc(bytes, 'v'))
}
await app.listen({ port: Number(process.argv[2]), host: '127.0.0.1' })
process.send?.('listening')
process.on('SIGTERM', () => { app.close().then(() => redis.quit()).then(() => process.exit(0)) })
