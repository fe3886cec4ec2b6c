// Sends a new token to every live Redis connection (AUTH), after writing it into the clients' options so that
// any reconnect uses it too. AUTHs are spread with jitter; a failed one is retried. A connection that is
// connecting when the token arrives began its handshake with the old one (ioredis reads the credentials when a
// connect starts), so it is sent the newest token as soon as it is ready.
import { setTimeout as sleep } from 'node:timers/promises'
import type { FastifyBaseLogger } from 'fastify'
import type { Redis } from 'ioredis'
import { connectionsOf, setCredentials, type RedisClient, type RedisCredentials } from './connections.js'

const AUTH_ATTEMPTS = 3

export interface ReauthenticatorStatus {
  reauthentications: number
  reauthenticationFailures: number
}

export class Reauthenticator {
  readonly #clients = new Set<RedisClient>()
  /** Connections waiting for 'ready' to be sent the newest credentials; one listener each, however many rotations. */
  readonly #awaitingReady = new WeakSet<Redis>()
  #latest: RedisCredentials | undefined
  readonly #log: FastifyBaseLogger
  readonly #status: ReauthenticatorStatus = {
    reauthentications: 0,
    reauthenticationFailures: 0
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
    this.#latest = credentials
    for (const client of this.#clients) setCredentials(client, credentials)
    const connections = [...this.#clients].flatMap(connectionsOf)
    await Promise.all(connections.map((connection) => this.#reauthenticate(connection, credentials, spreadMs)))
  }

  async #reauthenticate (connection: Redis, { username, password }: RedisCredentials, spreadMs: number)
    : Promise<void> {
    if (connection.status !== 'ready') {
      this.#authenticateWhenReady(connection)
      return
    }
    await sleep(Math.random() * spreadMs, undefined, { ref: false })
    for (let attempt = 1; attempt <= AUTH_ATTEMPTS; attempt++) {
      if (connection.status !== 'ready') {
        this.#authenticateWhenReady(connection)
        return
      }
      try {
        if (username === undefined) await connection.auth(password)
        else await connection.auth(username, password)
        this.#status.reauthentications++
        this.#log.debug({ connection: describe(connection) }, 'redis connection re-authenticated')
        return
      } catch (err) {
        if (attempt === AUTH_ATTEMPTS) {
          this.#status.reauthenticationFailures++
          this.#log.warn({ connection: describe(connection), err: { message: (err as Error).message } },
            'redis re-authentication failed; the connection will reconnect with the new token if it is closed')
          return
        }
        await sleep(100 * 2 ** attempt, undefined, { ref: false })
      }
    }
  }

  /** Sends the newest credentials once the connection is ready; nothing if it closes for good first. */
  #authenticateWhenReady (connection: Redis): void {
    if (connection.status === 'end' || this.#awaitingReady.has(connection)) return
    this.#awaitingReady.add(connection)
    const onReady = () => {
      settle()
      // Whatever token is newest by then, which may be later than the one that found this connection connecting.
      if (this.#latest !== undefined) this.#reauthenticate(connection, this.#latest, 0).catch(() => {})
    }
    const settle = () => {
      this.#awaitingReady.delete(connection)
      connection.off('ready', onReady).off('end', settle)
    }
    connection.once('ready', onReady).once('end', settle)
  }
}

function describe (connection: Redis): string {
  return `${connection.options.host ?? ''}:${connection.options.port ?? ''}`
}
