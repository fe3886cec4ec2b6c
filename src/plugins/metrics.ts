// Prometheus metrics, in a registry of the app's own: request durations, cache hits and misses, rate-limited
// requests, and Node.js process metrics. Other plugins add their own to the registry (the Redis plugin its
// commands, connection and token). Served by a separate listener (see metrics-server.ts).
import fp from 'fastify-plugin'
import { collectDefaultMetrics, Counter, Registry } from 'prom-client'
import { SeriesHistogram, type HistogramSeries } from '../series-histogram.js'

export interface ServiceMetrics {
  registry: Registry
  /** Cache reads by result, each series found once (counting through labels hashes them on every read). */
  cacheLookups: Record<'hit' | 'stale' | 'miss', { inc: () => void }>
  rateLimited: Counter
}

declare module 'fastify' {
  interface FastifyInstance {
    metrics: ServiceMetrics
  }
}

export default fp(async (app) => {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry })

  const requestDuration = new SeriesHistogram({
    name: 'http_request_duration_seconds',
    help: 'Time to answer a request, by route template (never the raw URL), method and status (kept for ' +
      'dashboards made before http_server_request_duration_seconds)',
    labelNames: ['route', 'method', 'status_code'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry]
  })
  // The HTTP semantic conventions' http.server.request.duration, as Prometheus names it, for standard dashboards:
  // their buckets, with finer ones below 5 ms, where a cache answers.
  const serverDuration = new SeriesHistogram({
    name: 'http_server_request_duration_seconds',
    help: 'Duration of HTTP server requests (OpenTelemetry http.server.request.duration), by method, route template, ' +
      'status and scheme',
    labelNames: ['http_request_method', 'http_route', 'http_response_status_code', 'url_scheme'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10],
    registers: [registry]
  })
  // Each route, method, status and scheme's series, found once. Bounded by the routes, their methods and the statuses
  // they answer (an unknown URL is 'unmatched').
  const series = new Map<string, HistogramSeries[]>()
  // A callback hook: it runs on every answer, and a promise each would be a waste.
  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched'
    const name = `${request.method} ${reply.statusCode} ${request.protocol} ${route}`
    let histograms = series.get(name)
    if (histograms === undefined) {
      const status = String(reply.statusCode)
      histograms = [
        requestDuration.series({ route, method: request.method, status_code: status }),
        serverDuration.series({
          http_request_method: request.method,
          http_route: request.routeOptions.url ?? '',
          http_response_status_code: status,
          url_scheme: request.protocol
        })
      ]
      series.set(name, histograms)
    }
    const seconds = reply.elapsedTime / 1000
    for (const histogram of histograms) histogram.observe(seconds)
    done()
  })

  const cacheLookups = new Counter({
    name: 'cache_lookups_total',
    help: 'Cache reads, by result: hit (fresh), stale, or miss',
    labelNames: ['result'],
    registers: [registry]
  })
  const metrics: ServiceMetrics = {
    registry,
    cacheLookups: {
      hit: cacheLookups.labels('hit'),
      stale: cacheLookups.labels('stale'),
      miss: cacheLookups.labels('miss')
    },
    rateLimited: new Counter({
      name: 'rate_limited_requests_total', help: 'Requests refused with 429 by the rate limit', registers: [registry]
    })
  }
  app.decorate('metrics', metrics)
}, { name: 'metrics' })
