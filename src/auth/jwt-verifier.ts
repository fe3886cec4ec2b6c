// Microsoft Entra ID (or any OIDC issuer) access tokens: keys from the issuer's JWKS (jwks.ts), issuer,
// audience, exp and nbf checked with a small allowance for clock skew; RS256 and ES256 only, so `none` and HMAC
// are refused.
import { createVerifier, type Algorithm, type DecodedJwt } from 'fast-jwt'
import type { FastifyBaseLogger } from 'fastify'
import { SCOPES, type Scope } from '../config/security.js'
import type { Caller } from './caller.js'
import { JwksKeySet, type JwksKeySetOptions } from './jwks.js'

export interface JwtVerifierOptions {
  issuer: string
  audiences: string[]
  clockSkewSeconds: number
  log: FastifyBaseLogger
  /** Tuning of the key set (tests shorten its intervals). */
  jwks?: Partial<JwksKeySetOptions>
}

const ALGORITHMS: Algorithm[] = ['RS256', 'ES256']

export class JwtVerifier {
  readonly #verify: (token: string) => Promise<Record<string, unknown>>
  readonly #keys: JwksKeySet

  constructor ({ issuer, audiences, clockSkewSeconds, log, jwks }: JwtVerifierOptions) {
    const keys = new JwksKeySet({ ...jwks, issuer, log })
    this.#keys = keys
    this.#verify = createVerifier({
      algorithms: ALGORITHMS,
      allowedIss: issuer,
      allowedAud: audiences,
      clockTolerance: clockSkewSeconds * 1000,
      // fast-jwt checks iss and aud only when the token has them: a token without either must not pass.
      requiredClaims: ['exp', 'iss', 'aud'],
      // The key is looked up for the token's own kid and alg, at the configured issuer only.
      key: async ({ header }: DecodedJwt) => await keys.key(header.alg, header.kid)
    })
  }

  /** Fetches the signing keys, so that the first tokens do not wait for them, and keeps them fresh. */
  async start (): Promise<void> {
    await this.#keys.start()
  }

  stop (): void {
    this.#keys.stop()
  }

  /** The caller a valid token stands for; rejects with the reason a token is not valid. */
  async verify (token: string): Promise<Caller> {
    let claims: Record<string, unknown>
    try {
      claims = await this.#verify(token)
    } catch (err) {
      // fast-jwt reports every key lookup failure as "Cannot fetch key."; the reason is the one worth logging.
      const original = (err as { originalError?: unknown }).originalError
      throw original instanceof Error ? original : err
    }
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
