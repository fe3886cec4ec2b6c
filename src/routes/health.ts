// Liveness and readiness for Kubernetes: /healthz while the process runs, /readyz while the store answers.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { problems } from '../openapi/responses.js'

export const healthRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get('/healthz', {
    schema: { summary: 'Liveness: the process is running', tags: ['health'], operationId: 'getHealth' },
    config: {
      // Probes come every few seconds from the platform itself; they are never rate-limited.
      rateLimit: false,
      openapi: { responses: { 200: { description: 'The process runs', body: { json: 'Health' } } } }
    }
  }, async () => ({ status: 'ok' }))

  app.get('/readyz', {
    schema: { summary: 'Readiness: the store answers', tags: ['health'], operationId: 'getReadiness' },
    config: {
      rateLimit: false,
      openapi: {
        responses: { 200: { description: 'The store answers', body: { json: 'Health' } }, ...problems(503) }
      }
    }
  }, async () => {
    // A failed ping throws StoreUnavailableError, which the error handler turns into 503 with Retry-After.
    await app.storeHealth.ping()
    return { status: 'ready' }
  })
}
