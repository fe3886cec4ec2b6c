// Every store command's name, duration and outcome, published for the Redis metrics (or anyone) to subscribe to.
// A diagnostics channel costs nothing while nobody listens, and keeps the stores unaware of who measures them.
import { channel } from 'node:diagnostics_channel'

export const redisCommandChannel = channel('cache-service:redis:command')

export interface RedisCommandEvent {
  command: string
  durationMs: number
  failed: boolean
}
