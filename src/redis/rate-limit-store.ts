// The shared rate limit's store for @fastify/rate-limit: one counter per caller and window in Redis, as every replica
// sees it, from which each replica takes budgets of requests to admit locally, as Envoy's and Cloudflare's global
// limiters do, instead of a round trip per request.
//
// Accuracy: a replica admits only requests it has taken from the counter, and Redis numbers them, so the callers of
// all replicas together are never admitted more than the limit in a window. A budget ends with the window it was
// taken from (by this process's clock, started before the request was sent, so never later than Redis's window).
// The cost is the other way: a replica may refuse a caller while other replicas still hold budget for it, at most
// `budgetPercent` of the limit each; once they spend it, exactly the limit has been admitted.
//
// A budget starts at one request in each window and doubles with each grant up to that share, so a caller seen once
// costs one request of Redis, as without budgets, and a limit too small for a share (under 100 / budgetPercent) is
// counted request by request. Once the window is used up, a replica refuses locally until it ends.
//
// Failures: every call is bounded by the command timeout (callRedis). A request waiting for a budget whose call
// timed out gets the store's 503: it is never made to wait for a second call. One whose call failed at once (the
// connection refused or dropped) is admitted uncounted, and so is every request until a grant succeeds again: one
// grant at a time asks, every OUTAGE_MS, while the request that sent it is admitted at once. So while Redis does
// not answer, a read that allows stale-if-error is answered from
// the near cache, and any other request gets the route's own 503, each within one command timeout. A full Redis
// cannot count either, so what it refuses is admitted uncounted: reads, deletes and sliding expiry must go on.
import type { FastifyRateLimitOptions } from '@fastify/rate-limit'
import { callRedis } from '../store/redis-call.js'
import { defineScripts } from '../store/redis-commands.js'
import { StoreFullError } from '../store/types.js'
import type { RedisClient } from './connections.js'

type Counter = { current: number, ttl: number }

/** How long after a failed grant requests are admitted uncounted before one asks Redis again. */
const OUTAGE_MS = 1000
/** A grant that failed sooner than this did not wait for Redis: its requests may still make their own call. */
const FAST_FAILURE_MS = 100
type Callback = (err: Error | null, result?: Counter) => void

export interface RateLimitBudgets {
  /** The largest budget a replica takes at once, as a percentage of the limit; 0 takes one request at a time. */
  budgetPercent: number
  /** Callers (or addresses) whose budgets are held at once; past it the least recently granted is forgotten. */
  budgetKeys: number
}

/** One counter's window as this replica knows it. */
interface Window {
  /** Requests taken from Redis and not yet admitted. */
  left: number
  /** The counter as of the last request admitted here (what RateLimit-Remaining is computed from). */
  current: number
  /** Redis answered a count at or past the limit: once `left` is spent, the window refuses. */
  usedUp: boolean
  /** performance.now() at which the window ends; 0 before the first grant. */
  endsAt: number
  /** Requests the next grant asks for. */
  nextGrant: number
  /** Requests asked for by grants not yet answered. */
  inFlight: number
  /** Requests waiting for a grant in flight, first come first served. */
  waiting: Array<(result: Error | Counter) => void>
}

export class SharedBudgets {
  readonly #redis: RedisClient
  readonly #prefix: string
  readonly #settings: RateLimitBudgets
  readonly #windows: Map<string, Window>
  /**
   * Redis failed a grant: requests are admitted uncounted until one sent at or after `until` succeeds (`probing`
   * while it is out). Shared by every route's store.
   */
  readonly #outage: { until: number, probing: boolean }

  constructor (redis: RedisClient, prefix: string, settings: RateLimitBudgets, windows = new Map<string, Window>(),
    outage = { until: 0, probing: false }) {
    this.#redis = redis
    this.#prefix = prefix
    this.#settings = settings
    this.#windows = windows
    this.#outage = outage
    defineScripts(redis)
  }

  /** Counters whose windows this replica holds (bounded by budgetKeys). */
  get held (): number {
    return this.#windows.size
  }

  incr (key: string, callback: Callback, timeWindow: number, max: number): void {
    const counter = this.#prefix + key
    const now = performance.now()
    const window = this.#windowOf(counter, now)
    if (this.#outage.until !== 0) {
      // In an outage: the first request after OUTAGE_MS probes with a grant of its window, without waiting for it.
      if (now >= this.#outage.until && !this.#outage.probing) {
        this.#outage.probing = true
        this.#grant(counter, window, 1, timeWindow, max)
      }
      callback(null, { current: 0, ttl: timeWindow })
      return
    }
    if (window.left > 0 || window.usedUp) {
      callback(null, this.#admit(window, max, now))
      return
    }
    window.waiting.push((result) => {
      if (result instanceof Error) callback(result)
      else callback(null, result)
    })
    // A grant in flight has a request for each waiting request it covers; those past it ask for more.
    const uncovered = window.waiting.length - window.inFlight
    if (uncovered > 0) this.#grant(counter, window, Math.max(window.nextGrant, uncovered), timeWindow, max)
  }

  child (routeOptions: object): SharedBudgets {
    // Typed as route options, it is called with the limit's settings merged with them as `routeInfo`. Its counters
    // are named as @fastify/rate-limit's own store names them, so that both count the same during an upgrade.
    const { method, url } = (routeOptions as { routeInfo: { method?: string, url?: string } }).routeInfo
    return new SharedBudgets(this.#redis, `${this.#prefix}${method}${url}-`, this.#settings, this.#windows,
      this.#outage)
  }

  #windowOf (counter: string, now: number): Window {
    let window = this.#windows.get(counter)
    if (window === undefined) {
      if (this.#windows.size >= this.#settings.budgetKeys) this.#windows.delete(this.#windows.keys().next().value!)
      window = { left: 0, current: 0, usedUp: false, endsAt: 0, nextGrant: 1, inFlight: 0, waiting: [] }
      this.#windows.set(counter, window)
    } else if (window.endsAt !== 0 && window.endsAt <= now) {
      // The window ended: what was left of it is void. Grants in flight and the requests waiting for them stay.
      Object.assign(window, { left: 0, current: 0, usedUp: false, endsAt: 0, nextGrant: 1 })
      // Moved to the end, so that the counters forgotten first are those not seen for longest.
      this.#windows.delete(counter)
      this.#windows.set(counter, window)
    }
    return window
  }

  /** The answer for one request: admitted from the window's budget, or refused once the window is used up. */
  #admit (window: Window, max: number, now: number): Counter {
    const ttl = Math.max(0, Math.ceil(window.endsAt - now))
    if (window.left === 0) return { current: max + 1, ttl }
    window.left--
    // Other replicas' requests are counted in Redis; this one's are added to what Redis last said. Admitted is
    // never reported past the limit, which is what @fastify/rate-limit refuses on.
    window.current = Math.min(max, window.current + 1)
    return { current: window.current, ttl }
  }

  #grant (counter: string, window: Window, wanted: number, timeWindow: number, max: number): void {
    const largest = Math.max(1, Math.floor(max * this.#settings.budgetPercent / 100))
    const take = Math.min(wanted, largest)
    window.inFlight += take
    window.nextGrant = Math.min(largest, window.nextGrant * 2)
    const sentAt = performance.now()
    // Named 'rateLimit' in the command metrics, as the counter's call was before budgets.
    callRedis(this.#redis, 'rateLimit', this.#redis.rateLimitGrant(counter, take, timeWindow)).then(
      ([count, ttl]) => {
        window.inFlight -= take
        Object.assign(this.#outage, { until: 0, probing: false })
        const endsAt = sentAt + ttl
        // A grant from a new window (the previous one ended meanwhile) starts afresh; within one window, the earlier
        // end is kept, so that no request taken from a window is admitted after it.
        if (window.endsAt <= sentAt) {
          Object.assign(window, { left: 0, current: 0, usedUp: false, endsAt })
        } else {
          window.endsAt = Math.min(window.endsAt, endsAt)
        }
        const before = count - take
        window.left += Math.max(0, Math.min(take, max - before))
        window.current = Math.max(window.current, Math.min(before, max))
        if (count >= max) window.usedUp = true
        const now = performance.now()
        while (window.waiting.length > 0 && (window.left > 0 || window.usedUp)) {
          window.waiting.shift()!(this.#admit(window, max, now))
        }
      },
      (err: Error) => {
        window.inFlight -= take
        const now = performance.now()
        const uncounted = err instanceof StoreFullError || now - sentAt < FAST_FAILURE_MS
        if (!(err instanceof StoreFullError)) Object.assign(this.#outage, { until: now + OUTAGE_MS, probing: false })
        // The requests this grant was for get its outcome, at once.
        for (const answer of window.waiting.splice(0, take)) answer(uncounted ? { current: 0, ttl: timeWindow } : err)
      })
  }
}

/** The store class @fastify/rate-limit's `store` option takes: it constructs it with its own settings. */
export function sharedCountersIn (redis: RedisClient, nameSpace: string, budgets: RateLimitBudgets) {
  return class extends SharedBudgets {
    constructor (_options: FastifyRateLimitOptions) {
      super(redis, nameSpace, budgets)
    }
  }
}
