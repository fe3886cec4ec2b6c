// Parses process.env once, at startup, into a frozen and typed Config. Nothing else reads process.env.
import { z } from 'zod'

// Kubernetes and helm often render an unset value as an empty string, so '' counts as unset.
const unsetIfEmpty = (value: unknown) => (value === '' ? undefined : value)

function integer (min: number, max: number, fallback: number) {
  return z.preprocess(
    unsetIfEmpty,
    z.string()
      .regex(/^\d+$/, { error: 'must be a whole number' })
      .transform(Number)
      .pipe(z.number().int()
        .min(min, { error: `must be at least ${min}` })
        .max(max, { error: `must be at most ${max}` }))
      .default(fallback)
  )
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const

const EnvSchema = z.object({
  PORT: integer(0, 65535, 8080),
  HOST: z.preprocess(unsetIfEmpty, z.string().default('0.0.0.0')),
  LOG_LEVEL: z.preprocess(unsetIfEmpty, z.enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(', ')}` })
    .default('info')),
  REDIS_URL: z.preprocess(unsetIfEmpty, z.string()
    .refine(isRedisUrl, { error: 'must be a redis:// or rediss:// URL' })
    .optional()),
  KEY_PREFIX: z.preprocess(unsetIfEmpty, z.string().max(128, { error: 'must be at most 128 characters' })
    .default('cache-service:')),
  CACHE_DEFAULT_TTL_SECONDS: integer(1, 2 ** 31 - 1, 3600),
  CACHE_MAX_TTL_SECONDS: integer(1, 2 ** 31 - 1, 2_592_000),
  CACHE_MAX_VALUE_BYTES: integer(0, 512 * 1024 * 1024, 1_048_576),
  SESSION_IDLE_TTL_SECONDS: integer(1, 2 ** 31 - 1, 1800),
  SESSION_ABSOLUTE_TTL_SECONDS: integer(1, 2 ** 31 - 1, 86_400),
  SESSION_MAX_BYTES: integer(2, 512 * 1024 * 1024, 65_536),
  REDIS_COMMAND_TIMEOUT_MS: integer(1, 600_000, 1000),
  SHUTDOWN_GRACE_MS: integer(1, 3_600_000, 10_000)
}).superRefine((env, ctx) => {
  if (env.CACHE_DEFAULT_TTL_SECONDS > env.CACHE_MAX_TTL_SECONDS) {
    ctx.addIssue({
      code: 'custom',
      path: ['CACHE_DEFAULT_TTL_SECONDS'],
      message: 'must not exceed CACHE_MAX_TTL_SECONDS'
    })
  }
})

function isRedisUrl (value: string): boolean {
  try {
    const url = new URL(value)
    return url.protocol === 'redis:' || url.protocol === 'rediss:'
  } catch {
    return false
  }
}

export type LogLevel = typeof LOG_LEVELS[number]

export interface Config {
  readonly port: number
  readonly host: string
  readonly logLevel: LogLevel
  /** Unset selects the embedded memory store. */
  readonly redisUrl: string | undefined
  readonly keyPrefix: string
  readonly cache: {
    readonly defaultTtlSeconds: number
    readonly maxTtlSeconds: number
    readonly maxValueBytes: number
  }
  readonly sessions: {
    /** Default and largest idle lifetime: a read or write pushes the expiry this far ahead. */
    readonly idleTtlSeconds: number
    /** Default and largest absolute lifetime, counted from creation; no read or write extends it. */
    readonly absoluteTtlSeconds: number
    /** Largest serialized `data`, in bytes of JSON. */
    readonly maxBytes: number
  }
  readonly redisCommandTimeoutMs: number
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
  const e = parsed.data
  return deepFreeze({
    port: e.PORT,
    host: e.HOST,
    logLevel: e.LOG_LEVEL,
    redisUrl: e.REDIS_URL,
    keyPrefix: e.KEY_PREFIX,
    cache: {
      defaultTtlSeconds: e.CACHE_DEFAULT_TTL_SECONDS,
      maxTtlSeconds: e.CACHE_MAX_TTL_SECONDS,
      maxValueBytes: e.CACHE_MAX_VALUE_BYTES
    },
    sessions: {
      idleTtlSeconds: e.SESSION_IDLE_TTL_SECONDS,
      absoluteTtlSeconds: e.SESSION_ABSOLUTE_TTL_SECONDS,
      maxBytes: e.SESSION_MAX_BYTES
    },
    redisCommandTimeoutMs: e.REDIS_COMMAND_TIMEOUT_MS,
    shutdownGraceMs: e.SHUTDOWN_GRACE_MS
  })
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
