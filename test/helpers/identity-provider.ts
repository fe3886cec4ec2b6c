// A local OIDC identity provider for the jwt mode: a discovery document and a JWKS served on loopback, with
// keys made in the test, which can be rotated. It signs tokens as Microsoft Entra ID would issue them.
import { createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto'
import { createSigner } from 'fast-jwt'
import Fastify from 'fastify'

interface Teardown { teardown (fn: () => unknown): void }

interface SigningKey { kid: string, privateKey: KeyObject, jwk: Record<string, unknown>, alg: 'RS256' | 'ES256' }

export interface IdentityProvider {
  issuer: string
  audience: string
  /** A token with these claims (exp one hour ahead unless given), signed with the current key. */
  token (claims?: Record<string, unknown>, options?: { alg?: 'RS256' | 'ES256' }): string
  /** Replaces the published keys with new ones; tokens signed before no longer verify once caches expire. */
  rotate (): void
  /** Publishes a JWKS with no usable key (an empty set, or only keys for encryption) until the next rotate(). */
  withdrawKeys (): void
  /** How many times the JWKS was fetched. */
  jwksFetches (): number
  publicKeyPem (): string
}

function makeKey (alg: 'RS256' | 'ES256', generation: number): SigningKey {
  const { privateKey, publicKey } = alg === 'RS256'
    ? generateKeyPairSync('rsa', { modulusLength: 2048 })
    : generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const kid = `${alg.toLowerCase()}-key-${generation}`
  return { kid, privateKey, alg, jwk: { ...publicKey.export({ format: 'jwk' }), kid, alg, use: 'sig' } }
}

export async function startIdentityProvider (t: Teardown): Promise<IdentityProvider> {
  let generation = 1
  let keys = [makeKey('RS256', generation), makeKey('ES256', generation)]
  let fetches = 0
  let withdrawn = false
  const server = Fastify()
  let base = ''
  server.get('/tenant-0001/v2.0/.well-known/openid-configuration', async () => ({
    issuer: `${base}/tenant-0001/v2.0`, jwks_uri: `${base}/tenant-0001/discovery/v2.0/keys`
  }))
  server.get('/tenant-0001/discovery/v2.0/keys', async () => {
    fetches++
    if (withdrawn) return { keys: keys.map((key) => ({ ...key.jwk, use: 'enc' })) }
    return { keys: keys.map((key) => key.jwk) }
  })
  base = await server.listen({ port: 0, host: '127.0.0.1' })
  const issuer = `${base}/tenant-0001/v2.0`
  t.teardown(() => server.close())

  const audience = 'api://cache-service'
  return {
    issuer,
    audience,
    token (claims = {}, { alg = 'RS256' } = {}) {
      const key = keys.find((candidate) => candidate.alg === alg)!
      const now = Math.floor(Date.now() / 1000)
      const pem = key.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string
      const sign = createSigner({ key: pem, algorithm: alg, kid: key.kid })
      return sign({ iss: issuer, aud: audience, iat: now, nbf: now, exp: now + 3600, oid: 'caller-oid-1', ...claims })
    },
    withdrawKeys () {
      withdrawn = true
    },
    rotate () {
      withdrawn = false
      generation++
      keys = [makeKey('RS256', generation), makeKey('ES256', generation)]
    },
    jwksFetches: () => fetches,
    publicKeyPem: () => {
      const rsa = keys.find((key) => key.alg === 'RS256')!
      return createPublicKey(rsa.privateKey).export({ format: 'pem', type: 'spki' }) as string
    }
  }
}
