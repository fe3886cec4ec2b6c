// The issuer's signing keys (its JWKS, found through OIDC discovery), held in memory and kept current: fetched at
// startup, refreshed in the background, and fetched again, at a bounded rate, when a token names a key not held.
import { createPublicKey, type JsonWebKey } from 'node:crypto'
import type { FastifyBaseLogger } from 'fastify'

export interface JwksKeySetOptions {
  issuer: string
  log: FastifyBaseLogger
  /** Background refresh period, so that a rotation's new key is held before the first token uses it. */
  refreshIntervalMs?: number
  /** At most one fetch per this long, whatever tokens arrive: the identity provider is protected from floods. */
  minFetchIntervalMs?: number
  /** Longest wait for the discovery document or the JWKS. */
  fetchTimeoutMs?: number
}

interface HeldKey { pem: string, kty: string, crv: string | undefined }

/** Which key types can verify which algorithm: a key is never used with an algorithm it was not made for. */
const FITS: Record<string, (key: HeldKey) => boolean> = {
  RS256: (key) => key.kty === 'RSA',
  ES256: (key) => key.kty === 'EC' && key.crv === 'P-256'
}

export class JwksKeySet {
  readonly #options: Required<JwksKeySetOptions>
  #keys = new Map<string, HeldKey>()
  #lastFetchAt = -Infinity
  #pending: Promise<void> | undefined
  #timer: NodeJS.Timeout | undefined

  constructor (options: JwksKeySetOptions) {
    this.#options = { refreshIntervalMs: 5 * 60_000, minFetchIntervalMs: 2000, fetchTimeoutMs: 5000, ...options }
  }

  /** Fetches the keys and starts the background refresh. Never rejects: a failure is logged and retried later. */
  async start (): Promise<void> {
    await this.#fetchSoon()
    this.#timer = setInterval(() => { this.#fetchSoon().catch(() => {}) }, this.#options.refreshIntervalMs)
    this.#timer.unref()
  }

  stop (): void {
    clearInterval(this.#timer)
  }

  /**
   * The PEM of the key a token names. A kid not held waits for the next permitted fetch (at most
   * minFetchIntervalMs away, shared by every token waiting), so that a flood of made-up kids costs one fetch per
   * interval while a genuinely new key is still found: no token can make another one fail.
   */
  async key (alg: string, kid: string | undefined): Promise<string> {
    const fits = FITS[alg]
    if (fits === undefined) throw new Error('the token algorithm is not allowed')
    if (kid === undefined) throw new Error('the token names no signing key (kid)')
    if (!this.#keys.has(kid)) await this.#fetchSoon()
    const key = this.#keys.get(kid)
    if (key === undefined) throw new Error('the token names an unknown signing key')
    if (!fits(key)) throw new Error('the signing key does not fit the token algorithm')
    return key.pem
  }

  /** One fetch at a time, and none sooner than minFetchIntervalMs after the last one began. */
  #fetchSoon (): Promise<void> {
    this.#pending ??= (async () => {
      const wait = this.#lastFetchAt + this.#options.minFetchIntervalMs - Date.now()
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait).unref())
      this.#lastFetchAt = Date.now()
      try {
        this.#keys = await this.#fetchKeys()
      } catch (err) {
        // The keys held so far stay in use: an identity provider that is briefly unreachable locks nobody out.
        this.#options.log.warn({ err: { message: (err as Error).message } }, 'could not fetch the JWKS')
      }
    })().finally(() => { this.#pending = undefined })
    return this.#pending
  }

  async #fetchKeys (): Promise<Map<string, HeldKey>> {
    const discovery = await this.#getJson(`${this.#options.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`)
    const jwksUri = (discovery as { jwks_uri?: unknown }).jwks_uri
    if (typeof jwksUri !== 'string') throw new Error('the discovery document names no jwks_uri')
    const { keys } = await this.#getJson(jwksUri) as { keys?: unknown }
    if (!Array.isArray(keys)) throw new Error('the JWKS holds no keys array')
    const held = new Map<string, HeldKey>()
    for (const jwk of keys as JsonWebKey[]) {
      if (typeof jwk.kid !== 'string' || (jwk.use !== undefined && jwk.use !== 'sig')) continue
      try {
        const pem = createPublicKey({ key: jwk, format: 'jwk' }).export({ type: 'spki', format: 'pem' }) as string
        held.set(jwk.kid, { pem, kty: String(jwk.kty), crv: jwk.crv })
      } catch {
        // A key this runtime cannot read (another key type) verifies nothing here; the others still do.
      }
    }
    // Replacing the keys held with none would lock every caller out until the next fetch: keep them instead.
    if (held.size === 0) throw new Error('the JWKS holds no usable signing key; keeping the keys held')
    return held
  }

  async #getJson (url: string): Promise<unknown> {
    const response = await fetch(url, { signal: AbortSignal.timeout(this.#options.fetchTimeoutMs) })
    if (!response.ok) throw new Error(`${url} answered ${response.status}`)
    return await response.json()
  }
}
