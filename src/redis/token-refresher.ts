// Keeps a Microsoft Entra ID access token for Redis fresh, for any @azure/identity TokenCredential.
// It knows nothing of HTTP or of Redis connections: each new token is handed to `apply`.
import type { AccessToken, TokenCredential } from '@azure/core-auth'
import { SpanStatusCode, type Span } from '@opentelemetry/api'
import type { FastifyBaseLogger } from 'fastify'
import { inSpan } from '../tracer.js'
import { cachedCopyRetryDelay, refreshDelay, retryDelay, type BackoffOptions } from './token-schedule.js'

export interface TokenRefresherOptions {
  credential: TokenCredential
  scope: string
  log: FastifyBaseLogger
  /** Puts a new token to use on every connection; awaited before the next refresh is planned. */
  apply: (token: AccessToken, previous: AccessToken) => Promise<void>
  /** Longest wait for one getToken call. */
  attemptTimeoutMs?: number
  /** Backoff between failed attempts; non-transient failures wait the longest delay. */
  backoff?: BackoffOptions
}

export interface TokenRefresherStatus {
  tokenExpiresAt: number | undefined
  refreshes: number
  refreshFailures: number
}

export class TokenRefresher {
  readonly #options: Required<TokenRefresherOptions>
  #current: AccessToken | undefined
  #timer: NodeJS.Timeout | undefined
  #inFlight: Promise<void> | undefined
  #consecutiveFailures = 0
  #stopped = false
  readonly #status: TokenRefresherStatus = {
    tokenExpiresAt: undefined,
    refreshes: 0,
    refreshFailures: 0
  }

  constructor (options: TokenRefresherOptions) {
    this.#options = { attemptTimeoutMs: 30_000, backoff: { baseDelayMs: 1000, maxDelayMs: 30_000 }, ...options }
  }

  /** Gets the first token and plans the next refresh; rejects with a clear error when none can be had. */
  async start (): Promise<AccessToken> {
    let token: AccessToken
    try {
      token = await this.#fetch()
    } catch (err) {
      throw new Error(`could not get a Microsoft Entra ID token for Redis (scope ${this.#options.scope}): ` +
        (err as Error).message, { cause: err })
    }
    this.#accept(token)
    return token
  }

  /** Refreshes now. One refresh runs at a time: a call while one is under way waits for that one. */
  async refresh (): Promise<void> {
    // A trace of its own, whatever request or timer started it: a person looking at failing refreshes finds each.
    this.#inFlight ??= inSpan('entra token refresh', { root: true }, async (span) => { await this.#refreshOnce(span) })
      .finally(() => { this.#inFlight = undefined })
    await this.#inFlight
  }

  /** True while the token in use has not expired. */
  hasValidToken (now = Date.now()): boolean {
    return this.#current !== undefined && this.#current.expiresOnTimestamp > now
  }

  status (): TokenRefresherStatus {
    return { ...this.#status }
  }

  /** Stops planning refreshes; a refresh under way finishes without applying its token. */
  stop (): void {
    this.#stopped = true
    clearTimeout(this.#timer)
  }

  async #refreshOnce (span: Span): Promise<void> {
    let token: AccessToken
    try {
      token = await this.#fetch()
    } catch (err) {
      this.#fail(span, err, 'redis token refresh failed')
      return
    }
    const previous = this.#current!
    if (this.#stopped) return
    if (token.expiresOnTimestamp <= previous.expiresOnTimestamp) {
      // Credentials cache tokens until shortly before expiry; this one is not new, so there is nothing to send.
      const delay = cachedCopyRetryDelay(previous, Date.now())
      this.#options.log.debug({ retryInMs: Math.round(delay) }, 'redis token: the credential returned its cached token')
      span.setAttribute('cache_service.token.outcome', 'cached')
      this.#plan(delay)
      return
    }
    try {
      await this.#options.apply(token, previous)
    } catch (err) {
      // A token that did not reach the connections is no refresh: counted, logged and retried like a failed fetch.
      this.#fail(span, err, 'redis token could not be applied')
      return
    }
    this.#accept(token)
    span.setAttributes({
      'cache_service.token.outcome': 'refreshed',
      'cache_service.token.expires_at': new Date(token.expiresOnTimestamp).toISOString()
    })
  }

  #accept (token: AccessToken): void {
    this.#current = token
    this.#consecutiveFailures = 0
    this.#status.tokenExpiresAt = token.expiresOnTimestamp
    this.#status.refreshes++
    this.#options.log.info({ expiresAt: new Date(token.expiresOnTimestamp).toISOString() }, 'redis token refreshed')
    this.#plan(refreshDelay(token, Date.now()))
  }

  #fail (span: Span, err: unknown, message: string): void {
    this.#consecutiveFailures++
    this.#status.refreshFailures++
    const transient = isTransientCredentialError(err)
    const { backoff } = this.#options
    const delay = transient ? retryDelay(this.#consecutiveFailures, backoff) : backoff.maxDelayMs
    const error = err instanceof Error ? { name: err.name, message: err.message } : { message: String(err) }
    const details = { err: error, attempt: this.#consecutiveFailures, transient, retryInMs: Math.round(delay) }
    // The span says what the log says, but the error's message: the credential's may quote its configuration.
    span.setStatus({ code: SpanStatusCode.ERROR })
    span.setAttributes({
      'cache_service.token.outcome': 'failed',
      'error.type': err instanceof Error ? err.name : 'Error',
      'cache_service.token.attempt': this.#consecutiveFailures,
      'cache_service.token.transient': transient
    })
    if (transient) this.#options.log.warn(details, message)
    else this.#options.log.error(details, `${message}, and will fail until the identity is fixed`)
    this.#plan(delay)
  }

  #plan (delayMs: number): void {
    clearTimeout(this.#timer)
    if (this.#stopped) return
    this.#timer = setTimeout(() => { this.refresh().catch(() => {}) }, delayMs)
    // A pending refresh must never be what keeps the process alive.
    this.#timer.unref()
  }

  async #fetch (): Promise<AccessToken> {
    const signal = AbortSignal.timeout(this.#options.attemptTimeoutMs)
    const timedOut = new Promise<never>((_resolve, reject) => {
      signal.addEventListener('abort', () => reject(new Error('the credential did not answer in time')), { once: true })
    })
    // The signal asks the credential to give up; the race makes sure we do, even if it does not listen.
    const { credential, scope } = this.#options
    const token = await Promise.race([credential.getToken(scope, { abortSignal: signal }), timedOut])
    if (token === null) throw new Error('the credential returned no token')
    return token
  }
}

/**
 * Whether trying again can help. An identity that is not configured (CredentialUnavailableError), or that the
 * identity platform refused (a 4xx other than 408 and 429), stays broken until someone fixes it; timeouts,
 * network failures, throttling and 5xx pass.
 */
export function isTransientCredentialError (err: unknown): boolean {
  if (!(err instanceof Error)) return true
  if (err.name === 'CredentialUnavailableError' || err.name === 'AuthenticationRequiredError') return false
  const status = (err as { statusCode?: unknown }).statusCode
  if (typeof status === 'number') return status === 408 || status === 429 || status >= 500
  return true
}
