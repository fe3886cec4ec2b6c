// Liveness and readiness for Kubernetes: /healthz while the process runs, /readyz while the store answers.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { HealthSchema } from '../schemas/health.js'

/** The liveness answer, here and on the metrics listener (metrics-server.ts). */
export const alive = async () => ({ status: 'ok' as const })

export const healthRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get('/healthz', {
    schema: {
      summary: 'Liveness: the process is running',
      tags: ['health'],
      operationId: 'getHealth',
      response: { 200: HealthSchema }
    },
    config: {
      // Probes come every few seconds from the platform itself; they are never rate-limited, nor traced.
      rateLimit: false,
      traced: false,
      openapi: { responses: { 200: { description: 'The process runs' } }, errors: [] }
    }
  }, alive)

  app.get('/readyz', {
    schema: {
      summary: 'Readiness: the store answers',
      tags: ['health'],
      operationId: 'getReadiness',
      response: { 200: HealthSchema }
    },
    config: {
      rateLimit: false,
      traced: false,
      openapi: { responses: { 200: { description: 'The store answers' } }, errors: ['CS_STORE_UNAVAILABLE'] }
    }
  }, async () => {
    // A failed ping throws StoreUnavailableError, which the error handler turns into 503 with Retry-After.
    await app.storeHealth.ping()
    return { status: 'ready' as const }
  })
}
