// @fastify/rate-limit's Redis store, its calls made through callRedis: bounded by the command timeout as a whole,
// and failing with the store's own errors (503 with Retry-After). A request whose counter Redis does not answer is
// answered at once: going on would make it wait a second timeout on the same Redis (one request, one deadline),
// and skipping the limit would let an outage lift it. A full Redis is the exception: it answers, but cannot count.
import { createRequire } from 'node:module'
import type { FastifyRateLimitOptions } from '@fastify/rate-limit'
import { callRedis } from '../store/redis-call.js'
import { StoreFullError } from '../store/types.js'
import type { RedisClient } from './connections.js'

type Counter = { current: number, ttl: number }
type Callback = (err: Error | null, result?: Counter) => void

interface RateLimitStore {
  incr (key: string, callback: Callback, timeWindow: number, max: number): void
  read (key: string, callback: Callback, timeWindow: number, max: number): void
  child (routeOptions: object): RateLimitStore
}

// The package exports its Redis store's module but no types for it: typed here, by what this file uses of it.
const RedisStore = createRequire(import.meta.url)('@fastify/rate-limit/store/RedisStore.js') as new (
  continueExceeding: boolean, exponentialBackoff: boolean, redis: RedisClient, key: string) => RateLimitStore

class SharedCounters implements RateLimitStore {
  readonly #inner: RateLimitStore
  readonly #redis: RedisClient

  constructor (inner: RateLimitStore, redis: RedisClient) {
    this.#inner = inner
    this.#redis = redis
  }

  incr (key: string, callback: Callback, timeWindow: number, max: number): void {
    this.#call('rateLimit', callback, (done) => { this.#inner.incr(key, done, timeWindow, max) }, timeWindow)
  }

  read (key: string, callback: Callback, timeWindow: number, max: number): void {
    this.#call('rateLimitRead', callback, (done) => { this.#inner.read(key, done, timeWindow, max) }, timeWindow)
  }

  child (routeOptions: object): RateLimitStore {
    return new SharedCounters(this.#inner.child(routeOptions), this.#redis)
  }

  #call (command: string, callback: Callback, send: (done: Callback) => void, timeWindow: number): void {
    const reply = new Promise<Counter>((resolve, reject) => {
      send((err, result) => { if (err === null) resolve(result!); else reject(err) })
    })
    callRedis(this.#redis, command, reply).then((result) => { callback(null, result) }, (err: Error) => {
      // A full Redis cannot count, yet reads, deletes and sliding expiry must go on: nothing is counted until it has
      // room. One that does not answer fails the request.
      if (err instanceof StoreFullError) callback(null, { current: 0, ttl: timeWindow })
      else callback(err)
    })
  }
}

/** The store class @fastify/rate-limit's `store` option takes: it constructs it with its own settings. */
export function sharedCountersIn (redis: RedisClient, nameSpace: string) {
  return class extends SharedCounters {
    constructor ({ continueExceeding = false, exponentialBackoff = false }:
    FastifyRateLimitOptions & { continueExceeding?: boolean, exponentialBackoff?: boolean }) {
      super(new RedisStore(continueExceeding, exponentialBackoff, redis, nameSpace), redis)
    }
  }
}
