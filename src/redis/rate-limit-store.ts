// @fastify/rate-limit's Redis store, with its failures turned into the store's own (503 with Retry-After). A
// request whose counter Redis cannot update is answered at once: going on would make it wait a second command
// timeout on the same Redis (one request, one deadline), and skipping the limit would let an outage lift it.
import type { FastifyRateLimitOptions } from '@fastify/rate-limit'
import RedisStore from '@fastify/rate-limit/store/RedisStore.js'
import { storeErrorOf } from '../store/redis-call.js'
import type { RedisClient } from './connections.js'

type Callback = (err: Error | null, result?: { current: number, ttl: number }) => void

interface RateLimitStore {
  incr (key: string, callback: Callback, timeWindow: number, max: number): void
  read (key: string, callback: Callback, timeWindow: number, max: number): void
  child (routeOptions: object): RateLimitStore
}

class SharedCounters implements RateLimitStore {
  readonly #inner: RateLimitStore

  constructor (inner: RateLimitStore) {
    this.#inner = inner
  }

  incr (key: string, callback: Callback, timeWindow: number, max: number): void {
    this.#inner.incr(key, mapped(callback), timeWindow, max)
  }

  read (key: string, callback: Callback, timeWindow: number, max: number): void {
    this.#inner.read(key, mapped(callback), timeWindow, max)
  }

  child (routeOptions: object): RateLimitStore {
    return new SharedCounters(this.#inner.child(routeOptions))
  }
}

function mapped (callback: Callback): Callback {
  return (err, result) => { callback(err === null ? null : storeErrorOf(err), result ?? undefined) }
}

/** The store class @fastify/rate-limit's `store` option takes: it constructs it with its own settings. */
export function sharedCountersIn (redis: RedisClient, nameSpace: string) {
  return class extends SharedCounters {
    constructor ({ continueExceeding = false, exponentialBackoff = false }:
    FastifyRateLimitOptions & { continueExceeding?: boolean, exponentialBackoff?: boolean }) {
      super(new RedisStore(continueExceeding, exponentialBackoff, redis, nameSpace))
    }
  }
}
