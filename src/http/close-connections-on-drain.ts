// During a graceful close, Node's server.close() reaps only the keep-alive connections idle at that moment.
// A connection whose request was still in flight would stay open after its response, holding the close
// up until the grace period ran out. Answering those requests with `Connection: close` lets them drain.
import type { FastifyInstance } from 'fastify'

export function closeConnectionsOnDrain (app: FastifyInstance): void {
  let draining = false
  app.addHook('preClose', async () => { draining = true })
  // A callback hook: it runs on every answer, and a promise each would be a waste.
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (draining) reply.header('connection', 'close')
    done(null, payload)
  })
}
