// Slow loris: a client that sends its request a byte at a time is cut off once REQUEST_TIMEOUT_MS has passed,
// with a 408 problem and a closed connection, and nothing it started to send is stored.
import { connect } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { buildTestApp } from '../helpers/app.js'
import { startRedis } from '../helpers/redis-server.js'

const TIMEOUT_MS = 1000

/** Writes the head at once, then the body a byte every 100 ms, until the server answers and closes. */
async function trickle (port: number, head: string, body: string) {
  const socket = connect(port, '127.0.0.1')
  const started = Date.now()
  // Changed by the socket's events while this function awaits.
  const seen = { answer: '', open: true }
  socket.on('data', (chunk: Buffer) => { seen.answer += chunk.toString('latin1') })
  socket.on('close', () => { seen.open = false })
  // The server may cut the connection while a byte is still on its way: a reset, which is one way of closing it
  // (seen in CI under Node 26, where it was otherwise an uncaught exception).
  socket.on('error', () => { seen.open = false })
  socket.write(head)
  for (const byte of body) {
    if (!seen.open || seen.answer !== '') break
    socket.write(byte)
    await sleep(100)
  }
  while (seen.open && Date.now() - started < 10_000) await sleep(20)
  socket.destroy()
  return { answer: seen.answer, closedAfterMs: Date.now() - started, closed: !seen.open }
}

t.test('a body sent a byte at a time: 408 problem+json, connection closed, nothing stored', async (t) => {
  const redis = await startRedis(t)
  const app = await buildTestApp(t, { env: { REDIS_URL: redis.url, REQUEST_TIMEOUT_MS: String(TIMEOUT_MS) } })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as { port: number }

  const body = 'x'.repeat(100) // 10 s at this pace
  const slowBody = await trickle(port,
    `PUT /cache/slow HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n`, body)
  t.ok(slowBody.closed, 'the server closed the connection')
  t.ok(slowBody.closedAfterMs < TIMEOUT_MS + 2500, `after ${slowBody.closedAfterMs} ms`)
  t.match(slowBody.answer, /^HTTP\/1\.1 408 /)
  t.match(slowBody.answer, /content-type: application\/problem\+json/i)
  t.match(slowBody.answer, /"type":"urn:cache-service:problem:request-timeout"/)

  const slowHeaders = await trickle(port, 'GET /cache/slow HTTP/1.1\r\n', `Host: x\r\nX-Slow: ${'y'.repeat(80)}`)
  t.ok(slowHeaders.closed, 'headers sent a byte at a time are cut off too')
  t.match(slowHeaders.answer, /^HTTP\/1\.1 408 /)

  t.equal((await app.inject({ method: 'GET', url: '/cache/slow' })).statusCode, 404, 'nothing was stored')
  t.same(await redis.admin().keys('cache-service:cache:*'), [], 'and Redis holds no entry')
})
