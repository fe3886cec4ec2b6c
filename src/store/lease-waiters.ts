// Readers waiting for a key's lease to end (its value written, or the key deleted), held in this process: a waiter
// is a timer and a callback, and holds no Redis connection. The store calls notify() when it learns that a lease
// ended, from its own writes or from another replica's. What one caller, or all of them, can hold here is bounded:
// a wait ends as soon as its client goes away, waiters are capped per process and per caller, and when the backend
// stops answering every waiter is answered at once rather than at its bound.

export interface LeaseWait {
  /**
   * Resolves when the lease ends, when the wait's time is up, when the client went away, or when the service shuts
   * down; rejects with the backend's failure when it stops answering.
   */
  ended: Promise<void>
  /**
   * Resolves once the store hears of every lease that ends from now on. A replica's first wait opens its pub/sub
   * connection, and a write announced before that is subscribed would be missed: a read made after this cannot be.
   */
  listening: Promise<void>
  /** Stops waiting, and frees the timer, when the reader has its answer another way. */
  cancel (): void
}

export interface WaitOptions {
  /** Who waits: the per-caller cap counts by it. */
  caller: string
  /** Aborted when the client goes away: the wait ends then. */
  signal?: AbortSignal | undefined
}

export interface LeaseWaitersOptions {
  /** Waiters this process holds at most; past it a reader is answered as if it had not asked to wait. */
  maxWaiters: number
  /** Waiters one caller holds at most, within maxWaiters. */
  maxPerCaller: number
  /**
   * Asked every healthIntervalMs while anybody waits: a rejection (the backend down or hung past its command
   * timeout) ends every wait with that failure.
   */
  health?: (() => Promise<void>) | undefined
  healthIntervalMs?: number
}

interface Waiter {
  caller: string
  finish: (failure?: Error) => void
}

export class LeaseWaiters {
  readonly #waiting = new Map<string, Set<Waiter>>()
  readonly #perCaller = new Map<string, number>()
  readonly #options: LeaseWaitersOptions
  #size = 0
  #closed = false
  #watchdog: NodeJS.Timeout | undefined
  #checking = false

  constructor (options: LeaseWaitersOptions) {
    this.#options = options
  }

  /** Starts a wait of at most `ms`; undefined when a cap is reached, or the client has already gone. */
  wait (key: string, ms: number, { caller, signal }: WaitOptions): LeaseWait | undefined {
    if (this.#closed) return { ended: Promise.resolve(), listening: Promise.resolve(), cancel: () => {} }
    const callerCount = this.#perCaller.get(caller) ?? 0
    if (this.#size >= this.#options.maxWaiters || callerCount >= this.#options.maxPerCaller) return undefined
    if (signal?.aborted === true) return undefined

    let waiter!: Waiter
    const ended = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => waiter.finish(), ms)
      const onAbort = () => waiter.finish()
      signal?.addEventListener('abort', onAbort, { once: true })
      waiter = {
        caller,
        finish: (failure) => {
          if (!this.#remove(key, waiter)) return
          clearTimeout(timer)
          signal?.removeEventListener('abort', onAbort)
          if (failure === undefined) resolve()
          else reject(failure)
        }
      }
    })
    this.#add(key, waiter)
    // Notified by the store itself, which needs nothing more to hear of a lease's end.
    return { ended, listening: Promise.resolve(), cancel: () => waiter.finish() }
  }

  notify (key: string): void {
    for (const waiter of [...this.#waiting.get(key) ?? []]) waiter.finish()
  }

  /** Ends every wait with this failure: the backend stopped answering, so no value will come in time. */
  fail (failure: Error): void {
    for (const waiters of [...this.#waiting.values()]) for (const waiter of [...waiters]) waiter.finish(failure)
  }

  /** Ends every wait, now and from now on: shutdown must not be held up by readers waiting for values. */
  close (): void {
    this.#closed = true
    for (const waiters of [...this.#waiting.values()]) for (const waiter of [...waiters]) waiter.finish()
  }

  /** How many readers wait, for tests and metrics. */
  get size (): number {
    return this.#size
  }

  #add (key: string, waiter: Waiter): void {
    let waiters = this.#waiting.get(key)
    if (waiters === undefined) this.#waiting.set(key, waiters = new Set())
    waiters.add(waiter)
    this.#perCaller.set(waiter.caller, (this.#perCaller.get(waiter.caller) ?? 0) + 1)
    if (this.#size++ === 0) this.#watch()
  }

  /** false when the waiter had already finished. */
  #remove (key: string, waiter: Waiter): boolean {
    const waiters = this.#waiting.get(key)
    if (waiters?.delete(waiter) !== true) return false
    if (waiters.size === 0) this.#waiting.delete(key)
    const count = this.#perCaller.get(waiter.caller)! - 1
    if (count === 0) this.#perCaller.delete(waiter.caller)
    else this.#perCaller.set(waiter.caller, count)
    if (--this.#size === 0) this.#unwatch()
    return true
  }

  /** While anybody waits, asks the backend's health; one check at a time, and no timer while nobody waits. */
  #watch (): void {
    const { health, healthIntervalMs = 100 } = this.#options
    if (health === undefined) return
    this.#watchdog = setInterval(() => {
      if (this.#checking) return
      this.#checking = true
      health().then(() => { this.#checking = false }, (err: Error) => {
        this.#checking = false
        this.fail(err)
      })
    }, healthIntervalMs)
    this.#watchdog.unref()
  }

  #unwatch (): void {
    clearInterval(this.#watchdog)
    this.#watchdog = undefined
  }
}
