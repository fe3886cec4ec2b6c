// Requests that Node's HTTP parser refuses before Fastify sees them (headers over the size limit, bytes that are
// not HTTP, a request that took too long to arrive): they get a problem+json answer like every other refusal,
// with a request id to quote and the security headers, instead of Fastify's plain JSON.
import { randomUUID } from 'node:crypto'
import { STATUS_CODES } from 'node:http'
import type { Socket } from 'node:net'
import type { ConnectionError, FastifyInstance } from 'fastify'
import { ERROR_KINDS, type ErrorCode } from '../errors.js'
import { PROBLEM_CONTENT_TYPE, problem } from './problem.js'
import { REQUEST_ID_HEADER } from './request-id.js'

/** The answer to each parser error code; anything else is a malformed request. */
const ANSWERS: Record<string, { code: ErrorCode, detail: string }> = {
  HPE_HEADER_OVERFLOW: { code: 'CS_HEADERS_TOO_LARGE', detail: 'The request headers are too large' },
  ERR_HTTP_REQUEST_TIMEOUT: { code: 'CS_REQUEST_TIMEOUT', detail: 'The request took too long to arrive' }
}
const MALFORMED = { code: 'CS_BAD_REQUEST', detail: 'The request is not valid HTTP' } as const

/**
 * Fastify's clientErrorHandler, answering with these security headers: `this` is the app. Writes the answer on
 * the raw socket, then closes it.
 */
export function clientErrorAnswerer (securityHeaders: Readonly<Record<string, string>>) {
  return function answerClientError (this: FastifyInstance, err: ConnectionError, socket: Socket): void {
    // A reset connection has nobody left to answer.
    if (err.code === 'ECONNRESET' || socket.destroyed) return
    const { code, detail } = ANSWERS[err.code] ?? MALFORMED
    const { status } = ERROR_KINDS[code]
    const requestId = randomUUID()
    // Debug, not info: a scan of malformed requests must not flood the log. The error says no more than its code.
    this.log.debug({ reqId: requestId, code: err.code }, 'refused a request the HTTP parser could not read')
    if (socket.writable) {
      const body = JSON.stringify(problem(code, status, detail))
      const headers = {
        ...securityHeaders,
        [REQUEST_ID_HEADER]: requestId,
        'Content-Type': PROBLEM_CONTENT_TYPE,
        'Content-Length': String(Buffer.byteLength(body)),
        Connection: 'close'
      }
      const head = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`).join('')
      socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n${head}\r\n${body}`)
    }
    socket.destroy()
  }
}
