// Sends a new token to every live Redis connection (AUTH), after writing it into the clients' options so that
// any reconnect uses it too. AUTHs are spread with jitter; a failed one is retried; a connection that is down
// is left to pick the token up when it reconnects.
import { setTimeout as sleep } from 'node:timers/promises'
import type { FastifyBaseLogger } from 'fastify'
import type { Redis } from 'ioredis'
import { connectionsOf, setCredentials, type RedisClient, type RedisCredentials } from './connections.js'

const AUTH_ATTEMPTS = 3

export interface ReauthenticatorStatus {
  reauthentications: number
  lastReauthenticationAt: number | undefined
  reauthenticationFailures: number
  lastReauthenticationFailureAt: number | undefined
}

export class Reauthenticator {
  readonly #clients = new Set<RedisClient>()
  readonly #log: FastifyBaseLogger
  readonly #status: ReauthenticatorStatus = {
    reauthentications: 0,
    lastReauthenticationAt: undefined,
    reauthenticationFailures: 0,
    lastReauthenticationFailureAt: undefined
  }

  constructor (log: FastifyBaseLogger) {
    this.#log = log
  }

  /** Every client whose connections must follow the token: the main one, duplicates and subscribers alike. */
  track (client: RedisClient): void {
    this.#clients.add(client)
  }

  status (): ReauthenticatorStatus {
    return { ...this.#status }
  }

  /** Options first, then AUTH on each live connection, spread over up to `spreadMs`. */
  async apply (credentials: RedisCredentials, spreadMs: number): Promise<void> {
    for (const client of this.#clients) setCredentials(client, credentials)
    const connections = [...this.#clients].flatMap(connectionsOf)
    await Promise.all(connections.map((connection) => this.#reauthenticate(connection, credentials, spreadMs)))
  }

  async #reauthenticate (connection: Redis, { username, password }: RedisCredentials, spreadMs: number)
    : Promise<void> {
    await sleep(Math.random() * spreadMs, undefined, { ref: false })
    for (let attempt = 1; attempt <= AUTH_ATTEMPTS; attempt++) {
      if (connection.status !== 'ready') return
      try {
        if (username === undefined) await connection.auth(password)
        else await connection.auth(username, password)
        this.#status.reauthentications++
        this.#status.lastReauthenticationAt = Date.now()
        this.#log.debug({ connection: describe(connection) }, 'redis connection re-authenticated')
        return
      } catch (err) {
        if (attempt === AUTH_ATTEMPTS) {
          this.#status.reauthenticationFailures++
          this.#status.lastReauthenticationFailureAt = Date.now()
          this.#log.warn({ connection: describe(connection), err: { message: (err as Error).message } },
            'redis re-authentication failed; the connection will reconnect with the new token if it is closed')
          return
        }
        await sleep(100 * 2 ** attempt, undefined, { ref: false })
      }
    }
  }
}

function describe (connection: Redis): string {
  return `${connection.options.host ?? ''}:${connection.options.port ?? ''}`
}
