// The Redis metrics, registered by the Redis plugins in the app's registry: command latency and errors, the
// connection's state, with Entra ID the token's expiry, refresh failures and re-authentications, and the near cache's
// answers and size.
import { Counter, Gauge, type Registry } from 'prom-client'
import { SeriesHistogram, type HistogramSeries } from '../series-histogram.js'
import { STORE_COMMANDS, type StoreCommand } from '../store/redis-call.js'
import { redisCommandChannel, type RedisCommandEvent } from './command-events.js'
import type { NearCache } from '../store/redis-near-cache.js'
import type { RedisClient } from './connections.js'
import type { ReauthenticatorStatus } from './reauthenticator.js'
import type { TokenRefresherStatus } from './token-refresher.js'

/** Every store command, as callRedis publishes it: our own commands only, with no argument ever recorded. */
export function observeRedisCommands (registry: Registry): { stop: () => void } {
  const latency = new SeriesHistogram({
    name: 'redis_command_duration_seconds',
    help: 'Redis command latency, failures included, by store command (kept for dashboards made before ' +
      'db_client_operation_duration_seconds)',
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
  // The database semantic conventions' db.client.operation.duration, as Prometheus names it, for standard dashboards.
  const operationDuration = new SeriesHistogram({
    name: 'db_client_operation_duration_seconds',
    help: 'Duration of Redis operations (OpenTelemetry db.client.operation.duration), by command or script, and ' +
      'error type when it failed',
    labelNames: ['db_system_name', 'db_operation_name', 'db_stored_procedure_name', 'error_type'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 10],
    registers: [registry]
  })
  // Each command and outcome's series, found once, as the request metrics do (metrics.ts): bounded by the store's
  // commands and its two kinds of failure.
  const series = new Map<string, { latency: HistogramSeries, operation: HistogramSeries }>()
  const seriesOf = (command: string, failure: string | undefined) => {
    const name = `${command} ${failure ?? ''}`
    let found = series.get(name)
    if (found === undefined) {
      const { operation, script } = STORE_COMMANDS[command as StoreCommand]
      found = {
        latency: latency.series({ command }),
        operation: operationDuration.series({
          db_system_name: 'redis',
          db_operation_name: operation,
          db_stored_procedure_name: script ?? '',
          // The store's kind of failure, never Redis's reply (its text may hold a key).
          error_type: failure ?? ''
        })
      }
      series.set(name, found)
    }
    return found
  }
  const onCommand = (message: unknown) => {
    const { command, durationMs, failure } = message as RedisCommandEvent
    const { latency, operation } = seriesOf(command, failure)
    latency.observe(durationMs / 1000)
    operation.observe(durationMs / 1000)
    if (failure !== undefined) errors.inc({ command })
  }
  redisCommandChannel.subscribe(onCommand)
  return { stop: () => { redisCommandChannel.unsubscribe(onCommand) } }
}

/** Read at scrape time, so the value is never stale. */
export function observeRedisConnection (registry: Registry, client: RedisClient): void {
  new Gauge({ // eslint-disable-line no-new
    name: 'redis_connection_up',
    help: '1 while the Redis client is connected and ready, 0 otherwise',
    registers: [registry],
    collect () { this.set(client.status === 'ready' ? 1 : 0) }
  })
}

/** The near cache's answers and size, read at scrape time. */
export function observeNearCache (registry: Registry, near: NearCache): void {
  new Counter({ // eslint-disable-line no-new
    name: 'near_cache_answers_total',
    help: 'Cache reads answered from the near cache, by kind: fresh (NEAR_CACHE_FRESH_READS) or stale-if-error',
    labelNames: ['kind'],
    registers: [registry],
    collect () {
      this.reset()
      this.inc({ kind: 'fresh' }, near.answered.fresh)
      this.inc({ kind: 'stale-if-error' }, near.answered.staleIfError)
    }
  })
  new Gauge({ // eslint-disable-line no-new
    name: 'near_cache_bytes',
    help: 'Bytes the near cache holds, as counted against NEAR_CACHE_MAX_BYTES',
    registers: [registry],
    collect () { this.set(near.size.bytes) }
  })
  new Gauge({ // eslint-disable-line no-new
    name: 'near_cache_copies',
    help: 'Entries the near cache holds a copy of',
    registers: [registry],
    collect () { this.set(near.size.copies) }
  })
}

/** The Entra ID token's state, read at scrape time from the refresher and re-authenticator. */
export function observeRedisToken (registry: Registry,
  status: () => Partial<TokenRefresherStatus> & ReauthenticatorStatus): void {
  new Gauge({ // eslint-disable-line no-new
    name: 'redis_token_expiry_timestamp_seconds',
    help: 'When the Entra ID token in use expires (REDIS_AUTH=entra)',
    registers: [registry],
    collect () {
      const expiresAt = status().tokenExpiresAt
      if (expiresAt !== undefined) this.set(expiresAt / 1000)
    }
  })
  new Counter({ // eslint-disable-line no-new
    name: 'redis_token_refresh_failures_total',
    help: 'Failed attempts to refresh the Entra ID token',
    registers: [registry],
    collect () {
      this.reset()
      this.inc(status().refreshFailures ?? 0)
    }
  })
  new Counter({ // eslint-disable-line no-new
    name: 'redis_reauthentications_total',
    help: 'AUTHs sent with a new token on live connections, by outcome',
    labelNames: ['outcome'],
    registers: [registry],
    collect () {
      this.reset()
      const { reauthentications, reauthenticationFailures } = status()
      this.inc({ outcome: 'ok' }, reauthentications)
      this.inc({ outcome: 'failed' }, reauthenticationFailures)
    }
  })
}
