// The service's named error kinds. Codes are stable and never reused; each maps to one RFC 9457 problem type.
import { STATUS_CODES } from 'node:http'
import createError from '@fastify/error'
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod'

export const PROBLEM_CONTENT_TYPE = 'application/problem+json'

/** Seconds a client should wait before retrying after a 503. */
export const RETRY_AFTER_SECONDS = 1

/** A body that is not what the route takes, found outside schema validation (its JSON does not parse, say). */
export const BodyValidationError = createError<[string]>('CS_VALIDATION', '%s', 400)
export const NotFoundError = createError<[string]>('CS_NOT_FOUND', '%s', 404)
export const RouteNotFoundError = createError<[string]>('CS_ROUTE_NOT_FOUND', 'No route for %s at this path', 404)
export const MethodNotAllowedError = createError<[string]>('CS_METHOD_NOT_ALLOWED', 'Method %s is not allowed', 405)
export const PreconditionFailedError = createError<[string]>('CS_PRECONDITION_FAILED', '%s', 412)
export const PayloadTooLargeError = createError<[string]>('CS_PAYLOAD_TOO_LARGE', '%s', 413)
export const UnsupportedMediaTypeError = createError<[string]>('CS_UNSUPPORTED_MEDIA_TYPE', '%s', 415)
export const UnauthorizedError = createError<[string]>('CS_UNAUTHORIZED', '%s', 401)
export const ForbiddenError = createError<[string]>('CS_FORBIDDEN', '%s', 403)
export const RateLimitedError = createError<[string]>('CS_RATE_LIMITED', '%s', 429)
export const StoreUnavailableError = createError<[detail: string, options?: { cause: unknown }]>(
  'CS_STORE_UNAVAILABLE', '%s', 503)

/** Slug of the problem type and its human title, by error code (ours and the Fastify ones clients can cause). */
export const PROBLEM_TYPES: Readonly<Record<string, { slug: string, title: string }>> = {
  CS_VALIDATION: { slug: 'validation-failed', title: 'The request is not valid' },
  CS_BAD_REQUEST: { slug: 'bad-request', title: 'The request is malformed' },
  CS_HEADERS_TOO_LARGE: { slug: 'headers-too-large', title: 'The request headers are too large' },
  CS_REQUEST_TIMEOUT: { slug: 'request-timeout', title: 'The request took too long' },
  CS_NOT_FOUND: { slug: 'not-found', title: 'Not found' },
  CS_ROUTE_NOT_FOUND: { slug: 'route-not-found', title: 'No such route' },
  CS_METHOD_NOT_ALLOWED: { slug: 'method-not-allowed', title: 'Method not allowed' },
  CS_PRECONDITION_FAILED: { slug: 'precondition-failed', title: 'Precondition failed' },
  CS_PAYLOAD_TOO_LARGE: { slug: 'payload-too-large', title: 'The request body is too large' },
  CS_UNSUPPORTED_MEDIA_TYPE: { slug: 'unsupported-media-type', title: 'Unsupported media type' },
  CS_STORE_UNAVAILABLE: { slug: 'store-unavailable', title: 'The store is unavailable' },
  CS_UNAUTHORIZED: { slug: 'unauthorized', title: 'Authentication is required' },
  CS_FORBIDDEN: { slug: 'forbidden', title: 'The caller lacks the scope this needs' },
  CS_RATE_LIMITED: { slug: 'rate-limited', title: 'Too many requests' },
  FST_UNDER_PRESSURE: { slug: 'overloaded', title: 'The service is overloaded' },
  FST_ERR_CTP_BODY_TOO_LARGE: { slug: 'payload-too-large', title: 'The request body is too large' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { slug: 'unsupported-media-type', title: 'Unsupported media type' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { slug: 'bad-request', title: 'The request is malformed' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { slug: 'bad-request', title: 'The request is malformed' },
  FST_ERR_BAD_URL: { slug: 'bad-request', title: 'The request is malformed' },
  INTERNAL: { slug: 'internal-error', title: 'Internal error' }
}

/** Problem type URIs are identifiers, not links (RFC 9457 §3.1.1), so a URN keeps them stable and undereferenced. */
export function problemTypeUri (slug: string): string {
  return `urn:cache-service:problem:${slug}`
}

export interface ValidationProblem {
  /** Which part of the request: params, querystring, headers or body. */
  in: string
  /** JSON pointer into that part. */
  path: string
  message: string
}

export interface Problem {
  type: string
  title: string
  status: number
  detail: string
  errors?: ValidationProblem[]
}

/** A problem of one of our named kinds; an unknown code gets RFC 9457's `about:blank` and the status phrase. */
export function problem (code: string | undefined, status: number, detail: string): Problem {
  const kind = code === undefined ? undefined : PROBLEM_TYPES[code]
  if (kind === undefined) return { type: 'about:blank', title: STATUS_CODES[status] ?? 'Error', status, detail }
  return { type: problemTypeUri(kind.slug), title: kind.title, status, detail }
}

export function sendProblem (reply: FastifyReply, body: Problem): FastifyReply {
  return reply.code(body.status).type(PROBLEM_CONTENT_TYPE).send(body)
}

/**
 * The one error handler. Validation failures become 400 with every problem listed; client errors keep their
 * message; server errors are logged in full and leave with a generic detail, so no internals reach the caller.
 */
export function problemErrorHandler (error: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  if (hasZodFastifySchemaValidationErrors(error)) {
    const where = error.validationContext ?? 'request'
    const body = problem('CS_VALIDATION', 400, `The ${where} did not validate`)
    body.errors = error.validation.map((issue) => ({
      in: where,
      path: issue.instancePath,
      message: issue.message ?? 'is not valid'
    }))
    request.log.debug({ errors: body.errors }, 'request validation failed')
    return sendProblem(reply, body)
  }

  const status = error.statusCode !== undefined && error.statusCode >= 400 ? error.statusCode : 500
  if (error.code === 'CS_STORE_UNAVAILABLE') {
    request.log.warn({ cause: describeCause(error.cause) }, 'store unavailable')
    reply.header('retry-after', String(RETRY_AFTER_SECONDS))
    return sendProblem(reply, problem(error.code, 503, error.message))
  }
  if (status === 503) {
    // Overload (under-pressure) and the like: the caller should come back shortly, and be told when.
    if (!reply.hasHeader('retry-after')) reply.header('retry-after', String(RETRY_AFTER_SECONDS))
    request.log.warn({ code: error.code }, 'service unavailable')
    return sendProblem(reply, problem(error.code, 503, 'The service is overloaded; retry shortly'))
  }
  if (status >= 500) {
    request.log.error({ err: error }, 'request failed')
    return sendProblem(reply, problem('INTERNAL', status, 'The server could not complete the request'))
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
