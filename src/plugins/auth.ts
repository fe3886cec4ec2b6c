// Who may call: every route that names a `config.scope` requires a bearer credential (an API key or an Entra ID
// / OIDC access token, per AUTH_MODE) that grants it. 401 with WWW-Authenticate without a valid one, 403
// without the scope. Routes without a scope (health, the API document) stay open.
//
// The order of the checks is what makes every refusal count: authentication runs first (onRequest), and failures
// are limited per client address; then the caller's own rate limit (rate-limit.ts, a route-level onRequest hook);
// then the scope (preParsing), and body parsing and validation after it, so 403, 413, 415 and 400 are counted
// against the caller like any other request.
import type { FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import type { AuthConfig, Scope } from '../config/security.js'
import { ForbiddenError, RateLimitedError, UnauthorizedError } from '../errors.js'
import { ApiKeyVerifier } from '../auth/api-keys.js'
import { ANONYMOUS, authenticatedCaller, hasScope, type Caller } from '../auth/caller.js'
import { AuthFailureLimit } from '../auth/failure-limit.js'
import { JwtVerifier, type JwtVerifierOptions } from '../auth/jwt-verifier.js'

const REALM = 'cache-service'

declare module 'fastify' {
  interface FastifyRequest {
    /** Who is calling: set on every route that names a scope, null on open routes (health, the API document). */
    caller: Caller | null
  }
  interface FastifyContextConfig {
    /** The scope a caller needs for this route; routes without one (health, docs) are open. */
    scope?: Scope
  }
}

export interface AuthPluginOptions {
  auth: AuthConfig
  /** Failed authentications allowed per client address per window; 0 turns the limit off. */
  failureLimit: { max: number, windowMs: number }
  /** Tuning of the JWKS key set (tests shorten its intervals). */
  jwks?: JwtVerifierOptions['jwks']
}

export default fp<AuthPluginOptions>(async (app, { auth, failureLimit, jwks }) => {
  app.decorateRequest('caller', null)

  if (auth.mode === 'none') {
    app.log.warn('AUTH_MODE=none: NO AUTHENTICATION. Every caller may read and write everything. ' +
      'This is for local development only; set AUTH_MODE to api-key or jwt anywhere else.')
    // A callback hook: it runs on every request, and a promise each would be a waste.
    app.addHook('onRequest', (request, _reply, done) => {
      request.caller = ANONYMOUS
      done()
    })
    return
  }

  let verify: (token: string) => Promise<Caller>
  if (auth.mode === 'api-key') {
    verify = apiKeyVerifier(new ApiKeyVerifier(auth.keys))
  } else {
    const tokens = new JwtVerifier({ ...auth, log: app.log, ...(jwks !== undefined && { jwks }) })
    await tokens.start()
    app.addHook('onClose', async () => { tokens.stop() })
    verify = async (token) => await tokens.verify(token)
  }

  const failures = failureLimit.max > 0
    ? new AuthFailureLimit(app.createRateLimit({
      max: failureLimit.max,
      timeWindow: failureLimit.windowMs,
      keyGenerator: (request) => `auth-failures:${request.ip}`
    }))
    : undefined

  app.addHook('onRequest', async (request, reply) => {
    if (request.routeOptions.config.scope === undefined) return
    const blockedMs = failures?.blockedFor(request.ip) ?? 0
    if (blockedMs > 0) throw tooManyFailures(reply, failureLimit.max, blockedMs)

    const token = bearerToken(request)
    let challenge = `Bearer realm="${REALM}"`
    let detail = 'This operation needs an Authorization: Bearer credential'
    if (token !== undefined) {
      try {
        request.caller = await verify(token)
        return
      } catch (err) {
        request.log.info({ reason: (err as Error).message }, 'authentication failed')
        challenge = `Bearer realm="${REALM}", error="invalid_token"`
        detail = 'The credential is not valid'
      }
    }
    // A missing credential and an invalid one both count: past the limit the address waits, with no challenge.
    const nowBlockedMs = await failures?.recordFailure(request) ?? 0
    if (nowBlockedMs > 0) throw tooManyFailures(reply, failureLimit.max, nowBlockedMs)
    throw unauthorized(reply, challenge, detail)
  })

  app.addHook('preParsing', (request, reply, payload, done) => {
    const scope = request.routeOptions.config.scope
    if (scope !== undefined && !hasScope(authenticatedCaller(request), scope)) {
      done(forbidden(reply, scope))
      return
    }
    done(null, payload)
  })
}, { name: 'auth', dependencies: ['rate-limit', 'metrics'] })

function apiKeyVerifier (keys: ApiKeyVerifier) {
  return async (token: string): Promise<Caller> => {
    const caller = keys.verify(token)
    if (caller === undefined) throw new Error('no configured key matches')
    return caller
  }
}

function bearerToken (request: FastifyRequest): string | undefined {
  const match = /^Bearer +([\x21-\x7e]+) *$/i.exec(request.headers.authorization ?? '')
  return match?.[1]
}

function unauthorized (reply: FastifyReply, challenge: string, detail: string) {
  reply.header('www-authenticate', challenge)
  return new UnauthorizedError(detail)
}

function forbidden (reply: FastifyReply, scope: Scope) {
  reply.header('www-authenticate', `Bearer realm="${REALM}", error="insufficient_scope", scope="${scope}"`)
  return new ForbiddenError(`This operation needs the scope ${scope}`)
}

/** 429 with the same headers as the per-caller limit's, describing the failure limit. */
function tooManyFailures (reply: FastifyReply, max: number, blockedMs: number) {
  const seconds = String(Math.ceil(blockedMs / 1000))
  reply.headers({
    'retry-after': seconds, 'ratelimit-limit': max, 'ratelimit-remaining': 0, 'ratelimit-reset': seconds
  })
  reply.server.metrics.rateLimited.inc()
  return new RateLimitedError('Too many failed authentications from this address; retry after Retry-After')
}
