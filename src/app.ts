// buildApp: the one place where the service is put together. Tests build through it; server.ts listens.
import type { TokenCredential } from '@azure/core-auth'
import Fastify, { type FastifyInstance } from 'fastify'
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod'
import type { Config } from './config.js'
import { problem, problemErrorHandler, RouteNotFoundError, sendProblem } from './errors.js'
import { closeConnectionsOnDrain } from './http/close-connections-on-drain.js'
import { trackRouteMethods } from './http/method-not-allowed.js'
import { REQUEST_ID_HEADER, requestIdOf } from './http/request-id.js'
import { loggerOptions, redactUrl } from './logger.js'
import { REDIS_STARTUP_TIMEOUT_MS } from './plugins/redis-connection.js'
import authPlugin from './plugins/auth.js'
import metricsPlugin from './plugins/metrics.js'
import openApiPlugin from './plugins/openapi.js'
import protectionPlugin from './plugins/protection.js'
import storePlugin from './plugins/store.js'
import type { BackoffOptions } from './redis/token-schedule.js'
import { cacheRoutes } from './routes/cache.js'
import { healthRoutes } from './routes/health.js'
import { sessionRoutes } from './routes/sessions.js'
import { CACHE_KEY_MAX_BYTES } from './schemas/cache.js'

export interface AppOptions {
  /** Pretty logs for a terminal. */
  prettyLogs?: boolean
  /** Send log lines here instead of stdout. */
  logStream?: NodeJS.WritableStream
  /** The Entra ID credential for REDIS_AUTH=entra; DefaultAzureCredential when not given. */
  credential?: TokenCredential
  /** Retry pacing of the Entra ID token refresher. */
  tokenBackoff?: BackoffOptions
}

export async function buildApp (config: Config, options: AppOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    logger: loggerOptions({ level: config.logLevel, pretty: options.prettyLogs, stream: options.logStream }),
    genReqId: requestIdOf,
    trustProxy: trustProxyOption(config.security.trustProxy),
    // Routes that take a body set their own limit; everything else takes next to nothing.
    bodyLimit: 16 * 1024,
    // HEAD is served where it is documented (GET /cache/:key), not everywhere GET is.
    exposeHeadRoutes: false,
    // Startup may wait for Redis for REDIS_STARTUP_TIMEOUT_MS; avvio must not give up on the plugin first.
    pluginTimeout: REDIS_STARTUP_TIMEOUT_MS + 5000,
    routerOptions: {
      // A key of 512 bytes can take three times as many characters once percent-encoded.
      maxParamLength: CACHE_KEY_MAX_BYTES * 3
    },
    // A malformed percent-encoding in the path is the caller's mistake, so it gets a 400 problem like any other.
    frameworkErrors: (error, request, reply) => {
      // These requests never reach the onRequest hooks, so the request id is set here.
      reply.header(REQUEST_ID_HEADER, request.id)
      sendProblem(reply, problem('CS_BAD_REQUEST', 400,
        error.code === 'FST_ERR_BAD_URL' ? 'The URL is not validly percent-encoded' : 'The request is malformed'))
    }
  }).withTypeProvider<ZodTypeProvider>()

  app.setValidatorCompiler(validatorCompiler)
  app.setSerializerCompiler(serializerCompiler)
  app.setErrorHandler(problemErrorHandler)
  app.setNotFoundHandler(async (request) => { throw new RouteNotFoundError(request.method, redactUrl(request.url)) })
  app.addHook('onRequest', async (request, reply) => { reply.header(REQUEST_ID_HEADER, request.id) })
  closeConnectionsOnDrain(app)

  // With CORS on, its plugin answers OPTIONS (preflight) everywhere, so OPTIONS is not a 405.
  const addMethodNotAllowedRoutes = trackRouteMethods(app, { cors: config.security.corsOrigins !== undefined })

  await app.register(openApiPlugin, { docsEnabled: config.docsEnabled })
  await app.register(metricsPlugin, {
    redis: config.redis === undefined ? 'none' : config.redis.auth.mode === 'entra' ? 'entra' : 'connected'
  })
  await app.register(storePlugin, { config, credential: options.credential, tokenBackoff: options.tokenBackoff })
  await app.register(authPlugin, { auth: config.security.auth })
  await app.register(protectionPlugin, { security: config.security, keyPrefix: config.keyPrefix })
  await app.register(healthRoutes)
  await app.register(cacheRoutes, { prefix: '/cache', ...config.cache, keyIsolation: config.security.keyIsolation })
  await app.register(sessionRoutes, { prefix: '/sessions', ...config.sessions })

  addMethodNotAllowedRoutes()
  return app
}

/** A hop count trusts that many proxies in front of the service; Fastify takes it as a function. */
function trustProxyOption (trust: boolean | number | string[]) {
  return typeof trust === 'number' ? (_address: string, hop: number) => hop < trust : trust
}
