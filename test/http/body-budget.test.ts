// MAX_BODY_BYTES_IN_FLIGHT: request bodies held at once are bounded, counted at their Content-Length (chunked: their
// route's limit) before they are read. A body that does not fit is refused unread with the overloaded 503 and
// Retry-After and changes nothing; its room comes back when a held body's answer is sent or its connection closes.
import { connect, type Socket } from 'node:net'
import t, { type Test } from 'tap'
import { listeningTestApp, metricValue } from '../helpers/app.js'
import { until } from '../helpers/until.js'

const KIB = 1024

/** An upload that declares a body and sends only its first bytes: it holds its room until it is closed. */
interface Upload { socket: Socket, answer: () => string }

async function startUpload (t: Test, port: number, key: string, head: string, firstBytes = 'x'): Promise<Upload> {
  const socket = connect(port, '127.0.0.1')
  let answer = ''
  socket.on('data', (chunk: Buffer) => { answer += chunk.toString('latin1') })
  socket.on('error', () => {})
  t.teardown(() => { socket.destroy() })
  socket.write(`PUT /cache/${key} HTTP/1.1\r\nHost: x\r\n${head}\r\n${firstBytes}`)
  return { socket, answer: () => answer }
}

const bound = (inFlight: number, oneValue: number) =>
  ({ MAX_BODY_BYTES_IN_FLIGHT: String(inFlight), CACHE_MAX_VALUE_BYTES: String(oneValue) })
const declared = (bytes: number) => `Content-Length: ${bytes}\r\n`

async function put (base: string, key: string, bytes: number) {
  return await fetch(`${base}/cache/${key}`, { method: 'PUT', body: Buffer.alloc(bytes, 'v') })
}

/**
 * Once the uploads started are let in (held, unanswered), a body of one byte is refused: polled, since their
 * connections are read in an order of the event loop's. Reads are never counted.
 */
async function full (t: Test, base: string) {
  await until(async () => (await put(base, 'probe', 1)).status === 503, 'the uploads to be held')
  t.equal((await fetch(`${base}/cache/absent`)).status, 404, 'reads are not counted')
}

t.test('a body that does not fit is refused unread with 503, and its room comes back', async (t) => {
  const { app, port, base } = await listeningTestApp(t, bound(64 * KIB, 32 * KIB))
  const first = await startUpload(t, port, 'first', declared(32 * KIB))
  const second = await startUpload(t, port, 'second', declared(32 * KIB))
  await full(t, base)
  t.equal(await metricValue(app, 'http_request_body_bytes_in_flight'), 64 * KIB, 'the bytes held are a metric')

  const refusals = await metricValue(app, 'http_request_bodies_refused_total')
  const refused = await put(base, 'third', 1)
  t.equal(refused.status, 503)
  t.equal(await metricValue(app, 'http_request_bodies_refused_total'), refusals! + 1, 'and so is each refusal')
  t.match(refused.headers.get('content-type'), /^application\/problem\+json/)
  t.equal(refused.headers.get('retry-after'), '1')
  t.match(await refused.json(), { type: 'urn:cache-service:problem:overloaded' })
  t.equal((await fetch(`${base}/cache/third`)).status, 404, 'nothing was stored')
  t.equal(first.answer(), '', 'the held uploads are still being read')

  first.socket.destroy()
  await until(async () => (await put(base, 'third', 32 * KIB)).status === 201, 'room after a connection closed')

  second.socket.write('x'.repeat(32 * KIB - 1))
  await until(() => /^HTTP\/1\.1 201 /.test(second.answer()), 'the held upload answered')
  const both = await Promise.all([put(base, 'fourth', 32 * KIB), put(base, 'fifth', 32 * KIB)])
  t.same(both.map((response) => response.status), [201, 201], 'room after an answer was sent')
  await until(async () => await metricValue(app, 'http_request_body_bytes_in_flight') === 0, 'every byte given back')
})

t.test('a chunked body holds its route\'s limit', async (t) => {
  const { port, base } = await listeningTestApp(t, bound(64 * KIB, 32 * KIB))
  await startUpload(t, port, 'first', 'Transfer-Encoding: chunked\r\n', '1\r\nx\r\n')
  await startUpload(t, port, 'second', 'Transfer-Encoding: chunked\r\n', '1\r\nx\r\n')
  await full(t, base)
  t.equal((await put(base, 'third', 1)).status, 503)
})

t.test('a body over its route\'s limit is 413, not counted; one over the whole bound passes alone', async (t) => {
  const { port, base } = await listeningTestApp(t, bound(16 * KIB, 32 * KIB))
  t.equal((await put(base, 'alone', 32 * KIB)).status, 201, 'a body larger than the bound, while none is held')
  const held = await startUpload(t, port, 'held', declared(16 * KIB))
  await full(t, base)
  t.equal((await put(base, 'huge', 64 * KIB)).status, 413, 'over the route\'s limit: 413 whatever is held')
  t.equal((await put(base, 'large', 32 * KIB)).status, 503, 'larger than the bound, while another is held')
  held.socket.destroy()
})

t.test('a thousand abandoned uploads of 1 MiB hold no more than the default bound', async (t) => {
  const { port, base } = await listeningTestApp(t)
  const uploads = await Promise.all(Array.from({ length: 1000 }, (_, i) => startUpload(t, port, `abandoned-${i}`,
    declared(1024 * KIB))))
  // 32 MiB: 32 of them are held; every other is answered 503 without its body.
  await until(() => uploads.filter((upload) => upload.answer() !== '').length === 968, 'the refusals')
  t.ok(uploads.every((upload) => upload.answer() === '' || /^HTTP\/1\.1 503 /.test(upload.answer())))
  await full(t, base)

  for (const upload of uploads) upload.socket.destroy()
  await until(async () => (await put(base, 'after', 1024 * KIB)).status === 201, 'room once they are gone')
})
