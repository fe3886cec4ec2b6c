// Runs one command of a Redis adapter: a failure becomes one of the store's own errors, and every command, failed or
// not, is published for the metrics.
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

/**
 * Redis out of memory rejects with StoreFullError; any other failure to get an answer (down, timed out, a demoted
 * primary refusing writes with READONLY) with StoreUnavailableError.
 */
export async function callRedis<T> (command: string, reply: Promise<T>): Promise<T> {
  const started = performance.now()
  let failed = false
  try {
    return await reply
  } catch (err) {
    failed = true
    throw storeErrorOf(err)
  } finally {
    if (redisCommandChannel.hasSubscribers) {
      const event: RedisCommandEvent = { command, durationMs: performance.now() - started, failed }
      redisCommandChannel.publish(event)
    }
  }
}
