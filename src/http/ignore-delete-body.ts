// A DELETE carries no content (RFC 9110 §9.3.5 gives it no meaning), yet many HTTP clients send one with an empty
// JSON body or a stray Content-Type. Such a DELETE is answered for what it asks, not refused for a body nobody
// reads: its content headers are dropped before Fastify would choose a parser for them, and the body is discarded.
import type { preParsingHookHandler } from 'fastify'

// A callback hook rather than an async one: it runs on every request, and a promise each would be a waste.
export const ignoreDeleteBody: preParsingHookHandler = (request, _reply, payload, done) => {
  if (request.method === 'DELETE') {
    delete request.headers['content-type']
    delete request.headers['transfer-encoding']
    request.headers['content-length'] = '0'
  }
  done(null, payload)
}
