// The change channel, as one replica listens to it. Every script that changes a cache entry announces its key there
// (<prefix>lease-ended: the name it had when it announced only the ends of leases, kept so that existing ACL grants
// hold); waiting readers and the near cache hear of it through this.
//
// Whether the replica hears is measured, not assumed from connection events (which a hung Redis or a cluster's
// subscriber moving between nodes do not give): with the near cache on, the replica announces a heartbeat of its own
// every HEARTBEAT_MS, and each one that comes back proves that every change announced before it was sent has been
// heard. Redis delivers the messages published on one node to a subscriber in the order they were published; a
// cluster does so too between two nodes (over the bus link from one to the other), but not across nodes: a change
// announced on its key's node can arrive after a heartbeat published later on another. So on a cluster a heartbeat
// is a round, one published through every master at once, and it counts as heard when every one of them has come
// back. A subscription made anew (after a reconnect; on a cluster, on another node) or a heartbeat from one node that
// never came back while a later one from the same node did means that messages may have been lost: the listener is
// told, at once, rather than after a gap.
import { randomBytes } from 'node:crypto'
import type { Cluster, Redis } from 'ioredis'
import { callRedis } from './redis-call.js'

export const HEARTBEAT_MS = 1000
/** No heartbeat heard for this long (three missed in a row): the replica may be missing changes. */
export const DEAF_AFTER_MS = 3 * HEARTBEAT_MS

export interface ChangeListener {
  /** A change of the entry under this Redis key was announced. */
  changed (key: string): void
  /** The heartbeat sent at this performance.now() came back (on a cluster, from every master). */
  heard? (sentAt: number): void
  /** Changes may have been announced unheard, up to now. */
  lost? (): void
  /** The subscription is made (true: anew, so changes may have been missed before it) or its connection is gone. */
  hearing? (on: boolean): void
}

/** A node heartbeats are published through, and its own numbering of them: a gap in it is a message lost. */
interface Origin {
  id: number
  sent: number
  /** The number of the latest heard from it (-1: none yet). */
  heard: number
}

/** One heartbeat per node, sent at the same moment. */
interface Round {
  sentAt: number
  unheard: number
}

export class ChangeChannel {
  readonly #redis: Redis | Cluster
  readonly #subscriber: () => Redis | Cluster
  readonly #name: string
  readonly #listener: ChangeListener
  /**
   * This replica's heartbeats: "heartbeat:<token>:<origin>:<number>:<round>", which no key (they all start with the
   * prefix) can be.
   */
  readonly #heartbeat = `heartbeat:${randomBytes(9).toString('base64url')}:`
  #subscribed: Promise<void> | undefined
  #beating: NodeJS.Timeout | undefined
  #lastHeard = performance.now()
  /** The nodes heartbeats are published through, by connection, and those of the latest round by their id. */
  readonly #origins = new WeakMap<Redis | Cluster, Origin>()
  #originsById = new Map<number, Origin>()
  #nextOrigin = 0
  /** The rounds sent and not yet heard in full, oldest first: those older than DEAF_AFTER_MS are forgotten. */
  readonly #rounds = new Map<number, Round>()
  #nextRound = 0
  #listening = false
  /** On a cluster, the connection subscribed on when the last heartbeat was sent. */
  #clusterConnection: unknown

  constructor (redis: Redis | Cluster, subscriber: () => Redis | Cluster, name: string, listener: ChangeListener) {
    this.#redis = redis
    this.#subscriber = subscriber
    this.#name = name
    this.#listener = listener
  }

  /** Resolves once subscribed (or having failed to: the next call tries again). */
  async listen (): Promise<void> {
    this.#subscribed ??= this.#subscribe()
    await this.#subscribed
  }

  /** Listens, and sends heartbeats until close(). */
  startHeartbeat (): void {
    if (this.#beating !== undefined) return
    this.#subscribed ??= this.#subscribe()
    this.#beating = setInterval(() => {
      // Deaf: subscribe again. ioredis subscribes again after a reconnect, but should that be refused (a permission
      // taken away, then given back) nothing else would.
      if (performance.now() - this.#lastHeard > DEAF_AFTER_MS) this.#subscribed = undefined
      this.#subscribed ??= this.#subscribe()
      this.noticeClusterMove()
      this.#beat()
    }, HEARTBEAT_MS).unref()
  }

  /** A round of heartbeats: one through the single Redis, or through each master a change can be announced on. */
  #beat (): void {
    const now = performance.now()
    for (const [number, round] of this.#rounds) {
      if (now - round.sentAt <= DEAF_AFTER_MS) break
      this.#rounds.delete(number)
    }
    const nodes = this.#redis.isCluster ? (this.#redis as Cluster).nodes('master') : [this.#redis]
    if (nodes.length === 0) return
    const round = this.#nextRound++
    this.#rounds.set(round, { sentAt: now, unheard: nodes.length })
    const origins = new Map<number, Origin>()
    for (const node of nodes) {
      let origin = this.#origins.get(node)
      if (origin === undefined) {
        origin = { id: this.#nextOrigin++, sent: 0, heard: -1 }
        this.#origins.set(node, origin)
      }
      origins.set(origin.id, origin)
      // One that is refused, or answered late, is simply not heard: that is what is being measured.
      const message = `${this.#heartbeat}${origin.id}:${origin.sent++}:${round}`
      callRedis(this.#redis, 'heartbeat', node.publish(this.#name, message)).catch(() => {})
    }
    // Those of nodes that are masters no more are let go: a heartbeat of theirs still counts for its round.
    this.#originsById = origins
  }

  close (): void {
    clearInterval(this.#beating)
  }

  /**
   * One subscription per replica, made again after each reconnect. Should it fail, waits still end at their bound,
   * the near cache keeps nothing (no heartbeat comes back), and the next listen() or heartbeat tries again.
   */
  async #subscribe (): Promise<void> {
    try {
      const subscriber = this.#subscriber()
      // One listener, however often subscribing is tried again (a user without the channel fails every time). The
      // connection carries other channels too (Azure's maintenance events).
      if (!this.#listening) {
        this.#listening = true
        subscriber.on('message', (channel: string, message: string) => {
          if (channel === this.#name) this.#hear(message)
        })
        // After a reconnect (ioredis does not subscribe again: see redis/client.ts's subscriberClient).
        if (!subscriber.isCluster) {
          subscriber.on('ready', () => { this.#subscribed = this.#subscribe() })
          subscriber.on('close', () => { this.#listener.hearing?.(false) })
        }
      }
      await subscriber.subscribe(this.#name)
      this.#listener.hearing?.(true)
    } catch {
      this.#subscribed = undefined
    }
  }

  /**
   * ioredis subscribes a cluster on one node's connection, and when it ends picks another node and subscribes there,
   * telling nobody: messages published meanwhile are lost. The connection in use is compared at each heartbeat, and
   * before each answer from memory (an ioredis internal, read defensively: should it go, the heartbeats' numbers
   * still tell of most losses).
   */
  noticeClusterMove (): void {
    if (this.#subscribed === undefined || !this.#redis.isCluster) return
    const cluster = this.#subscriber() as unknown as { subscriber?: { getInstance?: () => unknown } }
    const connection = cluster.subscriber?.getInstance?.()
    if (this.#clusterConnection !== undefined && connection !== this.#clusterConnection) this.#listener.lost?.()
    this.#clusterConnection = connection
  }

  #hear (message: string): void {
    if (!message.startsWith('heartbeat:')) {
      this.#listener.changed(message)
    } else if (message.startsWith(this.#heartbeat)) {
      const [id, number, round] = message.slice(this.#heartbeat.length).split(':').map(Number) as
        [number, number, number]
      const origin = this.#originsById.get(id)
      if (origin !== undefined) {
        if (number <= origin.heard) return
        if (origin.heard >= 0 && number > origin.heard + 1) this.#listener.lost?.()
        origin.heard = number
      }
      const sent = this.#rounds.get(round)
      if (sent === undefined || --sent.unheard > 0) return
      this.#rounds.delete(round)
      this.#lastHeard = performance.now()
      this.#listener.heard?.(sent.sentAt)
    }
  }
}
