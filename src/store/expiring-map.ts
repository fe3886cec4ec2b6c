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

  get (key: string): { value: V, ttlMs: number } | undefined {
    const entry = this.#entries.get(key)
    if (entry === undefined) return undefined
    const ttlMs = entry.expiresAt - Date.now()
    if (ttlMs <= 0) {
      this.#entries.delete(key)
      return undefined
    }
    return { value: entry.value, ttlMs }
  }

  set (key: string, value: V, ttlMs: number): void {
    this.#entries.set(key, { value, expiresAt: Date.now() + ttlMs })
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
