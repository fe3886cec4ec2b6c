// Every store command's name, duration and outcome, published for the Redis metrics (or anyone) to subscribe to, and
// traced (its start in the caller's context, then its end) for the spans. A diagnostics channel costs nothing while
// nobody listens, and keeps the stores unaware of who measures them.
import { channel, tracingChannel } from 'node:diagnostics_channel'
import type { Cluster, Redis } from 'ioredis'

export const redisCommandChannel = channel('cache-service:redis:command')

export interface RedisCommandEvent {
  command: string
  durationMs: number
  /** The store's error it failed with (StoreUnavailableError, StoreFullError); undefined when it succeeded. */
  failure: string | undefined
}

/** One call of a store command, from its start to its answer or failure. */
export interface RedisCallContext {
  /** The store's name for it (as the metrics label it). */
  command: string
  /** What Redis is sent: a plain command (HGET), or EVALSHA of a script. */
  operation: string
  /** The script's name, for EVALSHA; never its body. */
  script: string | undefined
  client: Redis | Cluster
  /** Left here by a subscriber at the start, for the end. */
  span?: unknown
}

export const redisCallChannel = tracingChannel<unknown, RedisCallContext>('cache-service:redis:call')
