// The OpenAPI document (GET /openapi.json, GET /openapi.yaml) and, unless DOCS_ENABLED=false, the interactive
// page at /docs. Registered before the routes, so that it sees every one of them.
import fastifySwagger from '@fastify/swagger'
import fastifySwaggerUi from '@fastify/swagger-ui'
import fp from 'fastify-plugin'
import { jsonSchemaTransform } from 'fastify-type-provider-zod'
import type { OpenAPIV3_1 as OpenAPI } from 'openapi-types'
import { collectOperations, completeDocument, DOCUMENT_INFO, TAGS, toYaml } from '../openapi/document.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** The service's OpenAPI 3.1 document, complete. */
    openapiDocument: () => OpenAPI.Document
  }
}

export interface OpenApiPluginOptions {
  docsEnabled: boolean
}

export default fp<OpenApiPluginOptions>(async (app, { docsEnabled }) => {
  await app.register(fastifySwagger, {
    openapi: { openapi: '3.1.0', info: DOCUMENT_INFO, tags: TAGS },
    transform: jsonSchemaTransform
  })
  const operations = collectOperations(app)

  let document: OpenAPI.Document | undefined
  let yaml: string | undefined
  // Built once, on first use: the routes cannot change after the app is ready.
  app.decorate('openapiDocument', () => {
    document ??= completeDocument(app.swagger() as OpenAPI.Document, operations)
    return document
  })

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.openapiDocument())
  app.get('/openapi.yaml', { schema: { hide: true } }, async (_request, reply) => {
    yaml ??= toYaml(app.openapiDocument())
    return reply.type('application/yaml').send(yaml)
  })

  if (docsEnabled) {
    await app.register(fastifySwaggerUi, {
      routePrefix: '/docs',
      // The page needs scripts and styles of its own, which the API's strict policy forbids.
      staticCSP: true,
      transformSpecification: () => app.openapiDocument(),
      transformSpecificationClone: false
    })
  }
}, { name: 'openapi' })
