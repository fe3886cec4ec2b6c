// Redis's clock, read without asking Redis on every request. The scripts judge freshness against Redis's TIME, so
// that every replica agrees on "now" whatever its own clock says; a plain read (store/redis-cache-store.ts) judges it
// with this instead: the offset of Redis's TIME from this process's monotonic clock, sampled when a read needs it and
// the last sample is over a second old.
//
// Accuracy: Redis read its clock at some moment between sending TIME and reading the reply. Counting from the moment
// it was sent puts this reading ahead of Redis's clock, never behind it, by at most that round trip (a sample slower
// than MAX_ROUND_TRIP_MS is not taken): an entry may be judged stale that much early, never fresh late, and a lease
// is never said to have more time left than Redis gives it. Between samples the two clocks drift apart by
// microseconds, and an offset older than TRUSTED_FOR_MS (the host's clock may have been stepped meanwhile, or Redis
// failed over to a host whose clock differs) is not used: the read goes to the script. Entries' lifetimes are whole
// seconds, so an error of a few milliseconds moves no answer that a caller could rely on.
import { callRedis } from '../store/redis-call.js'
import type { RedisClient } from './connections.js'

const RESAMPLE_AFTER_MS = 1000
const TRUSTED_FOR_MS = 10_000
const MAX_ROUND_TRIP_MS = 100
/** Samples asked for at once while none is trusted, when each comes back too slow to be taken. */
const SLOW_SAMPLES_IN_A_ROW = 3

export class RedisClock {
  readonly #redis: RedisClient
  #offsetMs = 0
  #sampledAt = -Infinity
  #sampling = false

  constructor (redis: RedisClient) {
    this.#redis = redis
    this.#sample()
  }

  /** Redis's time in milliseconds, or undefined while no recent sample exists (one is then on its way). */
  now (): number | undefined {
    const local = performance.now()
    if (local - this.#sampledAt > RESAMPLE_AFTER_MS) this.#sample()
    return local - this.#sampledAt <= TRUSTED_FOR_MS ? local + this.#offsetMs : undefined
  }

  #sample (): void {
    if (this.#sampling) return
    this.#sampling = true
    this.#takeSample().catch(() => {
      // Redis did not answer: the next read asks again, and meanwhile reads go to the script (or fail as it does).
    }).finally(() => { this.#sampling = false })
  }

  async #takeSample (): Promise<void> {
    for (let tries = 1; tries <= SLOW_SAMPLES_IN_A_ROW; tries++) {
      const sent = performance.now()
      const [seconds, micros] = await callRedis(this.#redis, 'time', this.#redis.time())
      const received = performance.now()
      if (received - sent <= MAX_ROUND_TRIP_MS) {
        this.#offsetMs = Number(seconds) * 1000 + Number(micros) / 1000 - sent
        this.#sampledAt = received
        return
      }
      // Too slow to be taken. With a trusted reading in hand, the next read asks again; without one, ask again at
      // once: the first TIME is sent as the connection opens, and waits for it (hundreds of milliseconds on a busy
      // host), which would leave every read to the script until a read came a second later.
      if (received - this.#sampledAt <= TRUSTED_FOR_MS) return
    }
  }
}
