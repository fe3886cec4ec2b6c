// Limits failed authentication per client address, so that guessing credentials (and making the service verify
// forged JWTs) is bounded. Failures are counted in the rate limit's store (Redis: shared by every replica); an
// address over the limit is remembered locally, so refusing it costs no round trip and no verification.
import type { FastifyRequest } from 'fastify'

/** @fastify/rate-limit's `createRateLimit` checker: counts one hit for the request's key. */
export type RateLimitCheck = (request: FastifyRequest) =>
Promise<{ isAllowed: true } | { isAllowed: false, isExceeded: boolean, ttl: number }>

/** Addresses held locally at most; past it the oldest is forgotten (it is still counted in the shared store). */
const MAX_BLOCKED_ADDRESSES = 10_000

export class AuthFailureLimit {
  readonly #count: RateLimitCheck
  readonly #blockedUntil = new Map<string, number>()

  constructor (count: RateLimitCheck) {
    this.#count = count
  }

  /** Milliseconds until the address may try again, or 0 when it may try now. */
  blockedFor (address: string, now = Date.now()): number {
    const until = this.#blockedUntil.get(address)
    if (until === undefined) return 0
    if (until > now) return until - now
    this.#blockedUntil.delete(address)
    return 0
  }

  /** Counts a failure; returns how long the address is now blocked for (0 while it is under the limit). */
  async recordFailure (request: FastifyRequest): Promise<number> {
    const result = await this.#count(request)
    // A store failure rejects with the store's own error (503): an outage locks nobody out, and lets nobody guess.
    if (result.isAllowed || !result.isExceeded) return 0
    const ttl = Math.max(result.ttl, 1000)
    if (this.#blockedUntil.size >= MAX_BLOCKED_ADDRESSES) {
      this.#blockedUntil.delete(this.#blockedUntil.keys().next().value!)
    }
    this.#blockedUntil.set(request.ip, Date.now() + ttl)
    return ttl
  }
}
