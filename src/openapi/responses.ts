// What each operation can answer, declared next to its route (`config.openapi`) and turned into OpenAPI
// responses here: status codes, descriptions, headers, and bodies (JSON, binary, or the shared Problem).
import type { OpenAPIV3_1 as OpenAPI } from 'openapi-types'
import { PROBLEM_CONTENT_TYPE } from '../errors.js'

/** The response headers the service sends, each a component of the document. */
export const HEADERS = {
  ETag: {
    description: 'A strong entity tag of the representation, for If-Match and If-None-Match',
    schema: { type: 'string' }
  },
  'Cache-Control': {
    description: '`max-age=<seconds left>` for cache entries; `no-store` for sessions',
    schema: { type: 'string' }
  },
  Location: { description: 'The path of the created session', schema: { type: 'string' } },
  'Retry-After': { description: 'Seconds to wait before trying again', schema: { type: 'integer' } },
  'Accept-Patch': { description: 'The media type PATCH takes', schema: { type: 'string' } },
  'WWW-Authenticate': {
    description: 'The Bearer challenge, with error and scope when they apply',
    schema: { type: 'string' }
  },
  'RateLimit-Limit': { description: 'Requests allowed per window', schema: { type: 'integer' } },
  'RateLimit-Remaining': { description: 'Requests left in the window', schema: { type: 'integer' } },
  'RateLimit-Reset': { description: 'Seconds until the window resets', schema: { type: 'integer' } },
  'X-Request-Id': { description: 'The request id: the one sent, if usable, or a new one', schema: { type: 'string' } }
} as const satisfies Record<string, OpenAPI.HeaderObject>

export type HeaderName = keyof typeof HEADERS

export interface ResponseSpec {
  description: string
  headers?: HeaderName[]
  /** A JSON body described by a schema component, any bytes, or nothing (the default). */
  body?: { json: string } | { binary: true } | { problem: true }
}

export interface OperationSpec {
  responses: Record<number, ResponseSpec>
  /** The scope the route requires (from `config.scope`); the operation is open without one. */
  scope?: string
  /** For a body the route schemas cannot describe, such as raw bytes of any media type. */
  requestBody?: OpenAPI.RequestBodyObject
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The responses of the operation, for the OpenAPI document. */
    openapi?: OperationSpec
  }
}

const PROBLEMS: Record<number, string> = {
  400: 'The request is not valid; nothing was changed',
  404: 'Not found',
  401: 'No valid bearer credential was sent',
  403: 'The credential lacks the scope this operation needs',
  412: 'A precondition (If-Match, If-None-Match) failed; nothing was changed',
  413: 'The body is too large; nothing was changed',
  415: 'The body is not of a media type the operation takes; nothing was changed',
  429: 'The caller sent too many requests; retry after Retry-After',
  500: "An internal error; the details are in the service's log",
  503: 'The service is overloaded, or the store did not answer in time; retry after Retry-After'
}

const PROBLEM_HEADERS: Record<number, HeaderName[]> = {
  401: ['WWW-Authenticate'],
  403: ['WWW-Authenticate'],
  429: ['Retry-After', 'RateLimit-Limit', 'RateLimit-Remaining', 'RateLimit-Reset'],
  503: ['Retry-After']
}

/** Problem responses for these statuses, with the headers each carries. */
export function problems (...statuses: number[]): Record<number, ResponseSpec> {
  return Object.fromEntries(statuses.map((status) => [status, {
    description: PROBLEMS[status] ?? 'A problem',
    body: { problem: true },
    ...(PROBLEM_HEADERS[status] !== undefined && { headers: PROBLEM_HEADERS[status] })
  }]))
}

/**
 * OpenAPI responses for an operation. Every response carries X-Request-Id; every operation may answer 500 and
 * 503 (overload); one that requires a scope may also answer 401, 403 and 429.
 */
export function toOpenApiResponses ({ responses, scope }: OperationSpec): OpenAPI.ResponsesObject {
  const all = { ...responses, ...problems(500, 503), ...(scope !== undefined && problems(401, 403, 429)) }
  const sorted = Object.entries(all).sort(([a], [b]) => Number(a) - Number(b))
  return Object.fromEntries(sorted.map(([status, spec]) => {
    const response: OpenAPI.ResponseObject = { description: spec.description }
    response.headers = Object.fromEntries(['X-Request-Id', ...(spec.headers ?? [])]
      .map((name) => [name, { $ref: `#/components/headers/${name}` }]))
    const body = spec.body
    if (body !== undefined && 'json' in body) {
      response.content = { 'application/json': { schema: { $ref: `#/components/schemas/${body.json}` } } }
    } else if (body !== undefined && 'binary' in body) {
      response.content = { '*/*': { schema: { description: 'The stored bytes, in the stored media type' } } }
    } else if (body !== undefined) {
      response.content = { [PROBLEM_CONTENT_TYPE]: { schema: { $ref: '#/components/schemas/Problem' } } }
    }
    return [status, response]
  }))
}
