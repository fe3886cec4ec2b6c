// What each operation answers beyond its route schema, declared next to its route (`config.openapi`) and turned into
// OpenAPI responses here: descriptions and headers of its successes, binary bodies, and the error kinds it can
// answer with (their problem responses come from the table in errors.ts). JSON bodies are the route's
// `schema.response`, which @fastify/swagger renders; this layer only adds what a schema cannot say.
import type { OpenAPIV3_1 as OpenAPI } from 'openapi-types'
import { ERROR_KINDS, type ErrorCode, type ErrorKind, type ProblemHeader } from '../errors.js'
import { PROBLEM_CONTENT_TYPE } from '../http/problem.js'

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
  'Cache-Status': {
    description: 'RFC 9211: `cache-service; hit; ttl=<seconds fresh>` (below 0, with `detail=stale`, for an entry ' +
      'served stale), or `cache-service; fwd=miss`',
    schema: { type: 'string' }
  },
  Age: {
    description: 'Seconds since the value was stored; absent for entries stored before the service kept that',
    required: false,
    schema: { type: 'integer' }
  },
  'Cache-Lease': {
    description: 'On a miss or a stale entry, when a lease was asked for or is held: `granted; ttl=<seconds>` ' +
      '(this caller computes the value, and PUTs it with Cache-Lease-Token) or `held; ttl=<seconds left>`',
    required: false,
    schema: { type: 'string' }
  },
  'Cache-Lease-Token': {
    description: 'The granted lease\'s token, for the PUT of the value',
    required: false,
    schema: { type: 'string' }
  },
  'Preference-Applied': {
    description: '`wait=<seconds>` when the request waited for another caller\'s value (RFC 7240)',
    required: false,
    schema: { type: 'string' }
  },
  Location: { description: 'The path of the created session', schema: { type: 'string' } },
  'Retry-After': { description: 'Seconds to wait before trying again', schema: { type: 'integer' } },
  'Accept-Patch': { description: 'The media type PATCH takes', schema: { type: 'string' } },
  Allow: { description: 'The methods the path is served with', schema: { type: 'string' } },
  'WWW-Authenticate': {
    description: 'The Bearer challenge, with error and scope when they apply',
    schema: { type: 'string' }
  },
  'RateLimit-Limit': { description: 'Requests allowed per window', schema: { type: 'integer' } },
  'RateLimit-Remaining': { description: 'Requests left in the window', schema: { type: 'integer' } },
  'RateLimit-Reset': { description: 'Seconds until the window resets', schema: { type: 'integer' } },
  'X-Request-Id': { description: 'The request id: the one sent, if usable, or a new one', schema: { type: 'string' } }
} as const satisfies Record<string, OpenAPI.HeaderObject> & Record<ProblemHeader, OpenAPI.HeaderObject>

export type HeaderName = keyof typeof HEADERS

export interface ResponseSpec {
  description: string
  headers?: readonly HeaderName[]
  /** Any bytes in the stored media type; a JSON body is the route's `schema.response` instead. */
  binary?: true
}

export interface OperationSpec {
  /** Every success the operation answers with; a status with a body in `schema.response` must be listed here. */
  responses: Record<number, ResponseSpec>
  /** The error kinds the operation itself answers with; those every operation may answer are added. */
  errors: readonly ErrorCode[]
  /** Headers a problem of this operation carries beyond its kind's own (Accept-Patch on a PATCH's 415). */
  problemHeaders?: Partial<Record<ErrorCode, readonly HeaderName[]>>
  /** For a body the route schemas cannot describe, such as raw bytes of any media type. */
  requestBody?: OpenAPI.RequestBodyObject
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The responses of the operation, for the OpenAPI document. */
    openapi?: OperationSpec
  }
}

const BINARY_BODY = 'The stored bytes, in the stored media type'
/** Every operation may fail inside, or shed load. */
const EVERY_OPERATION: readonly ErrorCode[] = ['CS_INTERNAL', 'CS_OVERLOADED']
/** An operation that requires a scope may also refuse the credential, the scope, or the caller's pace. */
const SCOPED_OPERATION: readonly ErrorCode[] = ['CS_UNAUTHORIZED', 'CS_FORBIDDEN', 'CS_RATE_LIMITED']

/**
 * OpenAPI responses for an operation: its successes, with the content @fastify/swagger generated from their
 * schemas, and a problem response per status its error kinds share. Every response carries X-Request-Id.
 */
export function toOpenApiResponses (spec: OperationSpec & { scope?: string | undefined },
  generated: OpenAPI.ResponsesObject = {}): OpenAPI.ResponsesObject {
  // @fastify/swagger invents a bodiless 200 for a route without response schemas; one with a body must be described.
  for (const [status, response] of Object.entries(generated)) {
    const described = spec.responses[Number(status)] !== undefined
    if (!described && 'content' in response) throw new Error(`response ${status} has a schema but no description`)
  }
  const responses: Record<number, OpenAPI.ResponseObject> = {}
  for (const [status, { description, headers = [], binary }] of Object.entries(spec.responses)) {
    const response: OpenAPI.ResponseObject = { description, headers: headerRefs(headers) }
    const content = (generated[status] as OpenAPI.ResponseObject | undefined)?.content
    if (binary === true) response.content = { '*/*': { schema: { description: BINARY_BODY } } }
    else if (content !== undefined) response.content = content
    responses[Number(status)] = response
  }

  const codes = new Set([...spec.errors, ...EVERY_OPERATION, ...(spec.scope === undefined ? [] : SCOPED_OPERATION)])
  // Map.groupBy would say this in one line, but Node 20 lacks it.
  const byStatus = new Map<number, Array<ErrorKind & { code: ErrorCode }>>()
  for (const code of codes) {
    const kind = ERROR_KINDS[code]
    byStatus.set(kind.status, [...byStatus.get(kind.status) ?? [], { code, ...kind }])
  }
  for (const [status, kinds] of byStatus) {
    const headers = new Set(kinds.flatMap(({ code, headers = [] }) =>
      [...headers, ...spec.problemHeaders?.[code] ?? []]))
    responses[status] = {
      description: kinds.length === 1
        ? kinds[0]!.description
        : kinds.map(({ type, description }) => `- \`${type}\`: ${description}`).join('\n'),
      headers: headerRefs([...headers]),
      content: { [PROBLEM_CONTENT_TYPE]: { schema: { $ref: '#/components/schemas/Problem' } } }
    }
  }
  const sorted = Object.entries(responses).sort(([a], [b]) => Number(a) - Number(b))
  return Object.fromEntries(sorted)
}

function headerRefs (names: readonly HeaderName[]): Record<string, OpenAPI.ReferenceObject> {
  return Object.fromEntries(['X-Request-Id', ...names].map((name) => [name, { $ref: `#/components/headers/${name}` }]))
}
