// The Redis part of the configuration: where Redis is (URL or host/port/TLS, standalone or cluster) and how the
// service proves who it is (nothing, a password or access key, or a Microsoft Entra ID token).
import type { z } from 'zod'
import {
  boolean, commaList, integer, optionalInteger, optionalOneOf, optionalText, readNamedFile, text, type Issue
} from './env.js'

export const DEFAULT_ENTRA_SCOPE = 'https://redis.azure.com/.default'
/** Redis's own port, and Azure Cache for Redis's TLS port: what a host without a port means. */
export const DEFAULT_PORT = { plain: 6379, tls: 6380 } as const
/** Azure Managed Redis: its hosts, their one port (TLS or not), and its one database. */
export const AZURE_MANAGED_REDIS = { host: /\.redis\.azure\.net$/i, port: 10000 } as const

export const RedisEnvShape = {
  REDIS_URL: optionalText(),
  REDIS_HOST: optionalText(),
  REDIS_PORT: optionalInteger(1, 65535),
  REDIS_TLS: boolean(false),
  REDIS_AUTH: optionalOneOf(['none', 'password', 'entra']),
  REDIS_USERNAME: optionalText(),
  REDIS_PASSWORD: optionalText(),
  REDIS_PASSWORD_FILE: optionalText(),
  REDIS_ENTRA_SCOPE: text(DEFAULT_ENTRA_SCOPE),
  REDIS_ENTRA_USERNAME: optionalText(),
  REDIS_TLS_CA_FILE: optionalText(),
  REDIS_TLS_SERVERNAME: optionalText(),
  REDIS_CLUSTER: boolean(false),
  REDIS_CLUSTER_NODES: optionalText(),
  REDIS_COMMAND_TIMEOUT_MS: integer(1, 600_000, 1000),
  REDIS_CONNECT_TIMEOUT_MS: integer(100, 600_000, 10_000),
  REDIS_KEEPALIVE_MS: integer(1000, 540_000, 60_000),
  REDIS_RECONNECT_MAX_DELAY_MS: integer(100, 60_000, 2000),
  REDIS_MAINTENANCE_EVENTS: boolean(true)
}

type RedisEnv = z.output<z.ZodObject<typeof RedisEnvShape>>

export interface RedisNode {
  host: string
  port: number
}

export type RedisAuth =
  | { mode: 'none' }
  | { mode: 'password', username: string | undefined, password: string }
  | { mode: 'entra', scope: string, username: string | undefined }

export interface RedisConfig {
  /** The server, or the cluster's seed nodes. */
  nodes: RedisNode[]
  cluster: boolean
  db: number
  /** undefined for plain TCP. `ca` is the PEM text of REDIS_TLS_CA_FILE. */
  tls: { ca: string | undefined, servername: string | undefined } | undefined
  auth: RedisAuth
  /** A command Redis has not answered within this long fails, and its request gets a 503. */
  commandTimeoutMs: number
  /** A connection not made within this long is abandoned and tried again. */
  connectTimeoutMs: number
  /** TCP keepalive's first probe after this long idle: well under the 10 minutes after which Azure closes one. */
  keepAliveMs: number
  /** The longest pause between reconnection attempts (they back off exponentially to it, with jitter). */
  reconnectMaxDelayMs: number
  /** Subscribe to Azure's maintenance events, to count and log them. */
  maintenanceEvents: boolean
}

/** Resolves the Redis settings; undefined when none is given (the embedded memory store). */
export function redisConfigFrom (env: RedisEnv, issue: Issue): RedisConfig | undefined {
  const url = parseUrl(env.REDIS_URL, issue)
  if (url === undefined && env.REDIS_HOST === undefined && env.REDIS_CLUSTER_NODES === undefined) return undefined

  const tlsOn = url !== undefined ? url.protocol === 'rediss:' : env.REDIS_TLS
  const host = url !== undefined ? url.hostname.replace(/^\[(.*)\]$/, '$1') : env.REDIS_HOST
  const managed = host !== undefined && AZURE_MANAGED_REDIS.host.test(host)
  const defaultPort = (host: string) =>
    AZURE_MANAGED_REDIS.host.test(host) ? AZURE_MANAGED_REDIS.port : tlsOn ? DEFAULT_PORT.tls : DEFAULT_PORT.plain
  const nodes = env.REDIS_CLUSTER_NODES !== undefined
    ? parseNodes(env.REDIS_CLUSTER_NODES, defaultPort, issue)
    : [{ host: host!, port: url?.port ? Number(url.port) : env.REDIS_PORT ?? defaultPort(host!) }]

  const db = url !== undefined && url.pathname.length > 1 ? Number(url.pathname.slice(1)) : 0
  if (!Number.isInteger(db) || db < 0) issue('REDIS_URL', 'must name a database by its number, as in /0')
  if (env.REDIS_CLUSTER && db !== 0) issue('REDIS_URL', 'must not select a database in cluster mode')
  if (managed && db !== 0) issue('REDIS_URL', 'must not select a database: Azure Managed Redis has only database 0')

  return {
    nodes,
    cluster: env.REDIS_CLUSTER,
    db,
    tls: tlsOn
      ? { ca: readNamedFile(env.REDIS_TLS_CA_FILE, 'REDIS_TLS_CA_FILE', issue), servername: env.REDIS_TLS_SERVERNAME }
      : undefined,
    auth: authFrom(env, url, issue),
    commandTimeoutMs: env.REDIS_COMMAND_TIMEOUT_MS,
    connectTimeoutMs: env.REDIS_CONNECT_TIMEOUT_MS,
    keepAliveMs: env.REDIS_KEEPALIVE_MS,
    reconnectMaxDelayMs: env.REDIS_RECONNECT_MAX_DELAY_MS,
    maintenanceEvents: env.REDIS_MAINTENANCE_EVENTS
  }
}

function authFrom (env: RedisEnv, url: URL | undefined, issue: Issue): RedisAuth {
  const fromFile = readNamedFile(env.REDIS_PASSWORD_FILE, 'REDIS_PASSWORD_FILE', issue)?.replace(/\r?\n$/, '')
  if (env.REDIS_PASSWORD !== undefined && fromFile !== undefined) {
    issue('REDIS_PASSWORD_FILE', 'must not be set together with REDIS_PASSWORD')
  }
  const decoded = (part: string | undefined) => {
    if (part === undefined || part === '') return undefined
    try {
      return decodeURIComponent(part)
    } catch {
      issue('REDIS_URL', 'must percent-encode its user and password correctly (as %XX)')
      return undefined
    }
  }
  const password = env.REDIS_PASSWORD ?? fromFile ?? decoded(url?.password)
  const username = env.REDIS_USERNAME ?? decoded(url?.username)
  const mode = env.REDIS_AUTH ?? (password !== undefined ? 'password' : 'none')

  if (mode === 'entra') {
    if (password !== undefined) issue('REDIS_AUTH', 'entra takes no password: unset REDIS_PASSWORD and its kin')
    return { mode, scope: env.REDIS_ENTRA_SCOPE, username: env.REDIS_ENTRA_USERNAME }
  }
  if (mode === 'password') {
    if (password === undefined) {
      issue('REDIS_PASSWORD', 'must be set (or REDIS_PASSWORD_FILE) when REDIS_AUTH is password')
      return { mode: 'none' }
    }
    return { mode, username, password }
  }
  return { mode: 'none' }
}

function parseUrl (value: string | undefined, issue: Issue): URL | undefined {
  if (value === undefined) return undefined
  try {
    const url = new URL(value)
    if (url.protocol === 'redis:' || url.protocol === 'rediss:') return url
  } catch {}
  issue('REDIS_URL', 'must be a redis:// or rediss:// URL')
  return undefined
}

function parseNodes (value: string, defaultPort: (host: string) => number, issue: Issue): RedisNode[] {
  const nodes = commaList(value).map((entry) => {
    const match = /^(?:\[([^\]]+)\]|([^:]+))(?::(\d{1,5}))?$/.exec(entry)
    if (match === null) return undefined
    const host = (match[1] ?? match[2])!
    return { host, port: match[3] === undefined ? defaultPort(host) : Number(match[3]) }
  })
  if (nodes.length === 0 || nodes.some((node) => node === undefined || node.port < 1 || node.port > 65535)) {
    issue('REDIS_CLUSTER_NODES', 'must be a comma-separated list of host:port')
    return []
  }
  return nodes as RedisNode[]
}
