// A stand-in for Microsoft Entra ID, which cannot be reached from here. It behaves like a real TokenCredential:
// JWT-shaped tokens with `oid` and a real `exp`, a cache that returns the same token until shortly before expiry
// (as MSAL does), and failures on demand: transient (a 503 from the identity endpoint) or not (no identity).
import { randomBytes, randomUUID } from 'node:crypto'
import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/core-auth'

export interface FakeEntraOptions {
  /** Lifetime of each token, in milliseconds (exp is whole seconds, as in a real JWT). */
  lifetimeMs: number
  /** A token with more than this left is returned again from the cache instead of a new one (no cache if unset). */
  cacheWhileRemainingMs?: number
  /** Called with each new token before it is returned, so that the test Redis can start accepting it. */
  onIssue?: (token: AccessToken) => Promise<void>
}

type Failure = 'transient' | 'unavailable' | 'hang'

export class FakeEntraCredential implements TokenCredential {
  readonly oid = randomUUID()
  calls = 0
  issued: AccessToken[] = []
  readonly #options: FakeEntraOptions
  readonly #failures: Failure[] = []

  constructor (options: FakeEntraOptions) {
    this.#options = options
  }

  /** The next `count` calls fail in the given way. */
  failNext (count: number, failure: Failure = 'transient'): void {
    for (let i = 0; i < count; i++) this.#failures.push(failure)
  }

  async getToken (scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken | null> {
    this.calls++
    const failure = this.#failures.shift()
    if (failure === 'hang') return await new Promise<never>(() => {})
    if (failure === 'transient') {
      const err = new Error('the identity endpoint answered 503')
      throw Object.assign(err, { name: 'AuthenticationError', statusCode: 503 })
    }
    if (failure === 'unavailable') {
      throw Object.assign(new Error('no identity is configured here'), { name: 'CredentialUnavailableError' })
    }
    if (options?.abortSignal?.aborted === true) throw Object.assign(new Error('aborted'), { name: 'AbortError' })

    const cached = this.issued.at(-1)
    const keepFor = this.#options.cacheWhileRemainingMs
    if (cached !== undefined && keepFor !== undefined && cached.expiresOnTimestamp - Date.now() > keepFor) return cached

    const token = this.#mint([scopes].flat()[0] ?? '')
    await this.#options.onIssue?.(token)
    this.issued.push(token)
    return token
  }

  #mint (scope: string): AccessToken {
    const now = Date.now()
    // exp is in whole seconds; a new token always expires at least a second after the one before it.
    const previousExp = (this.issued.at(-1)?.expiresOnTimestamp ?? 0) / 1000
    const exp = Math.max(Math.ceil((now + this.#options.lifetimeMs) / 1000), previousExp + 1)
    const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url')
    const header = encode({ alg: 'RS256', typ: 'JWT', kid: 'fake-entra' })
    const claims = encode({
      aud: scope.replace(/\/\.default$/, ''),
      iss: 'https://sts.windows.net/00000000-0000-0000-0000-000000000000/',
      iat: Math.floor(now / 1000),
      nbf: Math.floor(now / 1000),
      exp,
      oid: this.oid,
      tid: '00000000-0000-0000-0000-000000000000',
      uti: randomBytes(8).toString('base64url')
    })
    return { token: `${header}.${claims}.${randomBytes(64).toString('base64url')}`, expiresOnTimestamp: exp * 1000 }
  }
}
