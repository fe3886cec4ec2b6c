// pino options: JSON by default, pretty on a terminal, and secrets redacted wherever they could appear.
import type { FastifyRequest, FastifyServerOptions } from 'fastify'
import type { LogLevel } from './config/index.js'

export interface LoggerSettings {
  level: LogLevel
  /** Human-readable output, for a developer's terminal; never for production, where stdout is not a TTY. */
  pretty?: boolean
  /** Where log lines go instead of stdout (tests capture them here). */
  stream?: NodeJS.WritableStream
}

const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'res.headers["set-cookie"]'
]

export function loggerOptions ({ level, pretty = false, stream }: LoggerSettings): FastifyServerOptions['logger'] {
  return {
    level,
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    serializers: {
      req: (request: FastifyRequest) => ({
        method: request.method,
        url: loggedUrl(request),
        remoteAddress: request.ip
      })
    },
    ...(stream !== undefined && { stream }),
    ...(pretty && stream === undefined && { transport: { target: 'pino-pretty' } })
  }
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Path parameters whose values may be logged; every other parameter is logged as [redacted]. */
    loggedParams?: readonly string[]
  }
}

/** What is logged of a request to a path that no route matches: the path itself may carry anything. */
export const UNMATCHED_PATH = '[no matching route]'

/**
 * The URL as logs show it, rebuilt from the route the router matched and its decoded parameters, never from the
 * raw URL: `/%73essions/<id>` matches `/sessions/:id` and is logged as `/sessions/[redacted]`. A parameter is
 * logged only when its route says it is no secret (session ids are bearer secrets), and a path that matched no
 * route (`//sessions/<id>`, `/sessions%2F<id>`) is not logged at all.
 */
export function loggedUrl (request: FastifyRequest): string {
  const template = request.routeOptions.url
  if (template === undefined) return UNMATCHED_PATH
  const logged = request.routeOptions.config.loggedParams ?? []
  const params = request.params as Record<string, string | undefined>
  const path = template.replace(/:(\w+)/g, (_match, name: string) =>
    logged.includes(name) ? encodeURIComponent(params[name] ?? '') : '[redacted]')
  const query = request.url.indexOf('?')
  return query === -1 ? path : path + request.url.slice(query)
}
