// buildApp: the one place where the service is put together. Tests build through it; server.ts listens.
import type { TokenCredential } from '@azure/core-auth'
import Fastify, { type FastifyInstance } from 'fastify'
import { validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod'
import type { Config } from './config/index.js'
import { MethodNotAllowedError, RouteNotFoundError } from './errors.js'
import { bodyBudget } from './http/body-budget.js'
import { clientErrorAnswerer } from './http/client-errors.js'
import { closeConnectionsOnDrain } from './http/close-connections-on-drain.js'
import { limitConnections } from './http/connection-limit.js'
import { problemErrorHandler } from './http/error-handler.js'
import { parseExactJson } from './http/exact-json.js'
import { ignoreDeleteBody } from './http/ignore-delete-body.js'
import { trackRouteMethods } from './http/method-not-allowed.js'
import { problem, sendProblem } from './http/problem.js'
import { REQUEST_ID_HEADER, requestIdOf } from './http/request-id.js'
import { responseSerializerCompiler } from './http/response-serializer.js'
import { RequestLogController } from './http/request-logging.js'
import { securityHeaders } from './http/security-headers.js'
import { loggerOptions } from './logger.js'
import authPlugin, { type AuthPluginOptions } from './plugins/auth.js'
import metricsPlugin from './plugins/metrics.js'
import openApiPlugin from './plugins/openapi.js'
import protectionPlugin from './plugins/protection.js'
import rateLimitPlugin from './plugins/rate-limit.js'
import redisPlugin from './plugins/redis.js'
import { memoryStore, redisStore } from './plugins/store.js'
import type { BackoffOptions } from './redis/token-schedule.js'
import { cacheRoutes } from './routes/cache.js'
import { cacheBulkRoutes } from './routes/cache-bulk.js'
import { namespaceOf } from './routes/cache-namespace.js'
import { healthRoutes } from './routes/health.js'
import { sessionRoutes } from './routes/sessions.js'
import { CACHE_KEY_MAX_CHARACTERS } from './schemas/cache.js'

export interface AppOptions {
  /** Pretty logs for a terminal. */
  prettyLogs?: boolean
  /** Send log lines here instead of stdout. */
  logStream?: NodeJS.WritableStream
  /** The Entra ID credential for REDIS_AUTH=entra; DefaultAzureCredential when not given. */
  credential?: TokenCredential
  /** Retry pacing of the Entra ID token refresher. */
  tokenBackoff?: BackoffOptions
  /** Called when Redis refuses the service after it started without waiting for it; server.ts exits 1. */
  onFatalError?: (err: Error) => void
  /** Tuning of the JWKS key set in jwt mode (tests shorten its intervals). */
  jwks?: AuthPluginOptions['jwks']
}

export async function buildApp (config: Config, options: AppOptions = {}): Promise<FastifyInstance> {
  const headers = await securityHeaders()
  const app = Fastify({
    logger: loggerOptions({ level: config.logLevel, pretty: options.prettyLogs, stream: options.logStream }),
    // At info, only failed and slow requests are logged (request-logging.ts).
    logController: new RequestLogController({ slowMs: config.logSlowRequestMs }),
    genReqId: requestIdOf,
    trustProxy: trustProxyOption(config.http.trustProxy),
    // A client that sends its request slowly (slow loris) is cut off with a 408 (client-errors.ts). Node looks for
    // such requests every 30 s by default, which would let one hold its connection that long past the timeout.
    requestTimeout: config.http.requestTimeoutMs,
    http: {
      headersTimeout: Math.min(60_000, config.http.requestTimeoutMs),
      connectionsCheckingInterval: Math.min(1000, config.http.requestTimeoutMs)
    },
    // Routes that take a body set their own limit; everything else takes next to nothing.
    bodyLimit: 16 * 1024,
    // HEAD is served where it is documented (GET /cache/:key), not everywhere GET is.
    exposeHeadRoutes: false,
    // With Entra ID, startup waits for the first token, which may take the credential's 30 s attempt timeout; avvio
    // must not give up on the plugin first.
    pluginTimeout: 45_000,
    routerOptions: {
      // A key of 512 characters is up to 4 bytes each in UTF-8, and 3 characters a byte once percent-encoded.
      maxParamLength: CACHE_KEY_MAX_CHARACTERS * 12
    },
    // Requests Node's HTTP parser refuses (oversized headers, bytes that are not HTTP) get problem+json too.
    clientErrorHandler: clientErrorAnswerer(headers),
    // A malformed percent-encoding in the path is the caller's mistake, so it gets a 400 problem like any other.
    frameworkErrors: (error, request, reply) => {
      // These requests never reach the onRequest hooks, so the request id and security headers are set here.
      reply.headers(headers).header(REQUEST_ID_HEADER, request.id)
      sendProblem(reply, problem('CS_BAD_REQUEST', 400,
        error.code === 'FST_ERR_BAD_URL' ? 'The URL is not validly percent-encoded' : 'The request is malformed'))
    }
  }).withTypeProvider<ZodTypeProvider>()

  app.setValidatorCompiler(validatorCompiler)
  app.setSerializerCompiler(responseSerializerCompiler)
  app.setErrorHandler(problemErrorHandler)
  // JSON bodies are refused rather than changed when a number in them would not survive (exact-json.ts).
  app.removeContentTypeParser('application/json')
  app.addContentTypeParser('application/json', { parseAs: 'string' }, parseExactJson)
  // Fastify routes a method it knows nothing of (PROPFIND, say) here: on a known path that is a 405 too. The path
  // is not echoed: it may carry a secret in a form no route knows (a session id after `//sessions/`).
  const routeMethods = trackRouteMethods(app, { cors: config.http.corsOrigins !== undefined })
  app.setNotFoundHandler(async (request, reply) => {
    const allow = routeMethods.allowedFor(request.url)
    if (allow === undefined) throw new RouteNotFoundError(request.method)
    reply.header('allow', allow)
    throw new MethodNotAllowedError(request.method)
  })
  app.addHook('onRequest', (request, reply, done) => {
    reply.header(REQUEST_ID_HEADER, request.id)
    done()
  })
  app.addHook('preParsing', ignoreDeleteBody)
  closeConnectionsOnDrain(app)

  const { http, redis, security } = config
  const sessionEvents = { ...config.sessions.events, namespaceOf: namespaceOf(security.keyIsolation) }
  // With CORS on, its plugin answers OPTIONS (preflight) everywhere, so OPTIONS is not a 405.

  // First: its request hook must run before every other, so that they and the routes run in the request's span.
  // Loaded only when traces are on: the OpenTelemetry SDK and its exporter, which a service without tracing never
  // uses, took about 3 MiB of its idle RSS.
  if (config.tracing !== undefined) await app.register(import('./plugins/tracing.js'), { tracing: config.tracing })
  await app.register(openApiPlugin, { docsEnabled: http.docsEnabled })
  await app.register(metricsPlugin)
  if (http.maxConnections > 0) limitConnections(app.server, http.maxConnections, app.metrics.registry)
  if (redis === undefined) {
    await app.register(memoryStore, { waiting: config.cache.waiting, sessionEvents })
  } else {
    await app.register(redisPlugin, {
      redis,
      keyPrefix: config.keyPrefix,
      ...(options.credential !== undefined && { credential: options.credential }),
      ...(options.tokenBackoff !== undefined && { tokenBackoff: options.tokenBackoff }),
      ...(options.onFatalError !== undefined && { onFatalError: options.onFatalError })
    })
    await app.register(redisStore, {
      keyPrefix: config.keyPrefix,
      waiting: config.cache.waiting,
      near: config.cache.near,
      commandTimeoutMs: redis.commandTimeoutMs,
      sessionAbsoluteTtlSeconds: config.sessions.absoluteTtlSeconds,
      sessionEvents
    })
  }
  await app.register(protectionPlugin, {
    headers, corsOrigins: http.corsOrigins, maxEventLoopDelayMs: http.maxEventLoopDelayMs
  })
  await app.register(rateLimitPlugin, {
    ...security.rateLimit, shared: redis !== undefined, keyPrefix: config.keyPrefix
  })
  await app.register(authPlugin, {
    auth: security.auth,
    failureLimit: security.authFailureLimit,
    ...(options.jwks !== undefined && { jwks: options.jwks })
  })
  // After authentication, the rate limit and the scope check (auth's preParsing hook): a caller refused by them holds
  // no room for a body.
  if (http.maxBodyBytesInFlight > 0) {
    app.addHook('preParsing', bodyBudget(http.maxBodyBytesInFlight, app.metrics.registry))
  }
  await app.register(healthRoutes)
  await app.register(cacheRoutes, {
    prefix: '/cache',
    ...config.cache,
    keyIsolation: security.keyIsolation,
    maxStaleIfErrorSeconds: config.cache.near.maxStaleIfErrorSeconds
  })
  await app.register(cacheBulkRoutes, {
    prefix: '/cache-bulk',
    ...config.cache,
    keyIsolation: security.keyIsolation,
    maxStaleIfErrorSeconds: config.cache.near.maxStaleIfErrorSeconds
  })
  await app.register(sessionRoutes, { prefix: '/sessions', ...config.sessions, keyIsolation: security.keyIsolation })

  routeMethods.addMethodNotAllowedRoutes()
  return app
}

/** A hop count trusts that many proxies in front of the service; Fastify takes it as a function. */
function trustProxyOption (trust: boolean | number | string[]) {
  return typeof trust === 'number' ? (_address: string, hop: number) => hop < trust : trust
}
