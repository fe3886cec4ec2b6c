// Builds the one long-lived ioredis client the service uses, tuned to fail fast instead of queueing.
import { Redis } from 'ioredis'
import type { FastifyBaseLogger } from 'fastify'

export interface RedisClientOptions {
  url: string
  commandTimeoutMs: number
}

/** Reconnect quickly at first, then every 2 s: an outage should end in seconds once Redis is back. */
export function reconnectDelay (attempt: number): number {
  return Math.min(50 * 2 ** attempt, 2000) + Math.floor(Math.random() * 100)
}

export function createRedisClient ({ url, commandTimeoutMs }: RedisClientOptions, log: FastifyBaseLogger): Redis {
  const client = new Redis(url, {
    // A request must get an answer within the timeout: a command that Redis does not answer in time fails,
    enableOfflineQueue: false,
    // a command issued while disconnected fails at once rather than waiting in an unbounded queue,
    commandTimeout: commandTimeoutMs,
    // and one in flight when the connection drops fails rather than being resent later, unseen by its caller.
    maxRetriesPerRequest: 0,
    connectTimeout: Math.max(commandTimeoutMs, 2000),
    retryStrategy: reconnectDelay,
    connectionName: 'cache-service'
  })
  logConnectionState(client, log)
  return client
}

/**
 * Resolves once the client is ready. Resolves late rather than failing while Redis is merely unreachable (it
 * may be starting alongside us), but fails at once when Redis refuses us, as for a wrong password.
 */
export async function waitUntilReady (client: Redis, timeoutMs: number): Promise<void> {
  if (client.status === 'ready') return
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => settle(new Error(`Redis did not become ready within ${timeoutMs} ms`)), timeoutMs)
    const onReady = () => settle()
    const onError = (err: Error) => {
      // Network errors are retried by ioredis; a reply error (WRONGPASS, NOAUTH, ...) will not get better.
      if (err.name === 'ReplyError') settle(new Error(`Redis refused the connection: ${err.message}`))
    }
    const onEnd = () => settle(new Error('Redis closed the connection for good'))
    function settle (err?: Error) {
      clearTimeout(timer)
      client.off('ready', onReady).off('error', onError).off('end', onEnd)
      if (err === undefined) resolve()
      else reject(err)
    }
    client.on('ready', onReady).on('error', onError).on('end', onEnd)
  })
}

/**
 * QUIT lets Redis finish what was sent; but with the offline queue off, QUIT on a broken connection fails at
 * once, and shutdown must not fail because Redis is down: then the socket is simply dropped.
 */
export async function closeRedisClient (client: Redis): Promise<void> {
  if (client.status !== 'ready') {
    client.disconnect()
    return
  }
  try {
    await client.quit()
  } catch {
    client.disconnect()
  }
}

/** One warning per outage and one line when it ends, rather than a line per reconnect attempt. */
function logConnectionState (client: Redis, log: FastifyBaseLogger): void {
  let healthy = true
  client.on('error', (err: Error) => {
    if (!healthy) return
    healthy = false
    // The message names the host and the failure; ioredis never puts the password in it.
    log.warn({ err: { message: err.message, code: (err as NodeJS.ErrnoException).code } }, 'redis connection failed')
  })
  client.on('close', () => {
    if (healthy) log.warn('redis connection closed')
    healthy = false
  })
  client.on('ready', () => {
    if (!healthy) log.info('redis connection ready again')
    healthy = true
  })
}
