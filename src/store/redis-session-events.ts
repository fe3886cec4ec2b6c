// The Redis adapter's log of session ends: a stream per namespace, trimmed to the newest SESSION_EVENTS_MAX (in
// batches of 1 %), beside the id of the newest event it dropped (lua/session-events-add.lua). Each log is one key in
// one slot, whatever the slots of the sessions it tells of: the steps that end sessions record them after, so an
// event is told at most once, and not at all if the replica dies between the two.
import type { Cluster, Redis } from 'ioredis'
import { callRedis } from './redis-call.js'
import {
  nextEventCursor, type SessionEnd, type SessionEndReason, type SessionEvent, type SessionEventOptions,
  type SessionEventPage
} from './session-store.js'

export class RedisSessionEvents {
  readonly #redis: Redis | Cluster
  readonly #prefix: string
  readonly #options: SessionEventOptions

  constructor (redis: Redis | Cluster, keyPrefix: string, options: SessionEventOptions) {
    this.#redis = redis
    this.#prefix = keyPrefix
    this.#options = options
  }

  /** Records session ends, in one step per namespace. */
  async record (ends: readonly SessionEnd[]): Promise<void> {
    if (ends.length === 0) return
    const byNamespace = new Map<string, SessionEnd[]>()
    for (const end of ends) {
      const namespace = this.#options.namespaceOf(end.subject)
      const group = byNamespace.get(namespace)
      if (group === undefined) byNamespace.set(namespace, [end])
      else group.push(end)
    }
    await Promise.all([...byNamespace].map(async ([namespace, ends]) => {
      await callRedis(this.#redis, 'sessionEventsAdd', this.#redis.sessionEventsAdd(...this.#keys(namespace),
        this.#options.maxEvents, ...ends.flatMap(({ reason, ref, subject, replacedBy }) =>
          [reason, ref, subject, replacedBy ?? ''])))
    }))
  }

  async read (namespace: string, { after, limit }: { after?: string | undefined, limit: number })
    : Promise<SessionEventPage> {
    const [missed, entries] = await callRedis(this.#redis, 'sessionEventsRead',
      this.#redis.sessionEventsRead(...this.#keys(namespace), after ?? '', limit))
    const events = entries.map(([id, flat]): SessionEvent => {
      const fields = new Map<string, string>()
      for (let i = 0; i + 1 < flat.length; i += 2) fields.set(flat[i]!, flat[i + 1]!)
      return {
        id,
        at: Number(id.slice(0, id.indexOf('-'))),
        reason: fields.get('reason') as SessionEndReason,
        ref: fields.get('ref')!,
        subject: fields.get('subject')!,
        replacedBy: fields.get('replacedBy')
      }
    })
    return { events, cursor: nextEventCursor(events, after), missed: missed === 1 }
  }

  /**
   * The namespace's log and the id of the newest event dropped from it: one hash tag (never empty, as the namespace
   * of a service without caller isolation is), so one slot.
   */
  #keys (namespace: string): [log: string, dropped: string] {
    const log = `${this.#prefix}{session-events:${namespace}}`
    return [log, `${log}:dropped`]
  }
}
