// Protection around every route: security headers (helmet's, fixed), CORS only when configured, and load shedding
// when the event loop is overloaded (under-pressure).
import fastifyCors from '@fastify/cors'
import fastifyUnderPressure from '@fastify/under-pressure'
import fp from 'fastify-plugin'
import { RETRY_AFTER_SECONDS } from '../errors.js'
import { CORS_EXPOSED_HEADERS } from '../http/response-headers.js'

export interface ProtectionOptions {
  /** The security headers every answer carries. */
  headers: Readonly<Record<string, string>>
  /** undefined: no CORS at all. */
  corsOrigins: string[] | undefined
  /** 0 turns load shedding off. */
  maxEventLoopDelayMs: number
}

export default fp<ProtectionOptions>(async (app, { headers, corsOrigins, maxEventLoopDelayMs }) => {
  // helmet's headers, computed once from its options (security-headers.ts) rather than on every request; the /docs
  // page sets a policy of its own.
  app.addHook('onRequest', (_request, reply, done) => {
    reply.headers(headers)
    done()
  })

  if (corsOrigins !== undefined) {
    await app.register(fastifyCors, { origin: corsOrigins, exposedHeaders: CORS_EXPOSED_HEADERS, maxAge: 600 })
  }

  if (maxEventLoopDelayMs > 0) {
    await app.register(fastifyUnderPressure, {
      maxEventLoopDelay: maxEventLoopDelayMs,
      retryAfter: RETRY_AFTER_SECONDS,
      exposeStatusRoute: false
    })
  }
}, { name: 'protection' })
