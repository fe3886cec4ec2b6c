// A bound on the request bodies the process holds at once. Each route bounds one body (its bodyLimit), but nothing
// bounded how many arrive together: a hundred concurrent PUTs of 1 MiB took a pod of the chart's (384 MiB, Node 26)
// past its memory limit, and the kernel killed it. A body is counted, before a byte of it is read, at its
// Content-Length (sent in chunks, at its route's limit); one that does not fit is refused unread with 503 and
// Retry-After. Its bytes are given back when its answer is done or its connection closes. The bytes held and the
// refusals are metrics, to size the bound by.
import type { FastifyRequest, preParsingHookHandler } from 'fastify'
import { Counter, Gauge, type Registry } from 'prom-client'
import { OverloadedError } from '../errors.js'

/**
 * The preParsing hook that holds bodies in flight to maxBytes. One body larger than maxBytes is let in while nothing
 * else is in flight, so that a budget set below a route's limit slows that route down rather than closing it.
 */
export function bodyBudget (maxBytes: number, registry: Registry): preParsingHookHandler {
  let inFlight = 0
  new Gauge({ // eslint-disable-line no-new
    name: 'http_request_body_bytes_in_flight',
    help: 'Request body bytes held at once, as counted against MAX_BODY_BYTES_IN_FLIGHT',
    registers: [registry],
    collect () { this.set(inFlight) }
  })
  const refusals = new Counter({
    name: 'http_request_bodies_refused_total',
    help: 'Requests refused unread with 503 because their bodies would not fit in MAX_BODY_BYTES_IN_FLIGHT',
    registers: [registry]
  })
  // A callback hook: it runs on every request, and most (reads) have no body and pass at once.
  return (request, reply, payload, done) => {
    const bytes = declaredBytes(request)
    if (bytes === 0) {
      done(null, payload)
      return
    }
    if (inFlight > 0 && inFlight + bytes > maxBytes) {
      refusals.inc()
      done(new OverloadedError('The service holds as many request bodies as it may; retry after Retry-After'))
      return
    }
    inFlight += bytes
    reply.raw.once('close', () => { inFlight -= bytes })
    done(null, payload)
  }
}

/**
 * What a body may take: its Content-Length, or its route's limit when it comes in chunks; 0 when there is none, or
 * when it is over the limit (Fastify refuses it with 413 before reading it).
 */
function declaredBytes (request: FastifyRequest): number {
  const { 'content-length': length, 'transfer-encoding': chunked } = request.headers
  if (length === undefined && chunked === undefined) return 0
  // The route's bodyLimit, which routes that take a body set (not their content-type parser's).
  const limit = request.routeOptions.bodyLimit
  if (length === undefined) return limit
  const bytes = Number(length)
  return bytes > 0 && bytes <= limit ? bytes : 0
}
