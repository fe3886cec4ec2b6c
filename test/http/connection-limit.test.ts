// MAX_CONNECTIONS: the connections held at once are bounded. Past the bound a new connection is reset as soon as it
// is accepted, before a byte of it is read, so that its client fails at once; the connections already open go on
// being served, and the open and refused ones are metrics.
import { connect, type Socket } from 'node:net'
import t, { type Test } from 'tap'
import { listeningTestApp, metricValue } from '../helpers/app.js'
import { until } from '../helpers/until.js'

/** A connection that says `sent` and waits; `closed` tells whether it was closed, `error` with what error. */
interface Connection { socket: Socket, closed: () => boolean, error: () => string | undefined, received: () => string }

async function open (t: Test, port: number, sent: string): Promise<Connection> {
  const socket = connect(port, '127.0.0.1')
  let closed = false
  let error: string | undefined
  let received = ''
  socket.on('data', (chunk: Buffer) => { received += chunk.toString('latin1') })
  socket.on('close', () => { closed = true })
  socket.on('error', (err: NodeJS.ErrnoException) => { error = err.code })
  t.teardown(() => { socket.destroy() })
  // A reset may come before the connect is told: then there is nothing to send.
  await new Promise((resolve) => { socket.once('connect', resolve).once('close', resolve) })
  if (!closed) socket.write(sent)
  return { socket, closed: () => closed, error: () => error, received: () => received }
}

/** Headers begun and never finished, as a slow client (slow loris) sends them: they hold their connection. */
const unfinished = (padBytes: number) => `GET /cache/k HTTP/1.1\r\nHost: x\r\nX-Pad: ${'a'.repeat(padBytes)}`
const request = 'GET /cache/absent HTTP/1.1\r\nHost: x\r\n\r\n'

/** What a new connection is answered to `request`, once it is answered or closed. */
async function answerOnNewConnection (t: Test, port: number): Promise<string> {
  const connection = await open(t, port, request)
  await until(() => connection.closed() || connection.received().includes('\r\n\r\n'), 'an answer or a close')
  connection.socket.destroy()
  return connection.received()
}

async function abandon (t: Test, port: number, count: number, padBytes: number) {
  const connections: Connection[] = []
  // In batches, so that the listen backlog takes them all.
  for (let i = 0; i < count; i += 250) {
    connections.push(...await Promise.all(Array.from({ length: Math.min(250, count - i) },
      async () => await open(t, port, unfinished(padBytes)))))
  }
  return connections
}

t.test('past MAX_CONNECTIONS a new connection is reset unread, and those open go on being served', async (t) => {
  const { app, port } = await listeningTestApp(t, { MAX_CONNECTIONS: '100' })
  const pooled = await open(t, port, request)
  await until(() => /^HTTP\/1\.1 404 /.test(pooled.received()), 'the pooled connection answered')

  const abandoned = await abandon(t, port, 500, 15_000)
  await until(() => abandoned.filter((connection) => connection.closed()).length === 401, 'the excess closed')
  t.ok(abandoned.every((connection) => connection.received() === ''), 'reset without an answer: nothing was read')
  t.equal(await metricValue(app, 'http_connections_open'), 100, 'the open connections are a metric')
  t.equal(await metricValue(app, 'http_connections_refused_total'), 401, 'and so are the refused ones')
  const refused = await open(t, port, request)
  await until(refused.closed, 'a new connection reset while the bound is held')
  t.equal(refused.error(), 'ECONNRESET', 'reset, not closed')
  // A closed connection (Node's server.maxConnections) left the fetch of Node 20 waiting for its own timeout.
  const started = Date.now()
  await t.rejects(fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(10_000) }),
    { cause: { code: 'ECONNRESET' } }, 'a fetch fails at once, and may be retried elsewhere')
  t.ok(Date.now() - started < 5000, `after ${Date.now() - started} ms`)

  pooled.socket.write(request)
  await until(() => pooled.received().split('HTTP/1.1 404 ').length === 3, 'the pooled connection answered again')

  for (const connection of abandoned) connection.socket.destroy()
  await until(async () => /^HTTP\/1\.1 404 /.test(await answerOnNewConnection(t, port)),
    'new connections taken once the abandoned ones are gone')
})

t.test('five thousand abandoned connections: the default bound holds 4096 of them', async (t) => {
  const { app, port } = await listeningTestApp(t)
  const abandoned = await abandon(t, port, 5000, 1000)
  await until(() => abandoned.filter((connection) => connection.closed()).length === 5000 - 4096,
    () => `the excess closed (${abandoned.filter((connection) => connection.closed()).length} closed)`)
  t.equal(await metricValue(app, 'http_connections_open'), 4096)
  t.equal(await metricValue(app, 'http_connections_refused_total'), 5000 - 4096)
})
