// Runs one command of a Redis adapter: a failure to get an answer becomes the store's own StoreUnavailableError,
// and every command, failed or not, is published for the metrics.
import { redisCommandChannel, type RedisCommandEvent } from '../redis/command-events.js'
import { StoreUnavailableError } from './types.js'

/** Any failure to get an answer from Redis (down, timed out, refusing writes) rejects with StoreUnavailableError. */
export async function callRedis<T> (command: string, reply: Promise<T>): Promise<T> {
  const started = performance.now()
  let failed = false
  try {
    return await reply
  } catch (err) {
    failed = true
    throw new StoreUnavailableError('Redis did not answer in time; retry shortly', { cause: err })
  } finally {
    if (redisCommandChannel.hasSubscribers) {
      const event: RedisCommandEvent = { command, durationMs: performance.now() - started, failed }
      redisCommandChannel.publish(event)
    }
  }
}
