// @fastify/rate-limit's Redis store, its calls made through callRedis: bounded by the command timeout as a whole,
// and failing with the store's own errors (503 with Retry-After). A request whose counter Redis cannot update is
// answered at once: going on would make it wait a second timeout on the same Redis (one request, one deadline),
// and skipping the limit would let an outage lift it.
import type { FastifyRateLimitOptions } from '@fastify/rate-limit'
import RedisStore from '@fastify/rate-limit/store/RedisStore.js'
import { callRedis } from '../store/redis-call.js'
import type { RedisClient } from './connections.js'

type Counter = { current: number, ttl: number }
type Callback = (err: Error | null, result?: Counter) => void

interface RateLimitStore {
  incr (key: string, callback: Callback, timeWindow: number, max: number): void
  read (key: string, callback: Callback, timeWindow: number, max: number): void
  child (routeOptions: object): RateLimitStore
}

class SharedCounters implements RateLimitStore {
  readonly #inner: RateLimitStore
  readonly #redis: RedisClient

  constructor (inner: RateLimitStore, redis: RedisClient) {
    this.#inner = inner
    this.#redis = redis
  }

  incr (key: string, callback: Callback, timeWindow: number, max: number): void {
    this.#call('rateLimit', callback, (done) => { this.#inner.incr(key, done, timeWindow, max) })
  }

  read (key: string, callback: Callback, timeWindow: number, max: number): void {
    this.#call('rateLimitRead', callback, (done) => { this.#inner.read(key, done, timeWindow, max) })
  }

  child (routeOptions: object): RateLimitStore {
    return new SharedCounters(this.#inner.child(routeOptions), this.#redis)
  }

  #call (command: string, callback: Callback, send: (done: Callback) => void): void {
    const reply = new Promise<Counter>((resolve, reject) => {
      send((err, result) => { if (err === null) resolve(result!); else reject(err) })
    })
    callRedis(this.#redis, command, reply).then((result) => { callback(null, result) }, callback)
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
