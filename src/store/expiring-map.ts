// A Map whose entries expire like Redis keys: invisible once their time is up, and swept in the background
// so that memory held by expired entries is given back even if nobody reads them again.

export interface ExpiringMapOptions<V> {
  sweepIntervalMs?: number
  /**
   * Called whenever an entry leaves the map, whichever way: deleted, replaced by a new value, or expired (when read
   * or swept). What indexes the entries elsewhere (the memory cache store's tags) stays exact through it.
   */
  onRemoved?: (key: string, value: V) => void
}

export class ExpiringMap<V> {
  readonly #entries = new Map<string, { value: V, expiresAt: number }>()
  readonly #sweeper: NodeJS.Timeout
  readonly #onRemoved: ((key: string, value: V) => void) | undefined

  constructor ({ sweepIntervalMs = 1000, onRemoved }: ExpiringMapOptions<V> = {}) {
    this.#onRemoved = onRemoved
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
      this.delete(key)
      return undefined
    }
    return { value: entry.value, expiresAt: entry.expiresAt, ttlMs }
  }

  set (key: string, value: V, ttlMs: number): void {
    this.setUntil(key, value, Date.now() + ttlMs)
  }

  /** Stores an entry that expires at this instant: what a caller computed is exactly what a later read reports. */
  setUntil (key: string, value: V, expiresAt: number): void {
    const previous = this.#entries.get(key)
    this.#entries.set(key, { value, expiresAt })
    if (previous !== undefined) this.#onRemoved?.(key, previous.value)
  }

  /** Moves a live entry's expiry to this instant, keeping its value (no onRemoved: nothing left). */
  expireAt (key: string, expiresAt: number): void {
    const entry = this.#entries.get(key)
    if (entry !== undefined) entry.expiresAt = expiresAt
  }

  delete (key: string): boolean {
    const entry = this.#entries.get(key)
    if (entry === undefined) return false
    this.#entries.delete(key)
    this.#onRemoved?.(key, entry.value)
    return true
  }

  close (): void {
    clearInterval(this.#sweeper)
    this.#entries.clear()
  }

  #sweep (): void {
    const now = Date.now()
    for (const [key, entry] of this.#entries) {
      if (entry.expiresAt <= now) this.delete(key)
    }
  }
}
