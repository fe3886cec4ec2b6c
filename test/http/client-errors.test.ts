// Requests Node's HTTP parser refuses get problem+json like every other refusal, with a request id and the
// security headers, on a real socket (inject never reaches the parser).
import { connect } from 'node:net'
import t from 'tap'
import { buildTestApp } from '../helpers/app.js'

/** Sends raw bytes and reads the whole answer until the server closes the connection. */
async function raw (port: number, request: Buffer | string)
  : Promise<{ status: number, headers: Map<string, string>, body: string }> {
  const socket = connect(port, '127.0.0.1')
  socket.write(request)
  const chunks: Buffer[] = []
  for await (const chunk of socket) chunks.push(chunk as Buffer)
  const text = Buffer.concat(chunks).toString('latin1')
  const [head = '', body = ''] = text.split('\r\n\r\n')
  const [statusLine = '', ...lines] = head.split('\r\n')
  const headers = new Map(lines.map((line) => {
    const colon = line.indexOf(':')
    return [line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim()] as [string, string]
  }))
  return { status: Number(statusLine.split(' ')[1]), headers, body }
}

t.test('oversized headers and bytes that are not HTTP get problem+json', async (t) => {
  const app = await buildTestApp(t)
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as { port: number }

  const cases: Array<[string, Buffer | string, number, string]> = [
    ['a 20 KB header', `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, 431,
      'urn:cache-service:problem:headers-too-large'],
    ['raw non-ASCII bytes in the path', Buffer.concat([Buffer.from('GET /cache/'), Buffer.from([0xff, 0xfe]),
      Buffer.from(' HTTP/1.1\r\nHost: x\r\n\r\n')]), 400, 'urn:cache-service:problem:bad-request'],
    ['not HTTP at all', 'HELLO THERE\r\n\r\n', 400, 'urn:cache-service:problem:bad-request']
  ]
  for (const [name, request, status, type] of cases) {
    const res = await raw(port, request)
    t.equal(res.status, status, name)
    t.equal(res.headers.get('content-type'), 'application/problem+json', name)
    t.match(res.headers.get('x-request-id'), /^[0-9a-f-]{36}$/, `${name}: a request id to quote`)
    t.equal(res.headers.get('x-content-type-options'), 'nosniff', `${name}: the security headers`)
    t.match(res.headers.get('content-security-policy'), /default-src 'none'/)
    t.match(JSON.parse(res.body), { type, status, title: String, detail: String }, name)
  }
})

t.test('a malformed percent-encoding (a router error) carries the security headers too', async (t) => {
  const app = await buildTestApp(t)
  const res = await app.inject({ method: 'GET', url: '/cache/%zz' })
  t.equal(res.statusCode, 400)
  t.equal(res.headers['x-content-type-options'], 'nosniff')
  t.match(res.headers['x-request-id'], /^[0-9a-f-]{36}$/)
})
