// Request ids: taken from an incoming x-request-id when it is sane, generated otherwise, echoed on every reply.
import { randomUUID } from 'node:crypto'
import type { IncomingMessage } from 'node:http'

export const REQUEST_ID_HEADER = 'x-request-id'

// A caller's id lands in every log line of the request, so it must be short and plain.
const ACCEPTABLE_ID = /^[\w.:@/+=-]{1,128}$/

export function requestIdOf (request: IncomingMessage): string {
  const incoming = request.headers[REQUEST_ID_HEADER]
  return typeof incoming === 'string' && ACCEPTABLE_ID.test(incoming) ? incoming : randomUUID()
}
