// Prometheus metrics, in a registry of the app's own: request durations, cache hits and misses, Redis command
// latency and errors, Redis connection state, the Entra ID token's expiry and refresh failures, rate-limited
// requests, and Node.js process metrics. Served by a separate listener (see metrics-server.ts).
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client'
import { redisCommandChannel, type RedisCommandEvent } from '../store/redis-scripts.js'

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

export interface MetricsOptions {
  /** Which Redis metrics apply: none with the embedded store, token metrics only with Entra ID. */
  redis: 'none' | 'connected' | 'entra'
}

export default fp<MetricsOptions>(async (app, { redis }) => {
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
  if (redis !== 'none') {
    observeRedisCommands(registry, app)
    observeRedisConnection(registry, app)
  }
  if (redis === 'entra') observeRedisToken(registry, app)
}, { name: 'metrics' })

/** Every store command, as callRedis publishes it: our own commands only, with no argument ever recorded. */
function observeRedisCommands (registry: Registry, app: FastifyInstance): void {
  const latency = new Histogram({
    name: 'redis_command_duration_seconds',
    help: 'Redis command latency, failures included, by store command',
    labelNames: ['command'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [registry]
  })
  const errors = new Counter({
    name: 'redis_command_errors_total',
    help: 'Redis commands that failed (down, timed out, refused), by store command',
    labelNames: ['command'],
    registers: [registry]
  })
  const onCommand = (message: unknown) => {
    const { command, durationMs, failed } = message as RedisCommandEvent
    latency.observe({ command }, durationMs / 1000)
    if (failed) errors.inc({ command })
  }
  redisCommandChannel.subscribe(onCommand)
  app.addHook('onClose', async () => { redisCommandChannel.unsubscribe(onCommand) })
}

/** Read at scrape time, so the value is never stale. */
function observeRedisConnection (registry: Registry, app: FastifyInstance): void {
  new Gauge({ // eslint-disable-line no-new
    name: 'redis_connection_up',
    help: '1 while the Redis client is connected and ready, 0 otherwise',
    registers: [registry],
    collect () { this.set(app.hasDecorator('redis') && app.redis.status === 'ready' ? 1 : 0) }
  })
}

/** The Entra ID token's state, read at scrape time from the refresher and re-authenticator. */
function observeRedisToken (registry: Registry, app: FastifyInstance): void {
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
