// The HTTP server's settings that are not about one resource: which proxies to believe, which browser origins may
// call (CORS), when to shed load, how many request bodies and connections to hold at once, how long a request may
// take to arrive, and whether to serve the API page.
import { isIP } from 'node:net'
import type { z } from 'zod'
import { boolean, commaList, integer, optionalText, type Issue } from './env.js'

export const HttpEnvShape = {
  TRUST_PROXY: optionalText(),
  CORS_ORIGINS: optionalText(),
  MAX_EVENT_LOOP_DELAY_MS: integer(0, 60_000, 1000),
  REQUEST_TIMEOUT_MS: integer(1, 3_600_000, 30_000),
  MAX_BODY_BYTES_IN_FLIGHT: integer(0, 64 * 1024 ** 3, 32 * 1_048_576),
  MAX_CONNECTIONS: integer(0, 1_000_000, 4096),
  DOCS_ENABLED: boolean(true)
}

type HttpEnv = z.output<z.ZodObject<typeof HttpEnvShape>>

export interface HttpConfig {
  /** Whose X-Forwarded-For to believe: nobody, everybody, a hop count, or addresses and CIDRs. */
  trustProxy: boolean | number | string[]
  /** undefined: no CORS at all. */
  corsOrigins: string[] | undefined
  /** Past this event loop delay, requests get 503 (load shedding); 0 turns it off. */
  maxEventLoopDelayMs: number
  /** A request (headers and body) must have arrived within this long, or it gets 408 and its connection closes. */
  requestTimeoutMs: number
  /** The request bodies the process holds at once, in bytes (their Content-Lengths); 0 turns the bound off. */
  maxBodyBytesInFlight: number
  /** The connections the process holds at once; one past it is reset as soon as it is accepted. 0: no bound. */
  maxConnections: number
  /** Serve the interactive API page at /docs (the document itself is always served). */
  docsEnabled: boolean
}

export function httpConfigFrom (env: HttpEnv, issue: Issue): HttpConfig {
  return {
    trustProxy: trustProxyFrom(env.TRUST_PROXY, issue),
    corsOrigins: env.CORS_ORIGINS === undefined ? undefined : commaList(env.CORS_ORIGINS),
    maxEventLoopDelayMs: env.MAX_EVENT_LOOP_DELAY_MS,
    requestTimeoutMs: env.REQUEST_TIMEOUT_MS,
    maxBodyBytesInFlight: env.MAX_BODY_BYTES_IN_FLIGHT,
    maxConnections: env.MAX_CONNECTIONS,
    docsEnabled: env.DOCS_ENABLED
  }
}

/** The names proxy-addr (Fastify's trustProxy) knows for address ranges. */
const RANGE_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal'])

/**
 * false, true, a hop count, or a comma-separated list of trusted proxy addresses and CIDRs. Anything else is a
 * configuration error naming the variable (never its value): Fastify would throw on it at startup, echoing it.
 */
function trustProxyFrom (value: string | undefined, issue: Issue): boolean | number | string[] {
  if (value === undefined || value === 'false') return false
  if (value === 'true') return true
  if (/^\d{1,3}$/.test(value)) return Number(value)
  const entries = commaList(value)
  if (entries.length === 0 || !entries.every(isAddressOrRange)) {
    issue('TRUST_PROXY', 'must be false, true, a hop count, or comma-separated IP addresses and CIDRs')
    return false
  }
  return entries
}

function isAddressOrRange (entry: string): boolean {
  if (RANGE_NAMES.has(entry)) return true
  const [address = '', prefix, ...rest] = entry.split('/')
  const family = isIP(address)
  if (family === 0 || rest.length > 0) return false
  if (prefix === undefined) return true
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128)
}
