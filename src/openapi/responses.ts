// What each operation answers beyond its route schema, declared next to its route (`config.openapi`) and turned into
// OpenAPI responses here: descriptions of its successes, binary bodies, and the error kinds it can answer with
// (their problem responses come from the table in errors.ts). JSON bodies are the route's `schema.response`, which
// @fastify/swagger renders; the headers of each response come from the registry in http/response-headers.ts.
import type { OpenAPIV3_1 as OpenAPI } from 'openapi-types'
import { ERROR_KINDS, type ErrorCode, type ErrorKind } from '../errors.js'
import { PROBLEM_CONTENT_TYPE } from '../http/problem.js'
import { RESPONSE_HEADERS, type ResponseHeaderName } from '../http/response-headers.js'

/** The response headers, as components of the document. */
export const HEADER_COMPONENTS: Record<string, OpenAPI.HeaderObject> = Object.fromEntries(
  Object.entries(RESPONSE_HEADERS).map(([name, { description, type, always }]) =>
    [name, { description, required: always, schema: { type } }]))

/** The operations and error codes the registry names, for completeDocument to check that each exists. */
export const HEADER_PLACES = new Set(Object.values(RESPONSE_HEADERS).flatMap(({ on }) => on))

/** The headers the registry places on one response: of an operation's status, or of a problem's kinds. */
function headersOn (places: readonly string[]): ResponseHeaderName[] {
  return (Object.keys(RESPONSE_HEADERS) as ResponseHeaderName[])
    .filter((name) => RESPONSE_HEADERS[name].on.some((place: string) => place === '*' || places.includes(place)))
}

export interface ResponseSpec {
  description: string
  /** Any bytes in the stored media type; a JSON body is the route's `schema.response` instead. */
  binary?: true
  /** The operations that act on what this response made, by operationId, and how to name it (OpenAPI links). */
  links?: Record<string, { operationId: string, parameters: Record<string, string> }>
}

/**
 * Links to other operations on the resource a response is about, which they name by `parameter`, its value taken
 * by the runtime expression `from` (`$request.path.key`, `$response.body#/id`); named as the operation, capitalised.
 */
export function linksToSameResource (parameter: string, from: string, operationIds: readonly string[])
  : NonNullable<ResponseSpec['links']> {
  return Object.fromEntries(operationIds.map((operationId) =>
    [operationId.replace(/^./, (first) => first.toUpperCase()), { operationId, parameters: { [parameter]: from } }]))
}

export interface OperationSpec {
  /** Every success the operation answers with; a status with a body in `schema.response` must be listed here. */
  responses: Record<number, ResponseSpec>
  /** The error kinds the operation itself answers with; those every operation may answer are added. */
  errors: readonly ErrorCode[]
  /** For a body the route schemas cannot describe, such as raw bytes of any media type. */
  requestBody?: OpenAPI.RequestBodyObject
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The responses of the operation, for the OpenAPI document. */
    openapi?: OperationSpec
  }
}

/**
 * Raw bytes: declared as application/octet-stream, which every generator reads and writes as bytes, and as any
 * media type, since a value is served in the one it was stored with.
 */
export const BINARY = { type: 'string', format: 'binary' } as const
const BINARY_BODY = { schema: { ...BINARY, description: 'The stored bytes, in the stored media type' } }
/** Every operation may fail inside, or shed load. */
const EVERY_OPERATION: readonly ErrorCode[] = ['CS_INTERNAL', 'CS_OVERLOADED']
/** An operation that requires a scope may also refuse the credential, the scope, or the caller's pace. */
const SCOPED_OPERATION: readonly ErrorCode[] = ['CS_UNAUTHORIZED', 'CS_FORBIDDEN', 'CS_RATE_LIMITED']

/**
 * OpenAPI responses for an operation: its successes, with the content @fastify/swagger generated from their
 * schemas, and a problem response per status its error kinds share. Every response carries X-Request-Id.
 */
export function toOpenApiResponses (operationId: string, spec: OperationSpec & { scope?: string | undefined },
  generated: OpenAPI.ResponsesObject = {}): OpenAPI.ResponsesObject {
  // @fastify/swagger invents a bodiless 200 for a route without response schemas; one with a body must be described.
  for (const [status, response] of Object.entries(generated)) {
    const described = spec.responses[Number(status)] !== undefined
    if (!described && 'content' in response) throw new Error(`response ${status} has a schema but no description`)
  }
  const responses: Record<number, OpenAPI.ResponseObject> = {}
  for (const [status, { description, binary, links }] of Object.entries(spec.responses)) {
    const response: OpenAPI.ResponseObject = { description, headers: headerRefs([`${operationId} ${status}`]) }
    if (links !== undefined) response.links = links
    const content = (generated[status] as OpenAPI.ResponseObject | undefined)?.content
    if (binary === true) response.content = { 'application/octet-stream': BINARY_BODY, '*/*': BINARY_BODY }
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
    const headers = headerRefs([`${operationId} ${status}`, ...kinds.map(({ code }) => code)])
    responses[status] = {
      description: kinds.length === 1
        ? kinds[0]!.description
        : kinds.map(({ type, description }) => `- \`${type}\`: ${description}`).join('\n'),
      headers,
      content: { [PROBLEM_CONTENT_TYPE]: { schema: { $ref: '#/components/schemas/Problem' } } }
    }
  }
  const sorted = Object.entries(responses).sort(([a], [b]) => Number(a) - Number(b))
  return Object.fromEntries(sorted)
}

function headerRefs (places: readonly string[]): Record<string, OpenAPI.ReferenceObject> {
  return Object.fromEntries(headersOn(places).map((name) => [name, { $ref: `#/components/headers/${name}` }]))
}
