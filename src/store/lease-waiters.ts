// Readers waiting for a key's lease to end (its value written, or the key deleted), held in this process: a waiter
// is a timer and a callback, so thousands of them cost nothing while idle and hold no Redis connection. The store
// calls notify() when it learns that a lease ended, from its own writes or from another replica's.

export interface LeaseWait {
  /** Resolves when the lease ends, when the wait's time is up, or when the service shuts down. */
  ended: Promise<void>
  /**
   * Resolves once the store hears of every lease that ends from now on. A replica's first wait opens its pub/sub
   * connection, and a write announced before that is subscribed would be missed: a read made after this cannot be.
   */
  listening: Promise<void>
  /** Stops waiting, and frees the timer, when the reader has its answer another way. */
  cancel (): void
}

export class LeaseWaiters {
  readonly #waiting = new Map<string, Set<() => void>>()
  #closed = false

  wait (key: string, ms: number): LeaseWait {
    if (this.#closed) return { ended: Promise.resolve(), listening: Promise.resolve(), cancel: () => {} }
    let finish!: () => void
    const ended = new Promise<void>((resolve) => {
      const timer = setTimeout(() => finish(), ms)
      finish = () => {
        clearTimeout(timer)
        const waiters = this.#waiting.get(key)
        waiters?.delete(finish)
        if (waiters?.size === 0) this.#waiting.delete(key)
        resolve()
      }
    })
    let waiters = this.#waiting.get(key)
    if (waiters === undefined) this.#waiting.set(key, waiters = new Set())
    waiters.add(finish)
    // Notified by the store itself, which needs nothing more to hear of a lease's end.
    return { ended, listening: Promise.resolve(), cancel: finish }
  }

  notify (key: string): void {
    for (const finish of [...this.#waiting.get(key) ?? []]) finish()
  }

  /** Ends every wait, now and from now on: shutdown must not be held up by readers waiting for values. */
  close (): void {
    this.#closed = true
    for (const waiters of [...this.#waiting.values()]) for (const finish of [...waiters]) finish()
  }

  /** How many readers wait, for tests and metrics. */
  get size (): number {
    let count = 0
    for (const waiters of this.#waiting.values()) count += waiters.size
    return count
  }
}
