// The listener for /metrics, apart from the API (METRICS_PORT), so that metrics are never exposed alongside it.
import Fastify, { type FastifyInstance } from 'fastify'

export function buildMetricsServer (app: FastifyInstance): FastifyInstance {
  const server = Fastify({ logger: false })
  server.get('/metrics', async (_request, reply) => {
    const { registry } = app.metrics
    return reply.type(registry.contentType).send(await registry.metrics())
  })
  return server
}
