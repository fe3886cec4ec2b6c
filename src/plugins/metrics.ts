// Prometheus metrics, in a registry of the app's own: request durations, cache hits and misses, Redis command
// latency and errors, Redis connection state, the Entra ID token's expiry and refresh failures, rate-limited
// requests, and Node.js process metrics. Served by a separate listener (see metrics-server.ts).
import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client'

export interface ServiceMetrics {
  registry: Registry
  cacheLookups: Counter<'result'>
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

  const requestDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'Time to answer a request, by route template (never the raw URL), method and status',
    labelNames: ['route', 'method', 'status_code'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry]
  })
  app.addHook('onResponse', async (request, reply) => {
    requestDuration.observe({
      route: request.routeOptions.url ?? 'unmatched',
      method: request.method,
      status_code: String(reply.statusCode)
    }, reply.elapsedTime / 1000)
  })

  const metrics: ServiceMetrics = {
    registry,
    cacheLookups: new Counter({
      name: 'cache_lookups_total',
      help: 'Cache reads, by result: hit or miss',
      labelNames: ['result'],
      registers: [registry]
    }),
    rateLimited: new Counter({
      name: 'rate_limited_requests_total', help: 'Requests refused with 429 by the rate limit', registers: [registry]
    })
  }
  app.decorate('metrics', metrics)
  observeRedisCommands(registry, app)
  observeRedisState(registry, app)
}, { name: 'metrics' })

/** ioredis publishes every command on diagnostics channels; its arguments are never recorded here. */
function observeRedisCommands (registry: Registry, app: FastifyInstance): void {
  const latency = new Histogram({
    name: 'redis_command_duration_seconds',
    help: 'Redis command latency, by command',
    labelNames: ['command'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [registry]
  })
  const errors = new Counter({
    name: 'redis_command_errors_total',
    help: 'Redis commands that failed, by command',
    labelNames: ['command'],
    registers: [registry]
  })
  const started = new WeakMap<object, number>()
  const onStart = (context: unknown) => { started.set(context as object, performance.now()) }
  const onEnd = (context: unknown) => {
    const begin = started.get(context as object)
    if (begin === undefined) return
    latency.observe({ command: commandOf(context) }, (performance.now() - begin) / 1000)
  }
  const onError = (context: unknown) => { errors.inc({ command: commandOf(context) }) }
  const channels = [
    ['tracing:ioredis:command:start', onStart],
    ['tracing:ioredis:command:asyncEnd', onEnd],
    ['tracing:ioredis:command:error', onError]
  ] as const
  for (const [name, listener] of channels) subscribe(name, listener)
  app.addHook('onClose', async () => { for (const [name, listener] of channels) unsubscribe(name, listener) })
}

function commandOf (context: unknown): string {
  return String((context as { command?: unknown }).command ?? 'unknown').toLowerCase()
}

/** Read at scrape time, so the values are never stale. */
function observeRedisState (registry: Registry, app: FastifyInstance): void {
  new Gauge({ // eslint-disable-line no-new
    name: 'redis_connection_up',
    help: '1 while the Redis client is connected and ready, 0 otherwise (absent with the embedded store)',
    registers: [registry],
    collect () {
      if (app.hasDecorator('redis')) this.set(app.redis.status === 'ready' ? 1 : 0)
    }
  })
  new Gauge({ // eslint-disable-line no-new
    name: 'redis_token_expiry_timestamp_seconds',
    help: 'When the Entra ID token in use expires (REDIS_AUTH=entra)',
    registers: [registry],
    collect () {
      const expiresAt = app.hasDecorator('redisAuthStatus') ? app.redisAuthStatus().tokenExpiresAt : undefined
      if (expiresAt !== undefined) this.set(expiresAt / 1000)
    }
  })
  new Counter({ // eslint-disable-line no-new
    name: 'redis_token_refresh_failures_total',
    help: 'Failed attempts to refresh the Entra ID token',
    registers: [registry],
    collect () {
      const failures = app.hasDecorator('redisAuthStatus') ? app.redisAuthStatus().refreshFailures : undefined
      this.reset()
      if (failures !== undefined) this.inc(failures)
    }
  })
  new Counter({ // eslint-disable-line no-new
    name: 'redis_reauthentications_total',
    help: 'AUTHs sent with a new token on live connections, by outcome',
    labelNames: ['outcome'],
    registers: [registry],
    collect () {
      this.reset()
      if (!app.hasDecorator('redisAuthStatus')) return
      const status = app.redisAuthStatus()
      this.inc({ outcome: 'ok' }, status.reauthentications)
      this.inc({ outcome: 'failed' }, status.reauthenticationFailures)
    }
  })
}
