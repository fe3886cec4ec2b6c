// Microsoft Entra ID (or any OIDC issuer) access tokens: keys from the issuer's discovery document and JWKS,
// cached, a rotated key fetched when a token names a kid we have not seen; issuer, audience, exp and nbf
// checked with a small allowance for clock skew; RS256 and ES256 only, so `none` and HMAC are refused.
import buildGetJwks from 'get-jwks'
import { createVerifier, type Algorithm, type DecodedJwt } from 'fast-jwt'
import { SCOPES, type Scope } from '../config/security.js'
import type { Caller } from './caller.js'

export interface JwtVerifierOptions {
  issuer: string
  audiences: string[]
  clockSkewSeconds: number
}

const ALGORITHMS: Algorithm[] = ['RS256', 'ES256']
/**
 * A token naming a kid we have no key for makes get-jwks fetch the JWKS again (that is how a rotation is picked
 * up). After such a fetch finds nothing, further lookups of unknown kids fail at once for this long, so that
 * tokens with made-up kids cannot turn every request into a call to the identity provider.
 */
const FAILED_LOOKUP_BACKOFF_MS = 10_000

export class JwtVerifier {
  readonly #verify: (token: string) => Promise<Record<string, unknown>>

  constructor ({ issuer, audiences, clockSkewSeconds }: JwtVerifierOptions) {
    const jwks = buildGetJwks({ providerDiscovery: true, issuersWhitelist: [issuer], ttl: 10 * 60_000 })
    const knownKeys = new Set<string>()
    let lastFailedLookup = -Infinity
    this.#verify = createVerifier({
      algorithms: ALGORITHMS,
      allowedIss: issuer,
      allowedAud: audiences,
      clockTolerance: clockSkewSeconds * 1000,
      requiredClaims: ['exp'],
      // The key is looked up for the token's own kid and alg, at the configured issuer only.
      key: async ({ header }: DecodedJwt) => {
        if (!ALGORITHMS.includes(header.alg)) throw new Error('the token algorithm is not allowed')
        const id = `${header.alg} ${header.kid}`
        if (!knownKeys.has(id) && Date.now() - lastFailedLookup < FAILED_LOOKUP_BACKOFF_MS) {
          throw new Error('the token names an unknown signing key')
        }
        try {
          const key = await jwks.getPublicKey({ domain: issuer, kid: header.kid, alg: header.alg })
          knownKeys.add(id)
          return key
        } catch (err) {
          if (!knownKeys.has(id)) lastFailedLookup = Date.now()
          throw err
        }
      }
    })
  }

  /** The caller a valid token stands for; rejects with the reason a token is not valid. */
  async verify (token: string): Promise<Caller> {
    const claims = await this.#verify(token)
    const id = typeof claims.oid === 'string' ? claims.oid : claims.sub
    if (typeof id !== 'string') throw new Error('the token names no subject (oid or sub)')
    return { id, scopes: scopesOf(claims) }
  }
}

/**
 * `roles` (application permissions) and `scp` (delegated, space-separated) both grant scopes. Entra app roles
 * are often written Cache.Read; that reads as cache:read.
 */
export function scopesOf (claims: Record<string, unknown>): Set<Scope> {
  const granted = [
    ...(Array.isArray(claims.roles) ? claims.roles : []),
    ...(typeof claims.scp === 'string' ? claims.scp.split(' ') : [])
  ].map((value) => String(value).toLowerCase().replace('.', ':'))
  return new Set(SCOPES.filter((scope) => granted.includes(scope)))
}
