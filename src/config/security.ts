// The security part of the configuration: how callers authenticate, what they may do, and how much.
import YAML from 'yaml'
import { z } from 'zod'
import {
  commaList, integer, optionalInteger, optionalOneOf, optionalText, oneOf, readNamedFile, type Issue
} from './env.js'

export const SCOPES = ['cache:read', 'cache:write', 'sessions:read', 'sessions:write', 'admin'] as const
export type Scope = typeof SCOPES[number]

export const SecurityEnvShape = {
  AUTH_MODE: optionalOneOf(['none', 'api-key', 'jwt']),
  API_KEYS_FILE: optionalText(),
  API_KEYS: optionalText(),
  JWT_ISSUER: optionalText(),
  JWT_AUDIENCE: optionalText(),
  JWT_CLOCK_SKEW_SECONDS: integer(0, 600, 60),
  KEY_ISOLATION: oneOf(['none', 'caller'], 'none'),
  RATE_LIMIT_MAX: optionalInteger(0, 1_000_000_000),
  RATE_LIMIT_WINDOW_MS: integer(1, 86_400_000, 60_000),
  RATE_LIMIT_BUDGET_PERCENT: integer(0, 25, 1),
  RATE_LIMIT_BUDGET_KEYS: integer(1, 1_000_000, 10_000),
  AUTH_FAILURE_MAX: integer(0, 1_000_000_000, 30),
  AUTH_FAILURE_WINDOW_MS: integer(1, 86_400_000, 60_000)
}

/**
 * Requests per caller per minute when Redis is configured: about 1,700 a second, more than one caller's normal
 * service traffic, so the default only stops a runaway client. The embedded store has a single instance and a
 * single developer, so there it is off. Sized per deployment as the README explains.
 */
const DEFAULT_RATE_LIMIT_MAX = 100_000

type SecurityEnv = z.output<z.ZodObject<typeof SecurityEnvShape>>

export interface ApiKeyEntry {
  name: string
  /** Hex SHA-256 of the key; the key itself is never configured. */
  sha256: string
  scopes: Scope[]
}

export type AuthConfig =
  | { mode: 'none' }
  | { mode: 'api-key', keys: ApiKeyEntry[] }
  | { mode: 'jwt', issuer: string, audiences: string[], clockSkewSeconds: number }

export interface SecurityConfig {
  auth: AuthConfig
  keyIsolation: 'none' | 'caller'
  /**
   * Requests per caller per window, shared by every replica through Redis; 0 turns the limit off. Each replica takes
   * budgets of at most budgetPercent of max at once, for at most budgetKeys callers (redis/rate-limit-store.ts).
   */
  rateLimit: { max: number, windowMs: number, budgetPercent: number, budgetKeys: number }
  /** Failed authentications per client address per window, shared likewise; 0 turns the limit off. */
  authFailureLimit: { max: number, windowMs: number }
}

const ApiKeysSchema = z.array(z.strictObject({
  name: z.string().min(1),
  sha256: z.string().regex(/^[0-9a-f]{64}$/, { error: 'must be the hex SHA-256 of the key' }),
  scopes: z.array(z.enum(SCOPES)).min(1)
})).min(1)

export function securityConfigFrom (env: SecurityEnv, redisConfigured: boolean, issue: Issue): SecurityConfig {
  return {
    auth: authFrom(env, redisConfigured, issue),
    keyIsolation: env.KEY_ISOLATION,
    rateLimit: {
      max: env.RATE_LIMIT_MAX ?? (redisConfigured ? DEFAULT_RATE_LIMIT_MAX : 0),
      windowMs: env.RATE_LIMIT_WINDOW_MS,
      budgetPercent: env.RATE_LIMIT_BUDGET_PERCENT,
      budgetKeys: env.RATE_LIMIT_BUDGET_KEYS
    },
    authFailureLimit: { max: env.AUTH_FAILURE_MAX, windowMs: env.AUTH_FAILURE_WINDOW_MS }
  }
}

function authFrom (env: SecurityEnv, redisConfigured: boolean, issue: Issue): AuthConfig {
  // Only the embedded development setup may leave callers unauthenticated without saying so.
  const mode = env.AUTH_MODE ?? (redisConfigured ? undefined : 'none')
  if (mode === undefined) {
    issue('AUTH_MODE', 'must be set (none, api-key or jwt) when Redis is configured')
    return { mode: 'none' }
  }
  if (mode === 'api-key') return { mode, keys: apiKeysFrom(env, issue) }
  if (mode === 'jwt') {
    if (env.JWT_ISSUER === undefined) issue('JWT_ISSUER', 'must be set when AUTH_MODE is jwt')
    if (env.JWT_AUDIENCE === undefined) issue('JWT_AUDIENCE', 'must be set when AUTH_MODE is jwt')
    return {
      mode,
      issuer: env.JWT_ISSUER ?? '',
      audiences: commaList(env.JWT_AUDIENCE ?? ''),
      clockSkewSeconds: env.JWT_CLOCK_SKEW_SECONDS
    }
  }
  return { mode }
}

function apiKeysFrom (env: SecurityEnv, issue: Issue): ApiKeyEntry[] {
  const [variable, text] = env.API_KEYS_FILE !== undefined
    ? ['API_KEYS_FILE', readNamedFile(env.API_KEYS_FILE, 'API_KEYS_FILE', issue)]
    : ['API_KEYS', env.API_KEYS]
  if (text === undefined) {
    if (env.API_KEYS_FILE === undefined) issue('API_KEYS_FILE', 'or API_KEYS must be set when AUTH_MODE is api-key')
    return []
  }
  let parsed: unknown
  try {
    parsed = YAML.parse(text) // YAML is a superset of JSON, so this reads both
  } catch {
    issue(variable, 'must be JSON or YAML')
    return []
  }
  // Either a list of keys, or an object with the list under `keys`.
  const result = ApiKeysSchema.safeParse(Array.isArray(parsed) ? parsed : (parsed as { keys?: unknown } | null)?.keys)
  if (!result.success) {
    issue(variable, `must list keys as { name, sha256, scopes }: ${result.error.issues[0]?.message ?? 'invalid'}`)
    return []
  }
  return result.data
}
