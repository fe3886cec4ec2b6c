// zod schemas of the lease and stale-while-revalidate headers of /cache/:key: Cache-Lease and Prefer on GET,
// Cache-Lease-Token and ?stale= on PUT. The lease bounds are configuration, so the schemas are made per app.
import toRegexRange from 'to-regex-range'
import { z } from 'zod'
import type { ReadDirectives } from '../store/cache-store.js'

/** `word` in any case, as a pattern JSON Schema can state (it has no flags). */
function caseless (word: string): string {
  return [...word].map((letter) => `[${letter.toLowerCase()}${letter.toUpperCase()}]`).join('')
}

/** `Cache-Lease: acquire`, or `acquire; ttl=<seconds>` up to the configured cap. */
export function cacheLeaseRequestSchema (defaultTtlSeconds: number, maxTtlSeconds: number) {
  const request = new RegExp(`^[ \\t]*${caseless('acquire')}[ \\t]*` +
    `(?:;[ \\t]*${caseless('ttl')}=(?:${toRegexRange(1, maxTtlSeconds)})[ \\t]*)?$`)
  return z.string()
    .regex(request, { error: `must be acquire, or acquire; ttl=<seconds> with at most ${maxTtlSeconds} seconds` })
    .transform((value) => Number(/ttl=(\d+)/i.exec(value)?.[1] ?? defaultTtlSeconds))
    .describe('On a miss or a stale entry, ask for the lease that makes this caller the one to compute the value ' +
      `(for ttl seconds, ${defaultTtlSeconds} by default, at most ${maxTtlSeconds}); the answer's Cache-Lease says ` +
      'whether it was granted. Only a caller with the cache:write scope is granted one; any other is answered as ' +
      'if it had not asked (no Cache-Lease-Token; Cache-Lease: held when another caller holds it), and may still ' +
      'wait with Prefer')
}

/**
 * RFC 7240 `Prefer: wait=<seconds>`, among other preferences: the seconds, or undefined. A preference the service
 * does not understand is ignored, as the RFC asks, never refused.
 */
export const PreferSchema = z.string()
  .transform((value) => {
    const wait = /(?:^|,)\s*wait\s*=\s*"?(\d{1,6})"?\s*(?:;[^,]*)?(?:,|$)/i.exec(value)?.[1]
    return wait === undefined ? undefined : Number(wait)
  })
  .describe('`wait=<seconds>`: on a miss while another caller holds the lease, wait up to this long ' +
    '(and no longer than the lease) for its value instead of answering 404 at once. Waiters are capped per ' +
    'replica and per caller (CACHE_LEASE_MAX_WAITERS, CACHE_LEASE_MAX_WAITERS_PER_CALLER): past a cap the read ' +
    'is answered at once, without Preference-Applied, as if it had not asked to wait')

export const CacheLeaseTokenSchema = z.string()
  .regex(/^[A-Za-z0-9_-]{22}$/, { error: 'must be a lease token as GET gave it' })
  .describe('The token of the lease this value was computed under: it is stored only while that lease is current')

/**
 * A read's `Cache-Control`, of which the service acts on `stale-if-error=<seconds>` (RFC 5861), capped at
 * `maxSeconds`, and `no-cache` (RFC 9111). Other directives, and a stale-if-error it cannot read, are ignored, as
 * RFC 9111 asks of a cache.
 */
export function cacheControlRequestSchema (maxSeconds: number) {
  return z.string()
    .transform((value): ReadDirectives => {
      const seconds = /(?:^|,)[ \t]*stale-if-error[ \t]*=[ \t]*"?(\d{1,9})"?[ \t]*(?:,|$)/i.exec(value)?.[1]
      return {
        ...(seconds !== undefined && { staleIfErrorMs: Math.min(Number(seconds), maxSeconds) * 1000 }),
        ...(/(?:^|,)[ \t]*no-cache[ \t]*(?:,|$)/i.test(value) && { noCache: true })
      }
    })
    .describe('`stale-if-error=<seconds>` (RFC 5861): should Redis not answer (down, hung past its command timeout, ' +
      'failing over), answer with the last copy of the entry this replica read, if it has been stale for no longer ' +
      'than that: 200, marked stale (`Cache-Status: ...; detail=stale-if-error`, ' +
      `\`Age\`, \`max-age=0\`). At most ${maxSeconds} seconds (STALE_IF_ERROR_MAX_SECONDS) are honoured; a copy ` +
      'counts as stale from its TTL\'s end, or from the last moment the replica is sure it heard of every change, ' +
      'whichever is first. Without it, the entry\'s own (?stale-if-error= on its PUT) applies; 0 refuses any. ' +
      '`no-cache`: Redis is asked, never the replica\'s fresh copy (NEAR_CACHE_FRESH_READS). ' +
      'Other directives are ignored')
}
