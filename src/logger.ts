// pino options: JSON by default, pretty on a terminal, and secrets redacted wherever they could appear.
import type { FastifyRequest, FastifyServerOptions } from 'fastify'
import type { LogLevel } from './config/index.js'
import { loggedUrl } from './http/logged-url.js'

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
