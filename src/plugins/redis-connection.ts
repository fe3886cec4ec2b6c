// The Redis connection: builds the client from the configuration, authenticates it (nothing, an access key, or
// a Microsoft Entra ID token kept fresh on every live connection), waits for it at startup, and closes it.
import type { TokenCredential } from '@azure/core-auth'
import { DefaultAzureCredential } from '@azure/identity'
import fastifyRedis from '@fastify/redis'
import fp from 'fastify-plugin'
import type { RedisConfig } from '../config/redis.js'
import { StoreUnavailableError } from '../errors.js'
import { closeRedisClient, createRedisClient, waitUntilReady } from '../redis/client.js'
import type { RedisClient, RedisCredentials } from '../redis/connections.js'
import { usernameFromToken } from '../redis/entra-identity.js'
import { Reauthenticator, type ReauthenticatorStatus } from '../redis/reauthenticator.js'
import { TokenRefresher, type TokenRefresherStatus } from '../redis/token-refresher.js'
import type { BackoffOptions } from '../redis/token-schedule.js'
import { callRedis } from '../store/redis-scripts.js'

/** How long startup waits for Redis before giving up (Kubernetes then restarts the pod). */
export const REDIS_STARTUP_TIMEOUT_MS = 15_000
/** The AUTHs of one rotation are spread over at most this long, or a tenth of the old token's remaining life. */
const MAX_AUTH_SPREAD_MS = 2000

export interface RedisConnectionOptions {
  redis: RedisConfig
  commandTimeoutMs: number
  /** The Entra ID credential; DefaultAzureCredential (workload or managed identity, AZURE_* variables) by default. */
  credential?: TokenCredential
  /** Retry pacing of the token refresher (tests shorten it). */
  tokenBackoff?: BackoffOptions
}

export interface RedisAuthStatus extends Partial<TokenRefresherStatus>, ReauthenticatorStatus {
  mode: RedisConfig['auth']['mode']
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Resolves when Redis answers with valid credentials; rejects with StoreUnavailableError otherwise. */
    redisHealth: () => Promise<void>
    /** Counts and timestamps of token refreshes and re-authentications, for logs and metrics. */
    redisAuthStatus: () => RedisAuthStatus
  }
}

export default fp<RedisConnectionOptions>(async (app, { redis, commandTimeoutMs, credential, tokenBackoff }) => {
  const { auth } = redis
  const reauthenticator = new Reauthenticator(app.log)
  let credentials: RedisCredentials | undefined =
    auth.mode === 'password' ? { username: auth.username, password: auth.password } : undefined
  let refresher: TokenRefresher | undefined

  if (auth.mode === 'entra') {
    let username = auth.username
    refresher = new TokenRefresher({
      credential: credential ?? new DefaultAzureCredential(),
      scope: auth.scope,
      log: app.log,
      ...(tokenBackoff !== undefined && { backoff: tokenBackoff }),
      apply: async (token, previous) => {
        const spreadMs = Math.min(MAX_AUTH_SPREAD_MS, Math.max(0, previous.expiresOnTimestamp - Date.now()) / 10)
        await reauthenticator.apply({ username, password: token.token }, spreadMs)
      }
    })
    const first = await refresher.start()
    username ??= usernameFromToken(first.token)
    credentials = { username, password: first.token }
  }

  const client: RedisClient = createRedisClient(redis, credentials, commandTimeoutMs, app.log)
  reauthenticator.track(client)
  try {
    // The app starts only once Redis has answered. Waiting here rather than in @fastify/redis gives a clear
    // error for a refused password, instead of its QUIT that an offline client cannot send.
    await waitUntilReady(client, REDIS_STARTUP_TIMEOUT_MS)
  } catch (err) {
    // A client that never became ready would otherwise go on reconnecting, and keep the process alive.
    refresher?.stop()
    client.disconnect()
    throw err
  }
  await app.register(fastifyRedis, { client })

  app.decorate('redisHealth', async () => {
    if (refresher !== undefined && !refresher.hasValidToken()) {
      throw new StoreUnavailableError('The Redis token has expired and could not be refreshed yet')
    }
    await callRedis('ping', client.ping())
  })
  app.decorate('redisAuthStatus', () => ({ mode: auth.mode, ...refresher?.status(), ...reauthenticator.status() }))
  app.addHook('onClose', async () => {
    refresher?.stop()
    await closeRedisClient(client)
  })
}, { name: 'redis-connection' })
