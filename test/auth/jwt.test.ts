// AUTH_MODE=jwt against a local identity provider: valid tokens in, and every way a token can be wrong, out.
import { createHmac } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import t from 'tap'
import { buildTestApp } from '../helpers/app.js'
import { startIdentityProvider } from '../helpers/identity-provider.js'

const idp = await startIdentityProvider(t)
const app = await buildTestApp(t, {
  // Every failure here comes from one address; the failure limit has tests of its own (refusal-limits.test.ts).
  env: {
    AUTH_MODE: 'jwt',
    JWT_ISSUER: idp.issuer,
    JWT_AUDIENCE: idp.audience,
    JWT_CLOCK_SKEW_SECONDS: '30',
    AUTH_FAILURE_MAX: '0'
  }
})

const read = async (app: FastifyInstance, token?: string) => await app.inject({
  method: 'GET', url: '/cache/k', headers: token === undefined ? {} : { authorization: `Bearer ${token}` }
})
const base64url = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url')

t.test('a valid token with the scope gets in; RS256 and ES256 alike', async (t) => {
  t.equal((await read(app, idp.token({ roles: ['cache:read'] }))).statusCode, 404, 'in: the key is simply absent')
  const es256 = idp.token({ roles: ['Cache.Read'] }, { alg: 'ES256' })
  t.equal((await read(app, es256)).statusCode, 404, 'ES256, and an Entra-style role name')
  t.equal((await read(app, idp.token({ scp: 'openid cache:read' }))).statusCode, 404, 'a delegated scp scope')
  t.equal((await read(app, idp.token({ roles: ['admin'] }))).statusCode, 404, 'admin holds every scope')
})

t.test('no token: 401 with a Bearer challenge; health stays open', async (t) => {
  const res = await read(app)
  t.equal(res.statusCode, 401)
  t.equal(res.headers['www-authenticate'], 'Bearer realm="cache-service"')
  t.match(res.json(), { type: 'urn:cache-service:problem:unauthorized', status: 401 })
  t.equal((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200)
  t.equal((await app.inject({ method: 'GET', url: '/readyz' })).statusCode, 200)
})

t.test('every kind of bad token gets 401 invalid_token', async (t) => {
  const now = Math.floor(Date.now() / 1000)
  const good = idp.token({ roles: ['cache:read'] })
  const [header, payload] = good.split('.')
  const unsigned = `${base64url({ alg: 'none', typ: 'JWT' })}.${payload}.`
  const decode = (part: string) => JSON.parse(Buffer.from(part, 'base64url').toString())
  const hmacHeader = base64url({ alg: 'HS256', typ: 'JWT', kid: decode(header!).kid })
  const hmacSignature = createHmac('sha256', idp.publicKeyPem()).update(`${hmacHeader}.${payload}`).digest('base64url')
  const cases: Array<[string, string]> = [
    ['expired', idp.token({ roles: ['cache:read'], exp: now - 120, iat: now - 3720, nbf: now - 3720 })],
    ['not yet valid', idp.token({ roles: ['cache:read'], nbf: now + 300 })],
    ['wrong audience', idp.token({ roles: ['cache:read'], aud: 'api://someone-else' })],
    ['wrong issuer', idp.token({ roles: ['cache:read'], iss: 'https://evil.example/v2.0' })],
    ['no audience', idp.token({ roles: ['cache:read'], aud: undefined })],
    ['no issuer', idp.token({ roles: ['cache:read'], iss: undefined })],
    ['neither audience nor issuer', idp.token({ roles: ['cache:read'], aud: undefined, iss: undefined })],
    ['alg none', unsigned],
    ['HS256 signed with the public key as the secret', `${hmacHeader}.${payload}.${hmacSignature}`],
    ['a tampered payload', `${header}.${base64url({ ...decode(payload!), roles: ['admin'] })}.${good.split('.')[2]}`],
    ['garbage', 'not-a-jwt']
  ]
  for (const [name, token] of cases) {
    const res = await read(app, token)
    t.equal(res.statusCode, 401, name)
    t.equal(res.headers['www-authenticate'], 'Bearer realm="cache-service", error="invalid_token"', name)
  }
})

t.test('a small clock skew is allowed', async (t) => {
  const now = Math.floor(Date.now() / 1000)
  t.equal((await read(app, idp.token({ roles: ['cache:read'], exp: now - 10 }))).statusCode, 404, 'expired 10 s ago')
  t.equal((await read(app, idp.token({ roles: ['cache:read'], nbf: now + 10 }))).statusCode, 404, 'valid in 10 s')
})

t.test('a rotated signing key is picked up', async (t) => {
  const fetchesBefore = idp.jwksFetches()
  idp.rotate()
  t.equal((await read(app, idp.token({ roles: ['cache:read'] }))).statusCode, 404, 'a token under the new key')
  t.ok(idp.jwksFetches() > fetchesBefore, 'the JWKS was fetched again for the unknown kid')
})

t.test('tokens naming made-up keys cannot make the service hammer the identity provider', async (t) => {
  const fetchesBefore = idp.jwksFetches()
  const [, payload, signature] = idp.token({ roles: ['cache:read'] }).split('.')
  // All at once: an unknown kid waits for the next permitted JWKS fetch, which they share.
  const responses = await Promise.all(Array.from({ length: 20 }, (_, i) => {
    const header = base64url({ alg: 'RS256', typ: 'JWT', kid: `made-up-${i}` })
    return read(app, `${header}.${payload}.${signature}`)
  }))
  for (const res of responses) t.equal(res.statusCode, 401)
  t.ok(idp.jwksFetches() - fetchesBefore <= 1, `${idp.jwksFetches() - fetchesBefore} JWKS fetch for 20 unknown kids`)
  t.equal((await read(app, idp.token({ roles: ['cache:read'] }))).statusCode, 404, 'known keys still verify meanwhile')
})

t.test('each scope grants exactly its operations', async (t) => {
  const matrix: Array<[string, { method: 'GET' | 'PUT' | 'POST' | 'DELETE', url: string, payload?: string }]> = [
    ['cache:read', { method: 'GET', url: '/cache/scoped' }],
    ['cache:write', { method: 'PUT', url: '/cache/scoped', payload: 'x' }],
    ['cache:write', { method: 'DELETE', url: '/cache/scoped' }],
    ['sessions:read', { method: 'GET', url: '/sessions/some-session-id-0000000001' }],
    ['sessions:write', { method: 'POST', url: '/sessions', payload: '{"data":{}}' }]
  ]
  for (const [needed, request] of matrix) {
    for (const held of ['cache:read', 'cache:write', 'sessions:read', 'sessions:write']) {
      const res = await app.inject({
        ...request,
        headers: { authorization: `Bearer ${idp.token({ roles: [held] })}`, 'content-type': 'application/json' }
      })
      const name = `${request.method} ${request.url} with ${held}`
      if (held === needed) {
        t.not(res.statusCode, 403, name)
      } else {
        t.equal(res.statusCode, 403, name)
        const challenge = `Bearer realm="cache-service", error="insufficient_scope", scope="${needed}"`
        t.equal(res.headers['www-authenticate'], challenge)
      }
    }
  }
})
