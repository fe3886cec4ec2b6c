// The listener for /metrics, apart from the API (METRICS_PORT), so that metrics are never exposed alongside it. It
// answers /healthz too, for the liveness probe: a pod whose API holds MAX_CONNECTIONS resets new connections, the
// probe's among them, which must make it unready (readiness asks the API) but not get it restarted.
import Fastify, { type FastifyInstance } from 'fastify'
import { alive } from './routes/health.js'

export function buildMetricsServer (app: FastifyInstance): FastifyInstance {
  const server = Fastify({ logger: false })
  server.get('/metrics', async (_request, reply) => {
    const { registry } = app.metrics
    return reply.type(registry.contentType).send(await registry.metrics())
  })
  server.get('/healthz', alive)
  return server
}
