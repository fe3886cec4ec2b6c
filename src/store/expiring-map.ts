// A Map whose entries expire like Redis keys: invisible once their time is up, and swept in the background
// so that memory held by expired entries is given back even if nobody reads them again.

export class ExpiringMap<V> {
  readonly #entries = new Map<string, { value: V, expiresAt: number }>()
  readonly #sweeper: NodeJS.Timeout

  constructor (sweepIntervalMs = 1000) {
    this.#sweeper = setInterval(() => this.#sweep(), sweepIntervalMs)
    // The sweeper is housekeeping: it must never be what keeps the process alive.
    this.#sweeper.unref()
  }

  /** The live entry, with its expiry as an instant and as the time left, both from one reading of the clock. */
  get (key: string): { value: V, expiresAt: number, ttlMs: number } | undefined {
    const entry = this.#entries.get(key)
    if (entry === undefined) return undefined
    const ttlMs = entry.expiresAt - Date.now()
    if (ttlMs <= 0) {
      this.#entries.delete(key)
      return undefined
    }
    return { value: entry.value, expiresAt: entry.expiresAt, ttlMs }
  }

  set (key: string, value: V, ttlMs: number): void {
    this.setUntil(key, value, Date.now() + ttlMs)
  }

  /** Stores an entry that expires at this instant: what a caller computed is exactly what a later read reports. */
  setUntil (key: string, value: V, expiresAt: number): void {
    this.#entries.set(key, { value, expiresAt })
  }

  delete (key: string): boolean {
    return this.#entries.delete(key)
  }

  close (): void {
    clearInterval(this.#sweeper)
    this.#entries.clear()
  }

  #sweep (): void {
    const now = Date.now()
    for (const [key, entry] of this.#entries) {
      if (entry.expiresAt <= now) this.#entries.delete(key)
    }
  }
}
