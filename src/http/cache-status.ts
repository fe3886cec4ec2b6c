// The response headers that say what the cache did (RFC 9211 Cache-Status, RFC 9111 Age) and where the lease of a
// missing or stale value stands (Cache-Lease, Cache-Lease-Token).
import type { FastifyReply } from 'fastify'
import type { CacheLookup, Lease } from '../store/cache-store.js'

const CACHE_NAME = 'cache-service'

/**
 * `hit; ttl=<seconds of freshness left>`, negative for an entry served stale (RFC 9211's way of saying so), with
 * `detail=stale` for readers that do not do the arithmetic, `detail=stale-if-error` for the near cache's copy
 * answered while Redis did not, or `detail=near-cache` for its fresh copy answered instead of asking Redis;
 * `fwd=miss` when there was nothing to serve.
 */
export function setCacheStatus (reply: FastifyReply,
  { entry, servedOnError, fromNearCache }: Pick<CacheLookup, 'entry' | 'servedOnError' | 'fromNearCache'>): void {
  if (entry === undefined) {
    reply.header('cache-status', `${CACHE_NAME}; fwd=miss`)
    return
  }
  const ttl = Math.floor(entry.ttlMs / 1000)
  const detail = servedOnError === true
    ? '; detail=stale-if-error'
    : fromNearCache === true ? '; detail=near-cache' : entry.ttlMs > 0 ? '' : '; detail=stale'
  reply.header('cache-status', `${CACHE_NAME}; hit; ttl=${ttl}${detail}`)
  if (entry.ageMs !== undefined) reply.header('age', Math.floor(entry.ageMs / 1000))
}

/**
 * Whole seconds an entry stays fresh, rounded down and never below 0: Cache-Control's max-age and a bulk read's
 * ttlSeconds, so that no caller believes an entry outlives its Redis key.
 */
export function freshSeconds (ttlMs: number): number {
  return Math.max(0, Math.floor(ttlMs / 1000))
}

/** `granted; ttl=<seconds>` with the token in Cache-Lease-Token, or `held; ttl=<seconds left>`. */
export function setLease (reply: FastifyReply, lease: Lease | undefined): void {
  if (lease === undefined) return
  reply.header('cache-lease', `${lease.state}; ttl=${Math.ceil(lease.ttlMs / 1000)}`)
  if (lease.state === 'granted') reply.header('cache-lease-token', lease.token)
}
