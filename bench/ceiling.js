// The framework's ceiling on this machine: a bare Fastify 5 server with one route that answers a constant 1 KiB
// body, run as its own process like the service. `node bench/ceiling.js <port> [--headers]`: with --headers, the
// route also sends the response headers a GET hit of the service sends (helmet's security headers, the request id,
// ETag, Cache-Control, Cache-Status, Age), which prices them apart from everything else the service does.
import Fastify from 'fastify'
import { securityHeaders } from '../dist/http/security-headers.js'

const BODY = Buffer.alloc(1024, 'v')
const SERVICE_HEADERS = process.argv.includes('--headers')
  ? {
      ...await securityHeaders(),
      'x-request-id': '0b3f8a52-4a5e-4d7b-9c43-5f2d1e6a7b80',
      'cache-status': 'cache-service; hit; ttl=3599',
      age: '0',
      etag: '"fBMvHz0hiZO_284aBwX7QF"',
      'cache-control': 'max-age=3599'
    }
  : {}
const app = Fastify()
app.get('/value', async (_request, reply) => reply.headers(SERVICE_HEADERS).type('application/octet-stream').send(BODY))
await app.listen({ port: Number(process.argv[2]), host: '127.0.0.1' })
process.send?.('listening')
process.on('SIGTERM', () => { app.close().then(() => process.exit(0)) })
