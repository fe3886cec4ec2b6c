// A read that may wait: when another caller holds the lease on a missing value, wait (up to a bound) for that
// caller's write instead of computing the value again. Written once over the port, for every store.
import type { Span } from '@opentelemetry/api'
import { inSpan } from '../tracer.js'
import type { CacheLookup, CacheStore, ReadDirectives } from './cache-store.js'
import type { WaitOptions } from './lease-waiters.js'

export interface LeaseLookupOptions {
  /** Take a lease of this lifetime on a miss or stale entry when none is held. */
  lease?: { ttlMs: number } | undefined
  /** How long the caller is willing to wait for a held lease's value; 0 not at all. */
  waitMs: number
  /** The read's Cache-Control (see CacheStore.get). */
  directives?: ReadDirectives | undefined
  /** Who waits, and the signal that its client went away. */
  waiter: WaitOptions
}

export async function lookupWithLease (store: CacheStore, key: string,
  { lease, waitMs, waiter, directives }: LeaseLookupOptions): Promise<CacheLookup & { waited: boolean }> {
  const found = await store.get(key, lease, undefined, directives)
  if (!awaitsValue(found) || waitMs <= 0) return { ...found, waited: false }

  // Past a cap on waiters the reader is answered as if it had not asked to wait.
  const wait = store.waitForLease(key, Math.min(waitMs, found.lease!.ttlMs), waiter)
  if (wait === undefined) return { ...found, waited: false }
  // A span of its own: in a trace, the wait is most of such a request's time.
  return await inSpan('cache lease wait', { attributes: { 'cache_service.lease.wait_ms': waitMs } }, async (span) => {
    try {
      // A lease that ended between the first read and the start of the wait was announced to nobody: read again,
      // once the store listens (or the wait is over anyway), so that no end falls between this read and the
      // listening.
      await Promise.race([wait.listening, wait.ended])
      const again = await store.get(key, lease, undefined, directives)
      if (!awaitsValue(again)) return answered(span, again)
      await wait.ended
      // Whatever ended the wait (the value, a delete, the lease running out, the time), the answer is what is there
      // now; a lease that ran out unused may be granted to this caller.
      return answered(span, await store.get(key, lease, undefined, directives))
    } finally {
      wait.cancel()
    }
  })
}

/** A waited read's answer, and in its span whether the wait ended with a value. */
function answered (span: Span, found: CacheLookup): CacheLookup & { waited: boolean } {
  span.setAttribute('cache_service.lease.outcome', found.entry !== undefined ? 'value' : found.lease?.state ?? 'none')
  return { ...found, waited: true }
}

/** A miss while somebody else computes the value. */
function awaitsValue ({ entry, lease }: CacheLookup): boolean {
  return entry === undefined && lease?.state === 'held'
}
