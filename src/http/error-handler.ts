// The one error handler: every error leaves as a problem document of its kind (errors.ts). Validation failures
// list every problem; client errors keep their message; server errors are logged in full and leave with a generic
// detail, so no internals reach the caller.
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod'
import { errorKindOf, RETRY_AFTER_SECONDS } from '../errors.js'
import { problem, sendProblem } from './problem.js'

export function problemErrorHandler (error: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  if (hasZodFastifySchemaValidationErrors(error)) {
    // Fastify names the part for every schema validation failure; the body is what a custom validator checks.
    const where = error.validationContext ?? 'body'
    const body = problem('CS_VALIDATION', 400, `The ${where} did not validate`)
    body.errors = error.validation.map((issue) => ({
      in: where,
      path: issue.instancePath,
      message: issue.message ?? 'is not valid'
    }))
    request.log.debug({ errors: body.errors }, 'request validation failed')
    return sendProblem(reply, body)
  }

  const kind = errorKindOf(error.code)
  const status = kind?.status ?? (error.statusCode !== undefined && error.statusCode >= 400 ? error.statusCode : 500)
  // The store or the service is busy: the caller should come back shortly, and be told when.
  if (status === 503 && !reply.hasHeader('retry-after')) reply.header('retry-after', String(RETRY_AFTER_SECONDS))
  if (kind?.code === 'CS_STORE_UNAVAILABLE' || kind?.code === 'CS_STORE_FULL') {
    // The store's own words are written for the caller; the cause, for the operator.
    const what = kind.code === 'CS_STORE_FULL' ? 'store full' : 'store unavailable'
    request.log.warn({ cause: describeCause(error.cause) }, what)
    return sendProblem(reply, problem(kind.code, status, error.message))
  }
  if (status === 503) {
    request.log.warn({ code: error.code }, 'service unavailable')
    return sendProblem(reply, problem(error.code, status, 'The service is overloaded; retry shortly'))
  }
  if (status >= 500) {
    request.log.error({ err: error }, 'request failed')
    return sendProblem(reply, problem('CS_INTERNAL', status, 'The server could not complete the request'))
  }

  // A refusal is the caller's business (a cache miss is one): worth a line at debug, not on every request at info.
  request.log.debug({ code: error.code, status }, 'request refused')
  return sendProblem(reply, problem(error.code, status, error.message))
}

/**
 * What a log may say of a backend failure. ioredis errors carry the failed command with its arguments, which
 * hold cached values and session data, so only the name, code and message are kept.
 */
function describeCause (cause: unknown): { name?: string, code?: string, message?: string } | undefined {
  if (!(cause instanceof Error)) return undefined
  return { name: cause.name, code: (cause as NodeJS.ErrnoException).code, message: cause.message }
}
