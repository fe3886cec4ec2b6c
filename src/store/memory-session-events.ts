// The embedded store's log of session ends: per namespace, the newest maxEvents, numbered as a Redis stream numbers
// its entries, so that a cursor means the same on either store.
import {
  isEventBefore, nextEventCursor, type SessionEnd, type SessionEvent, type SessionEventOptions,
  type SessionEventPage
} from './session-store.js'

interface Log {
  events: SessionEvent[]
  /** The id of the newest event dropped to keep the bound, if any was. */
  dropped: string | undefined
}

export class MemorySessionEvents {
  readonly #logs = new Map<string, Log>()
  readonly #options: SessionEventOptions
  #lastMs = 0
  #sequence = 0

  constructor (options: SessionEventOptions) {
    this.#options = options
  }

  record (end: SessionEnd): void {
    const namespace = this.#options.namespaceOf(end.subject)
    let log = this.#logs.get(namespace)
    if (log === undefined) this.#logs.set(namespace, log = { events: [], dropped: undefined })
    // As XADD does: the clock's millisecond, or the last one's if the clock went back, and a sequence within it.
    const now = Math.max(Date.now(), this.#lastMs)
    this.#sequence = now === this.#lastMs ? this.#sequence + 1 : 0
    this.#lastMs = now
    log.events.push({ ...end, id: `${now}-${this.#sequence}`, at: now })
    if (log.events.length > this.#options.maxEvents) {
      log.dropped = log.events.splice(0, log.events.length - this.#options.maxEvents).at(-1)!.id
    }
  }

  read (namespace: string, { after, limit }: { after?: string | undefined, limit: number }): SessionEventPage {
    const log = this.#logs.get(namespace)
    const events = log?.events ?? []
    // The first event after the cursor, by bisection: ids grow along the log.
    let low = 0
    let high = after === undefined ? 0 : events.length
    while (low < high) {
      const middle = (low + high) >>> 1
      if (isEventBefore(after!, events[middle]!.id)) high = middle
      else low = middle + 1
    }
    const page = events.slice(low, low + limit)
    return {
      events: page,
      cursor: nextEventCursor(page, after),
      missed: after !== undefined && log?.dropped !== undefined && isEventBefore(after, log.dropped)
    }
  }
}
