// Runs one command of a Redis adapter: a failure becomes one of the store's own errors, and every command, failed or
// not, is published for the metrics.
import type { Cluster, Redis } from 'ioredis'
import { redisCommandChannel, type RedisCommandEvent } from '../redis/command-events.js'
import { StoreFullError, StoreUnavailableError } from './types.js'

/** A Redis client's failure as one of the store's own errors. */
export function storeErrorOf (err: unknown): StoreFullError | StoreUnavailableError {
  // Redis prefixes the error with its code: "OOM command not allowed when used memory > 'maxmemory'".
  if (err instanceof Error && err.name === 'ReplyError' && err.message.startsWith('OOM ')) {
    return new StoreFullError('The store has no room for new data; nothing was written', { cause: err })
  }
  return new StoreUnavailableError('Redis did not answer in time; retry shortly', { cause: err })
}

/** Each client's command timeout, read once: the deadline of every call made through it. */
const deadlines = new WeakMap<Redis | Cluster, number>()

function deadlineOf (redis: Redis | Cluster): number {
  let deadline = deadlines.get(redis)
  if (deadline === undefined) {
    const options = redis.isCluster ? (redis as Cluster).options.redisOptions : (redis as Redis).options
    deadline = options?.commandTimeout ?? 1000
    deadlines.set(redis, deadline)
  }
  return deadline
}

/**
 * Redis out of memory rejects with StoreFullError; any other failure to get an answer (down, timed out, a demoted
 * primary refusing writes with READONLY) with StoreUnavailableError.
 *
 * The wait is bounded by the client's command timeout as a whole. ioredis times a command from when it is written,
 * and with auto-pipelining a command waits unwritten while the connection's previous pipeline is in flight: on a
 * hung Redis each batch would wait for the one before it to time out, and the n-th request would wait n timeouts.
 */
export async function callRedis<T> (redis: Redis | Cluster, command: string, reply: Promise<T>): Promise<T> {
  const started = performance.now()
  let failed = false
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${command}: no answer within ${deadlineOf(redis)} ms`)),
      deadlineOf(redis))
  })
  try {
    return await Promise.race([reply, deadline])
  } catch (err) {
    failed = true
    throw storeErrorOf(err)
  } finally {
    clearTimeout(timer)
    if (redisCommandChannel.hasSubscribers) {
      const event: RedisCommandEvent = { command, durationMs: performance.now() - started, failed }
      redisCommandChannel.publish(event)
    }
  }
}
