// Builds the OpenAPI 3.1 document from the routes: @fastify/swagger turns their zod schemas into parameters,
// request bodies and JSON response bodies, and each route's `config.openapi` adds what a schema cannot say
// (descriptions, binary bodies, error kinds); http/response-headers.ts places the headers. All of it comes from the
// code, so the document cannot drift from what the service does.
import { readFileSync } from 'node:fs'
import type { FastifyInstance } from 'fastify'
import type { OpenAPIV3_1 as OpenAPI } from 'openapi-types'
import YAML from 'yaml'
import { ERROR_KINDS } from '../errors.js'
import { BulkDeleteResultSchema, BulkPutResultSchema, BulkReadSchema } from '../schemas/cache-bulk.js'
import { TagInvalidationSchema } from '../schemas/cache.js'
import { HealthSchema } from '../schemas/health.js'
import { toJsonSchema } from '../schemas/json-schema.js'
import { ProblemSchema } from '../schemas/problem.js'
import {
  SessionEventPageSchema, SessionListSchema, SessionRevocationResultSchema, SessionSchema
} from '../schemas/sessions.js'
import { HEADER_COMPONENTS, HEADER_PLACES, toOpenApiResponses, type OperationSpec } from './responses.js'

/** An operation's spec with the scope its route requires (`config.scope`); open without one. */
type ScopedOperationSpec = OperationSpec & { scope?: string | undefined }

const packageJson = readFileSync(new URL('../../package.json', import.meta.url), 'utf8')
const { version } = JSON.parse(packageJson) as { version: string }

export const DOCUMENT_INFO = {
  title: 'cache-service',
  version,
  license: { name: 'Proprietary', identifier: 'LicenseRef-Proprietary' },
  description: 'An HTTP cache and session store for other services, on Redis or Azure Cache for Redis.\n\n' +
    'Cache entries are opaque bytes with a media type, a TTL and a strong ETag; sessions are JSON objects with an ' +
    'idle and an absolute lifetime. Writes honour If-Match and If-None-Match (RFC 9110). Every error is an ' +
    'RFC 9457 problem document (application/problem+json).'
} as const

export const TAGS = [
  { name: 'cache', description: 'Opaque values under keys, with a TTL' },
  { name: 'sessions', description: 'Login sessions with idle and absolute expiry' },
  { name: 'health', description: 'Liveness and readiness probes' }
]

/** Completes what @fastify/swagger generated with each operation's responses and the shared components. */
export function completeDocument (generated: OpenAPI.Document, operations: ReadonlyMap<string, ScopedOperationSpec>)
  : OpenAPI.Document {
  const document = structuredClone(generated)
  // openapi-types mixes its 3.0 and 3.1 shapes in path items; only these members of an operation are touched.
  const paths = (document.paths ?? {}) as Record<string, Record<string, Operation | undefined>>
  for (const pathItem of Object.values(paths)) {
    for (const method of ['get', 'head', 'put', 'post', 'patch', 'delete'] as const) {
      if (pathItem[method] === undefined) continue
      // GET and HEAD of one route share one object; each is completed on a copy of its own.
      const operation = structuredClone(pathItem[method])
      pathItem[method] = operation
      const spec = operations.get(operation.operationId ?? '')
      if (spec === undefined) throw new Error(`operation ${operation.operationId ?? method} declares no responses`)
      operation.responses = toOpenApiResponses(operation.operationId!, spec, operation.responses)
      operation.security = spec.scope === undefined ? [] : [{ bearerAuth: [spec.scope] }]
      if (spec.requestBody !== undefined) operation.requestBody = spec.requestBody
      if (method === 'head') describeAsHead(operation)
    }
  }
  checkHeaderPlaces(operations)
  // The service answers at the origin it is reached on, wherever that is mounted.
  document.servers = [{ url: '/', description: 'The service itself' }]
  document.security = [{ bearerAuth: [] }]
  document.components = {
    ...document.components,
    // Response schemas named with `.meta({ id })` are referenced by that name (@fastify/swagger writes the $ref).
    schemas: {
      Problem: toJsonSchema(ProblemSchema) as OpenAPI.SchemaObject,
      Session: toJsonSchema(SessionSchema) as OpenAPI.SchemaObject,
      SessionList: toJsonSchema(SessionListSchema) as OpenAPI.SchemaObject,
      SessionRevocationResult: toJsonSchema(SessionRevocationResultSchema) as OpenAPI.SchemaObject,
      SessionEventPage: toJsonSchema(SessionEventPageSchema) as OpenAPI.SchemaObject,
      Health: toJsonSchema(HealthSchema) as OpenAPI.SchemaObject,
      TagInvalidation: toJsonSchema(TagInvalidationSchema) as OpenAPI.SchemaObject,
      BulkRead: toJsonSchema(BulkReadSchema) as OpenAPI.SchemaObject,
      BulkPutResult: toJsonSchema(BulkPutResultSchema) as OpenAPI.SchemaObject,
      BulkDeleteResult: toJsonSchema(BulkDeleteResultSchema) as OpenAPI.SchemaObject
    },
    headers: usedHeaders(document),
    securitySchemes: {
      bearerAuth: {
        type: 'http',
        scheme: 'bearer',
        description: 'Per AUTH_MODE: an API key, or a Microsoft Entra ID (or other OIDC) access token whose roles or ' +
          'scp claims grant the scope: cache:read, cache:write, sessions:read, sessions:write or admin (all of them)'
      }
    }
  }
  return document
}

/** A header placed on an operation that does not exist, or on an error code, would silently go undocumented. */
function checkHeaderPlaces (operations: ReadonlyMap<string, OperationSpec>): void {
  for (const place of HEADER_PLACES) {
    const [operationId, status] = place.split(' ')
    const known = place === '*' || place in ERROR_KINDS || (status !== undefined && operations.has(operationId!))
    if (!known) throw new Error(`http/response-headers.ts places a header on ${place}, which is no response`)
  }
}

/** The header components some response refers to (405s, with Allow, are not operations of the document). */
function usedHeaders (document: OpenAPI.Document): Record<string, OpenAPI.HeaderObject> {
  const text = JSON.stringify(document.paths)
  const used = ([name]: [string, unknown]) => text.includes(`"#/components/headers/${name}"`)
  return Object.fromEntries(Object.entries(HEADER_COMPONENTS).filter(used))
}

/** A route serving GET and HEAD shares one operationId; HEAD gets its own, and its responses lose their bodies. */
function describeAsHead (operation: Operation): void {
  operation.operationId = operation.operationId?.replace(/^get/, 'head')
  operation.summary = `${operation.summary ?? ''}: status and headers only`
  for (const response of Object.values(operation.responses ?? {})) delete (response as OpenAPI.ResponseObject).content
}

interface Operation {
  operationId?: string
  security?: Array<Record<string, string[]>>
  summary?: string
  requestBody?: OpenAPI.RequestBodyObject
  responses?: OpenAPI.ResponsesObject
}

/** The document as YAML, without the anchors and aliases YAML would use for repeated objects. */
export function toYaml (document: OpenAPI.Document): string {
  return YAML.stringify(document, { aliasDuplicateObjects: false, lineWidth: 0 })
}

/** Collects the routes' `config.openapi` as they are registered; call before registering them. */
export function collectOperations (app: FastifyInstance): Map<string, ScopedOperationSpec> {
  const operations = new Map<string, ScopedOperationSpec>()
  app.addHook('onRoute', (route) => {
    const operationId = (route.schema as { operationId?: string } | undefined)?.operationId
    const spec = route.config?.openapi
    if (operationId === undefined || spec === undefined) return
    operations.set(operationId, { ...spec, scope: route.config?.scope })
  })
  return operations
}
