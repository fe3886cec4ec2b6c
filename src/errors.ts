// The service's error kinds, one record each: status, problem type, title and what it means (the headers a kind
// carries are in http/response-headers.ts). The error classes, the handler's mapping (problem-handler.ts) and the
// OpenAPI responses are all derived from this table. Codes are stable and never reused; each is listed in the
// README's error table.
import createError from '@fastify/error'

export interface ErrorKind {
  status: number
  /** The last part of the problem type URI: urn:cache-service:problem:<type>. */
  type: string
  title: string
  /** What a caller should make of it, for the OpenAPI document. */
  description: string
}

export const ERROR_KINDS = {
  CS_VALIDATION: {
    status: 400,
    type: 'validation-failed',
    title: 'The request is not valid',
    description: 'The request is not valid; `errors` lists each problem. Nothing was changed'
  },
  CS_BAD_REQUEST: {
    status: 400,
    type: 'bad-request',
    title: 'The request is malformed',
    description: 'The request is not well-formed HTTP, or its URL is not validly percent-encoded'
  },
  CS_UNAUTHORIZED: {
    status: 401,
    type: 'unauthorized',
    title: 'Authentication is required',
    description: 'No valid bearer credential was sent'
  },
  CS_FORBIDDEN: {
    status: 403,
    type: 'forbidden',
    title: 'The caller lacks the scope this needs',
    description: 'The credential lacks the scope this operation needs'
  },
  CS_NOT_FOUND: { status: 404, type: 'not-found', title: 'Not found', description: 'Not found' },
  CS_ROUTE_NOT_FOUND: {
    status: 404,
    type: 'route-not-found',
    title: 'No such route',
    description: 'No operation is served at this path'
  },
  CS_METHOD_NOT_ALLOWED: {
    status: 405,
    type: 'method-not-allowed',
    title: 'Method not allowed',
    description: 'The path is served, but not with this method; Allow lists the methods it takes'
  },
  CS_REQUEST_TIMEOUT: {
    status: 408,
    type: 'request-timeout',
    title: 'The request took too long',
    description: 'The request did not arrive in time; the connection is closed'
  },
  CS_PRECONDITION_FAILED: {
    status: 412,
    type: 'precondition-failed',
    title: 'Precondition failed',
    description: 'A precondition (If-Match, If-None-Match) failed; nothing was changed'
  },
  CS_SUBJECT_MISMATCH: {
    status: 409,
    type: 'subject-mismatch',
    title: 'The session belongs to another subject',
    description: 'A session\'s subject is set when it is created and never changes; nothing was changed'
  },
  CS_SUBJECT_FULL: {
    status: 409,
    type: 'subject-full',
    title: 'The subject holds as many sessions as it may',
    description: 'The subject has as many live sessions as its cap allows, and the cap refuses more; nothing was ' +
      'created. End one of its sessions first'
  },
  CS_PAYLOAD_TOO_LARGE: {
    status: 413,
    type: 'payload-too-large',
    title: 'The request body is too large',
    description: 'The body is too large; nothing was changed'
  },
  CS_UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    type: 'unsupported-media-type',
    title: 'Unsupported media type',
    description: 'The body is not of a media type the operation takes; nothing was changed'
  },
  CS_RATE_LIMITED: {
    status: 429,
    type: 'rate-limited',
    title: 'Too many requests',
    description: 'The caller sent too many requests; retry after Retry-After'
  },
  CS_HEADERS_TOO_LARGE: {
    status: 431,
    type: 'headers-too-large',
    title: 'The request headers are too large',
    description: 'The request headers are too large; the connection is closed'
  },
  CS_INTERNAL: {
    status: 500,
    type: 'internal-error',
    title: 'Internal error',
    description: "An internal error; the details are in the service's log"
  },
  CS_STORE_UNAVAILABLE: {
    status: 503,
    type: 'store-unavailable',
    title: 'The store is unavailable',
    description: 'The store did not answer in time; retry after Retry-After'
  },
  CS_OVERLOADED: {
    status: 503,
    type: 'overloaded',
    title: 'The service is overloaded',
    description: 'The service is overloaded; retry after Retry-After'
  },
  CS_STORE_FULL: {
    status: 507,
    type: 'store-full',
    title: 'The store is full',
    description: 'The store has reached its memory limit and takes no new data; nothing was written. ' +
      'Reads and deletes still work'
  }
} as const satisfies Record<string, ErrorKind>

export type ErrorCode = keyof typeof ERROR_KINDS

/** Fastify's own errors that a caller can cause, and the kind each is answered as. */
export const FRAMEWORK_ERROR_KINDS: Readonly<Record<string, ErrorCode>> = {
  FST_UNDER_PRESSURE: 'CS_OVERLOADED',
  FST_ERR_CTP_BODY_TOO_LARGE: 'CS_PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'CS_UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'CS_BAD_REQUEST',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'CS_BAD_REQUEST',
  FST_ERR_BAD_URL: 'CS_BAD_REQUEST'
}

/** The kind an error code stands for, ours or Fastify's; undefined for a code nobody named. */
export function errorKindOf (code: string | undefined): (ErrorKind & { code: ErrorCode }) | undefined {
  if (code === undefined) return undefined
  // Own properties only: a code of 'constructor' or 'toString' must not find what every object inherits.
  const ours = Object.hasOwn(ERROR_KINDS, code)
    ? code as ErrorCode
    : Object.hasOwn(FRAMEWORK_ERROR_KINDS, code) ? FRAMEWORK_ERROR_KINDS[code] : undefined
  return ours === undefined ? undefined : { code: ours, ...ERROR_KINDS[ours] }
}

/** The error class of a kind: `new NotFoundError(detail)` leaves as that kind's problem with this detail. */
function errorClass<Args extends unknown[] = [detail: string]> (code: ErrorCode, message = '%s') {
  return createError<Args>(code, message, ERROR_KINDS[code].status)
}

/** A body that is not what the route takes, found outside schema validation (its JSON does not parse, say). */
export const BodyValidationError = errorClass('CS_VALIDATION')
export const NotFoundError = errorClass('CS_NOT_FOUND')
export const RouteNotFoundError = errorClass<[method: string]>('CS_ROUTE_NOT_FOUND', 'No route for %s at this path')
export const MethodNotAllowedError = errorClass<[method: string]>('CS_METHOD_NOT_ALLOWED', 'Method %s is not allowed')
export const PreconditionFailedError = errorClass('CS_PRECONDITION_FAILED')
export const PayloadTooLargeError = errorClass('CS_PAYLOAD_TOO_LARGE')
export const UnsupportedMediaTypeError = errorClass('CS_UNSUPPORTED_MEDIA_TYPE')
export const UnauthorizedError = errorClass('CS_UNAUTHORIZED')
export const ForbiddenError = errorClass('CS_FORBIDDEN')
export const SubjectMismatchError = errorClass('CS_SUBJECT_MISMATCH')
export const SubjectFullError = errorClass('CS_SUBJECT_FULL')
export const RateLimitedError = errorClass('CS_RATE_LIMITED')
export const OverloadedError = errorClass('CS_OVERLOADED')

/** Seconds a client should wait before retrying after a 503. */
export const RETRY_AFTER_SECONDS = 1
