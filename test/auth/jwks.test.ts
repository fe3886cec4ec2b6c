// The JWKS key set: a forged token can never make a valid one fail, fetches stay bounded whatever arrives, and a
// rotation's new key is fetched in the background before any token uses it.
import { pino } from 'pino'
import t, { type Test } from 'tap'
import { JwtVerifier, type JwtVerifierOptions } from '../../src/auth/jwt-verifier.js'
import { buildTestApp } from '../helpers/app.js'
import { startIdentityProvider, type IdentityProvider } from '../helpers/identity-provider.js'

const base64url = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url')
/** A token signed like a real one but naming a key the identity provider never published. */
function forged (idp: IdentityProvider, kid: string): string {
  const [, payload, signature] = idp.token({ roles: ['cache:read'] }).split('.')
  return `${base64url({ alg: 'RS256', typ: 'JWT', kid })}.${payload}.${signature}`
}

/** A verifier of the identity provider's tokens, started, and stopped when the test ends. */
async function verifierFor (t: Test, idp: IdentityProvider, issuer: string, jwks: JwtVerifierOptions['jwks'] = {}) {
  const log = pino({ level: 'silent' })
  const verifier = new JwtVerifier({ issuer, audiences: [idp.audience], clockSkewSeconds: 0, log, jwks })
  await verifier.start()
  t.teardown(() => verifier.stop())
  return verifier
}

t.test('a token with a made-up kid does not lock out valid tokens signed with a new key', async (t) => {
  const idp = await startIdentityProvider(t)
  const env = { AUTH_MODE: 'jwt', JWT_ISSUER: idp.issuer, JWT_AUDIENCE: idp.audience, AUTH_FAILURE_MAX: '0' }
  const app = await buildTestApp(t, { env })
  const read = async (token: string) =>
    await app.inject({ method: 'GET', url: '/cache/k', headers: { authorization: `Bearer ${token}` } })

  t.equal((await read(forged(idp, 'made-up'))).statusCode, 401, 'the forged token is refused')
  // The reproduction: the identity provider publishes a new key just now, and callers start using it at once.
  idp.rotate()
  for (let i = 0; i < 3; i++) {
    t.equal((await read(idp.token({ roles: ['cache:read'] }))).statusCode, 404, `valid token ${i + 1} gets in`)
  }
})

t.test('a flood of made-up kids costs at most one JWKS fetch per interval', async (t) => {
  const idp = await startIdentityProvider(t)
  const verifier = await verifierFor(t, idp, idp.issuer)
  t.equal(idp.jwksFetches(), 1, 'fetched once at startup')

  const started = Date.now()
  const results = await Promise.allSettled(
    Array.from({ length: 200 }, (_, i) => verifier.verify(forged(idp, `made-up-${i}`))))
  t.ok(results.every((result) => result.status === 'rejected'), 'all 200 are refused')
  t.equal(idp.jwksFetches(), 2, 'one more fetch for 200 unknown kids at once')
  t.ok(Date.now() - started < 5000, 'and they waited at most for the next permitted fetch')

  const caller = await verifier.verify(idp.token({ roles: ['cache:read'] }))
  t.equal(caller.id, 'caller-oid-1', 'a known key verifies at once, with no fetch')
  t.equal(idp.jwksFetches(), 2)
})

t.test('the keys are refreshed in the background, so a rotated key is held before it is used', async (t) => {
  const idp = await startIdentityProvider(t)
  const verifier = await verifierFor(t, idp, idp.issuer, { refreshIntervalMs: 200, minFetchIntervalMs: 50 })
  idp.rotate()
  const deadline = Date.now() + 5000
  while (idp.jwksFetches() < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20))
  await new Promise((resolve) => setTimeout(resolve, 50))
  const fetches = idp.jwksFetches()
  t.ok(fetches >= 2, 'the JWKS was fetched again without any request')
  const caller = await verifier.verify(idp.token({ roles: ['cache:read'] }))
  t.equal(caller.id, 'caller-oid-1', 'a token under the new key verifies')
  t.ok(idp.jwksFetches() - fetches <= 1, 'with the key already held (at most the timer fetched meanwhile)')
})

t.test('an unreachable identity provider at startup does not stop the service; keys are fetched later', async (t) => {
  const idp = await startIdentityProvider(t)
  const verifier = await verifierFor(t, idp, `${idp.issuer}-missing`, { minFetchIntervalMs: 10 })
  await t.rejects(verifier.verify(idp.token({ roles: ['cache:read'] })), /unknown signing key/)
})

t.test('a key is only used for the algorithm it was made for', async (t) => {
  const idp = await startIdentityProvider(t)
  const verifier = await verifierFor(t, idp, idp.issuer)
  // An ES256 token naming the RSA key's kid.
  const [, payload, signature] = idp.token({ roles: ['cache:read'] }, { alg: 'ES256' }).split('.')
  const header = base64url({ alg: 'ES256', typ: 'JWT', kid: 'rs256-key-1' })
  await t.rejects(verifier.verify(`${header}.${payload}.${signature}`), /does not fit/)
})

t.test('a JWKS with no usable key does not replace the keys held', async (t) => {
  const idp = await startIdentityProvider(t)
  const verifier = await verifierFor(t, idp, idp.issuer, { refreshIntervalMs: 50, minFetchIntervalMs: 10 })
  const token = idp.token({ roles: ['cache:read'] })
  t.ok(await verifier.verify(token), 'a valid token verifies')
  idp.withdrawKeys()
  const fetched = idp.jwksFetches()
  await new Promise((resolve) => setTimeout(resolve, 300))
  t.ok(idp.jwksFetches() > fetched, 'the empty key set was fetched')
  t.ok(await verifier.verify(token), 'and the keys held still verify the same token')
})
