// Who may call: every route that names a `config.scope` requires a bearer credential (an API key or an Entra ID
// / OIDC access token, per AUTH_MODE) that grants it. 401 with WWW-Authenticate without a valid one, 403
// without the scope. Routes without a scope (health, the API document) stay open.
import type { FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import type { AuthConfig, Scope } from '../config/security.js'
import { ForbiddenError, UnauthorizedError } from '../errors.js'
import { ApiKeyVerifier } from '../auth/api-keys.js'
import { ANONYMOUS, hasScope, type Caller } from '../auth/caller.js'
import { JwtVerifier } from '../auth/jwt-verifier.js'

const REALM = 'cache-service'

export default fp<{ auth: AuthConfig }>(async (app, { auth }) => {
  app.decorateRequest('caller', null as unknown as Caller)

  if (auth.mode === 'none') {
    app.log.warn('AUTH_MODE=none: NO AUTHENTICATION. Every caller may read and write everything. ' +
      'This is for local development only; set AUTH_MODE to api-key or jwt anywhere else.')
    app.addHook('onRequest', async (request) => { request.caller = ANONYMOUS })
    return
  }

  const verify = auth.mode === 'api-key'
    ? apiKeyVerifier(new ApiKeyVerifier(auth.keys))
    : jwtVerifier(new JwtVerifier(auth))

  app.addHook('onRequest', async (request, reply) => {
    const scope = request.routeOptions.config.scope
    if (scope === undefined) return
    const token = bearerToken(request)
    if (token === undefined) {
      throw unauthorized(reply, `Bearer realm="${REALM}"`, 'This operation needs an Authorization: Bearer credential')
    }
    try {
      request.caller = await verify(token)
    } catch (err) {
      request.log.info({ reason: (err as Error).message }, 'authentication failed')
      throw unauthorized(reply, `Bearer realm="${REALM}", error="invalid_token"`, 'The credential is not valid')
    }
    if (!hasScope(request.caller, scope)) throw forbidden(reply, scope)
  })
}, { name: 'auth' })

function apiKeyVerifier (keys: ApiKeyVerifier) {
  return async (token: string): Promise<Caller> => {
    const caller = keys.verify(token)
    if (caller === undefined) throw new Error('no configured key matches')
    return caller
  }
}

function jwtVerifier (tokens: JwtVerifier) {
  return async (token: string): Promise<Caller> => await tokens.verify(token)
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
