// Parses process.env once, at startup, into a frozen and typed Config. Nothing else reads process.env
// (but @azure/identity, which reads its own AZURE_* variables; the OTEL_* ones are read here and handed to the SDK).
import { z } from 'zod'
import { boolean, integer, oneOf, text } from './env.js'
import { httpConfigFrom, HttpEnvShape, type HttpConfig } from './http.js'
import { redisConfigFrom, RedisEnvShape, type RedisConfig } from './redis.js'
import { securityConfigFrom, SecurityEnvShape, type SecurityConfig } from './security.js'
import { tracingConfigFrom, TelemetryEnvShape, type TracingConfig } from './telemetry.js'

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const
const TTL_MAX = 2 ** 31 - 1
/** What a create past a subject's cap does: refuse it, or end the subject's oldest sessions to make room. */
const SUBJECT_LIMIT_POLICIES = ['refuse', 'end-oldest'] as const

const EnvSchema = z.object({
  PORT: integer(0, 65535, 8080),
  HOST: text('0.0.0.0'),
  LOG_LEVEL: oneOf(LOG_LEVELS, 'info'),
  LOG_SLOW_REQUEST_MS: integer(0, 3_600_000, 1000),
  KEY_PREFIX: text('cache-service:').pipe(z.string().max(128, { error: 'must be at most 128 characters' })),
  CACHE_DEFAULT_TTL_SECONDS: integer(1, TTL_MAX, 3600),
  CACHE_MAX_TTL_SECONDS: integer(1, TTL_MAX, 2_592_000),
  CACHE_MAX_VALUE_BYTES: integer(1, 512 * 1024 * 1024, 1_048_576),
  CACHE_BULK_MAX_KEYS: integer(1, 10_000, 100),
  CACHE_BULK_MAX_RESPONSE_BYTES: integer(1024, 512 * 1024 * 1024, 8 * 1_048_576),
  CACHE_LEASE_TTL_SECONDS: integer(1, 3600, 5),
  CACHE_LEASE_MAX_TTL_SECONDS: integer(1, 3600, 60),
  CACHE_LEASE_MAX_WAITERS: integer(0, 1_000_000, 10_000),
  CACHE_LEASE_MAX_WAITERS_PER_CALLER: integer(0, 1_000_000, 1000),
  NEAR_CACHE_MAX_BYTES: integer(0, 64 * 1024 * 1024 * 1024, 32 * 1_048_576),
  STALE_IF_ERROR_MAX_SECONDS: integer(0, 86_400, 300),
  NEAR_CACHE_FRESH_READS: boolean(false),
  SESSION_IDLE_TTL_SECONDS: integer(1, TTL_MAX, 1800),
  SESSION_ABSOLUTE_TTL_SECONDS: integer(1, TTL_MAX, 86_400),
  SESSION_MAX_BYTES: integer(2, 512 * 1024 * 1024, 65_536),
  SESSION_SUBJECT_MAX_SESSIONS: integer(1, 5000, 1000),
  SESSION_SUBJECT_CAP: integer(0, 5000, 0),
  SESSION_SUBJECT_CAP_POLICY: oneOf(SUBJECT_LIMIT_POLICIES, 'refuse'),
  SESSION_LIST_MAX_LIMIT: integer(1, 1000, 100),
  SESSION_EVENTS_MAX: integer(1, 1_000_000, 10_000),
  SESSION_EXPIRY_SWEEP_INTERVAL_MS: integer(50, 3_600_000, 5000),
  SHUTDOWN_GRACE_MS: integer(1, 3_600_000, 10_000),
  METRICS_ENABLED: boolean(true),
  METRICS_PORT: integer(0, 65535, 9090),
  ...HttpEnvShape,
  ...RedisEnvShape,
  ...SecurityEnvShape,
  ...TelemetryEnvShape
}).transform((env, ctx) => {
  const issue = (variable: string, message: string) => ctx.addIssue({ code: 'custom', path: [variable], message })
  if (env.CACHE_DEFAULT_TTL_SECONDS > env.CACHE_MAX_TTL_SECONDS) {
    issue('CACHE_DEFAULT_TTL_SECONDS', 'must not exceed CACHE_MAX_TTL_SECONDS')
  }
  if (env.CACHE_LEASE_TTL_SECONDS > env.CACHE_LEASE_MAX_TTL_SECONDS) {
    issue('CACHE_LEASE_TTL_SECONDS', 'must not exceed CACHE_LEASE_MAX_TTL_SECONDS')
  }
  if (env.SESSION_SUBJECT_CAP > env.SESSION_SUBJECT_MAX_SESSIONS) {
    issue('SESSION_SUBJECT_CAP', 'must not exceed SESSION_SUBJECT_MAX_SESSIONS')
  }
  const redis = redisConfigFrom(env, issue)
  const config: Config = {
    port: env.PORT,
    host: env.HOST,
    logLevel: env.LOG_LEVEL,
    logSlowRequestMs: env.LOG_SLOW_REQUEST_MS,
    keyPrefix: env.KEY_PREFIX,
    http: httpConfigFrom(env, issue),
    metrics: { enabled: env.METRICS_ENABLED, port: env.METRICS_PORT },
    tracing: tracingConfigFrom(env, issue),
    redis,
    security: securityConfigFrom(env, redis !== undefined, issue),
    cache: {
      defaultTtlSeconds: env.CACHE_DEFAULT_TTL_SECONDS,
      maxTtlSeconds: env.CACHE_MAX_TTL_SECONDS,
      maxValueBytes: env.CACHE_MAX_VALUE_BYTES,
      bulkMaxKeys: env.CACHE_BULK_MAX_KEYS,
      bulkMaxResponseBytes: env.CACHE_BULK_MAX_RESPONSE_BYTES,
      leaseTtlSeconds: env.CACHE_LEASE_TTL_SECONDS,
      leaseMaxTtlSeconds: env.CACHE_LEASE_MAX_TTL_SECONDS,
      waiting: { maxWaiters: env.CACHE_LEASE_MAX_WAITERS, maxPerCaller: env.CACHE_LEASE_MAX_WAITERS_PER_CALLER },
      near: {
        maxBytes: env.NEAR_CACHE_MAX_BYTES,
        maxStaleIfErrorSeconds: env.STALE_IF_ERROR_MAX_SECONDS,
        freshReads: env.NEAR_CACHE_FRESH_READS
      }
    },
    sessions: {
      idleTtlSeconds: env.SESSION_IDLE_TTL_SECONDS,
      absoluteTtlSeconds: env.SESSION_ABSOLUTE_TTL_SECONDS,
      maxBytes: env.SESSION_MAX_BYTES,
      subjects: {
        maxSessions: env.SESSION_SUBJECT_MAX_SESSIONS,
        cap: env.SESSION_SUBJECT_CAP,
        capPolicy: env.SESSION_SUBJECT_CAP_POLICY
      },
      listMaxLimit: env.SESSION_LIST_MAX_LIMIT,
      events: { maxEvents: env.SESSION_EVENTS_MAX, sweepIntervalMs: env.SESSION_EXPIRY_SWEEP_INTERVAL_MS }
    },
    shutdownGraceMs: env.SHUTDOWN_GRACE_MS
  }
  return config
})

export type LogLevel = typeof LOG_LEVELS[number]
export type SubjectLimitPolicy = typeof SUBJECT_LIMIT_POLICIES[number]

export interface Config {
  readonly port: number
  readonly host: string
  readonly logLevel: LogLevel
  /** Requests slower than this are logged at info, as are failed ones; 0 logs every request. */
  readonly logSlowRequestMs: number
  readonly http: HttpConfig
  /** The Prometheus listener, apart from the API. */
  readonly metrics: { readonly enabled: boolean, readonly port: number }
  /** OpenTelemetry traces over OTLP; undefined: off. */
  readonly tracing: TracingConfig | undefined
  /** undefined selects the embedded memory store. */
  readonly redis: RedisConfig | undefined
  readonly security: SecurityConfig
  readonly keyPrefix: string
  readonly cache: {
    readonly defaultTtlSeconds: number
    readonly maxTtlSeconds: number
    readonly maxValueBytes: number
    /** Keys one /cache-bulk request may name. */
    readonly bulkMaxKeys: number
    /** Value bytes one bulk read may answer with; entries past it are answered tooLarge, to be read alone. */
    readonly bulkMaxResponseBytes: number
    /** A lease's lifetime when the caller names none, and the longest it may name (and wait for). */
    readonly leaseTtlSeconds: number
    readonly leaseMaxTtlSeconds: number
    /** Readers waiting for a lease (Prefer: wait) this process holds at most, in all and per caller. */
    readonly waiting: { readonly maxWaiters: number, readonly maxPerCaller: number }
    /**
     * The near cache's byte budget (0: none), and the longest stale-if-error allowance honoured (0: none), which is
     * also how long past its freshness a copy is kept; and whether fresh copies answer reads.
     */
    readonly near: { readonly maxBytes: number, readonly maxStaleIfErrorSeconds: number, readonly freshReads: boolean }
  }
  readonly sessions: {
    /** Default and largest idle lifetime: a read or write pushes the expiry this far ahead. */
    readonly idleTtlSeconds: number
    /** Default and largest absolute lifetime, counted from creation; no read or write extends it. */
    readonly absoluteTtlSeconds: number
    /** Largest serialized `data`, in bytes of JSON. */
    readonly maxBytes: number
    /**
     * The most live sessions one subject may ever hold (past it, creates are refused: it bounds what one listing or
     * revocation costs); the cap on them (0: none), which a create may lower; and what a create past the cap does.
     */
    readonly subjects: { readonly maxSessions: number, readonly cap: number, readonly capPolicy: SubjectLimitPolicy }
    /** Sessions, or events, one page holds at most. */
    readonly listMaxLimit: number
    /**
     * The events of sessions that ended: how many the log of each namespace keeps (the newest), and how often the
     * Redis adapter looks for subjects whose sessions may have expired (what bounds how late an expiry is told).
     */
    readonly events: { readonly maxEvents: number, readonly sweepIntervalMs: number }
  }
  readonly shutdownGraceMs: number
}

export class ConfigError extends Error {
  override name = 'ConfigError'
}

/**
 * Turns an environment into a Config, or throws a ConfigError whose message names every bad variable.
 * Messages come from our own wording, never from the value, so a secret in a variable is never echoed.
 */
export function loadConfig (env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = EnvSchema.safeParse(env)
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${describeIssue(issue)}`)
    throw new ConfigError(`invalid configuration:\n  ${problems.join('\n  ')}`)
  }
  return deepFreeze(parsed.data)
}

// zod's generic messages can quote the received input for some issue kinds; ours never do.
function describeIssue (issue: z.core.$ZodIssue): string {
  return issue.code === 'invalid_type' ? 'must be set to a valid value' : issue.message
}

function deepFreeze<T extends object> (value: T): T {
  for (const child of Object.values(value)) {
    if (child !== null && typeof child === 'object') deepFreeze(child)
  }
  return Object.freeze(value)
}
