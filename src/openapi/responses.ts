// What each operation can answer, declared next to its route (`config.openapi`) and turned into OpenAPI
// responses here: status codes, descriptions, headers, and bodies (JSON, binary, or the shared Problem).
import type { OpenAPIV3_1 as OpenAPI } from 'openapi-types'

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
  412: 'A precondition (If-Match, If-None-Match) failed; nothing was changed',
  413: 'The body is too large; nothing was changed',
  415: 'The body is not of a media type the operation takes; nothing was changed',
  500: "An internal error; the details are in the service's log",
  503: 'The store did not answer in time, or its credentials expired; retry after Retry-After'
}

/** Problem responses for these statuses (a 503 carries Retry-After). */
export function problems (...statuses: number[]): Record<number, ResponseSpec> {
  return Object.fromEntries(statuses.map((status) => [status, {
    description: PROBLEMS[status] ?? 'A problem',
    body: { problem: true },
    ...(status === 503 && { headers: ['Retry-After'] as HeaderName[] })
  }]))
}

export const PROBLEM_MEDIA_TYPE = 'application/problem+json'

/** OpenAPI responses for a spec; every response carries X-Request-Id, every operation may answer 500. */
export function toOpenApiResponses (responses: Record<number, ResponseSpec>): OpenAPI.ResponsesObject {
  const all = { ...problems(500), ...responses }
  return Object.fromEntries(Object.entries(all).map(([status, spec]) => {
    const response: OpenAPI.ResponseObject = { description: spec.description }
    response.headers = Object.fromEntries(['X-Request-Id', ...(spec.headers ?? [])]
      .map((name) => [name, { $ref: `#/components/headers/${name}` }]))
    const body = spec.body
    if (body !== undefined && 'json' in body) {
      response.content = { 'application/json': { schema: { $ref: `#/components/schemas/${body.json}` } } }
    } else if (body !== undefined && 'binary' in body) {
      response.content = { '*/*': { schema: { description: 'The stored bytes, in the stored media type' } } }
    } else if (body !== undefined) {
      response.content = { [PROBLEM_MEDIA_TYPE]: { schema: { $ref: '#/components/schemas/Problem' } } }
    }
    return [status, response]
  }))
}
