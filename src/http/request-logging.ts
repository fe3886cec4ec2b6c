// What is logged of each request. Fastify's own two lines per request cost more, on a cache's hot path, than they
// tell an operator at info: here a request is logged at info only when it failed (5xx) or was slow, and in full
// (an incoming line and a completed line) at debug. Errors are logged with their cause by the error handler too.
// Below debug, pino's debug() is a no-op that never runs the serializers, so the fast path costs nothing.
import { LogController, type FastifyReply, type FastifyRequest } from 'fastify'

export class RequestLogController extends LogController {
  readonly #slowMs: number

  constructor ({ slowMs }: { slowMs: number }) {
    super()
    this.#slowMs = slowMs
  }

  override incomingRequest (request: FastifyRequest): void {
    request.log.debug({ req: request }, 'incoming request')
  }

  override requestCompleted (error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    const responseTime = reply.elapsedTime
    if (error) {
      reply.log.error({ req: request, res: reply, err: error, responseTime }, 'request errored')
    } else if (reply.statusCode >= 500 || responseTime >= this.#slowMs) {
      // The request is named here, as no incoming line was written for it at info.
      reply.log.info({ req: request, res: reply, responseTime }, 'request completed')
    } else {
      reply.log.debug({ res: reply, responseTime }, 'request completed')
    }
  }
}
