// The Redis connection: builds the client from the configuration, authenticates it (nothing, an access key, or
// a Microsoft Entra ID token kept fresh on every live connection), waits for it at startup, measures it, and
// closes it.
import { setTimeout as sleep } from 'node:timers/promises'
import type { TokenCredential } from '@azure/core-auth'
import type { FastifyBaseLogger } from 'fastify'
import fp from 'fastify-plugin'
import type { RedisConfig } from '../config/redis.js'
import { closeRedisClient, createRedisClient, readyOrRefused, subscriberClient } from '../redis/client.js'
import type { RedisClient, RedisCredentials } from '../redis/connections.js'
import { defaultAzureCredential, usernameFromToken } from '../redis/entra-identity.js'
import { observeRedisCommands, observeRedisConnection, observeRedisToken } from '../redis/metrics.js'
import { Reauthenticator, type ReauthenticatorStatus } from '../redis/reauthenticator.js'
import { TokenRefresher, type TokenRefresherStatus } from '../redis/token-refresher.js'
import type { BackoffOptions } from '../redis/token-schedule.js'
import { listenForMaintenance } from '../redis/maintenance-events.js'
import { missingPermissions } from '../redis/permissions.js'
import { refuseClusterNode, watchCrossSlotScripts } from '../redis/slots.js'
import { callRedis } from '../store/redis-call.js'
import { StoreUnavailableError } from '../store/types.js'

/**
 * How long startup waits for Redis before listening anyway. A Redis that answers (the usual case) is ready well
 * within it, so the first requests find it; one still starting beside the pod is waited for in the background,
 * with /readyz and the API answering 503 meanwhile, rather than crash-looping the pod.
 */
const STARTUP_GRACE_MS = 1000
/** The AUTHs of one rotation are spread over at most this long, or a tenth of the old token's remaining life. */
const MAX_AUTH_SPREAD_MS = 2000

export interface RedisPluginOptions {
  redis: RedisConfig
  /** KEY_PREFIX: the keys and channel whose permissions startup checks. */
  keyPrefix: string
  /** The Entra ID credential; DefaultAzureCredential (workload or managed identity, AZURE_* variables) by default. */
  credential?: TokenCredential
  /** Retry pacing of the token refresher (tests shorten it). */
  tokenBackoff?: BackoffOptions
  /** Called when Redis refuses the service after startup went on without it (a wrong password, say). */
  onFatalError?: (err: Error) => void
}

/** The token refresher's counts (Entra ID only) and the re-authenticator's. */
export type RedisAuthStatus = Partial<TokenRefresherStatus> & ReauthenticatorStatus

declare module 'fastify' {
  interface FastifyInstance {
    /** The one Redis client (standalone or cluster) every store command and the rate limit go through. */
    redis: RedisClient
    /** Resolves when Redis answers with valid credentials; rejects with StoreUnavailableError otherwise. */
    redisHealth: () => Promise<void>
    /** Counts of token refreshes and re-authentications, and the token's expiry, for metrics and tests. */
    redisAuthStatus: () => RedisAuthStatus
    /**
     * The connection for pub/sub, made on first use: a subscribed connection can send nothing else. It follows the
     * token like the main one, and is closed with it.
     */
    redisSubscriber: () => RedisClient
  }
}

export default fp<RedisPluginOptions>(async (app, options) => {
  const { redis, keyPrefix, credential, tokenBackoff, onFatalError } = options
  const { auth } = redis
  const reauthenticator = new Reauthenticator(app.log)
  let credentials: RedisCredentials | undefined =
    auth.mode === 'password' ? { username: auth.username, password: auth.password } : undefined
  let refresher: TokenRefresher | undefined

  if (auth.mode === 'entra') {
    let username = auth.username
    refresher = new TokenRefresher({
      credential: credential ?? await defaultAzureCredential(),
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

  const client: RedisClient = createRedisClient(redis, credentials, app.log)
  reauthenticator.track(client)
  watchCrossSlotScripts(client, keyPrefix, app.log)
  let closing = false
  const connected = readyOrRefused(client)
    .then(async () => {
      await refuseClusterNode(client)
      await refuseMissingPermissions(client, keyPrefix, app.log)
    })
  try {
    // A refusal (a wrong password, a certificate that does not verify) fails startup at once: waiting cannot fix it.
    await Promise.race([connected, sleep(STARTUP_GRACE_MS, undefined, { ref: false })])
  } catch (err) {
    // A client that never became ready would otherwise go on reconnecting, and keep the process alive.
    refresher?.stop()
    client.disconnect()
    throw err
  }
  if (client.status !== 'ready') {
    app.log.warn('Redis does not answer yet: serving 503 until it does')
    connected.then(() => { app.log.info('Redis answers: serving') }, (err: Error) => {
      if (closing) return
      app.log.fatal({ err: { message: err.message } }, 'Redis refused the service')
      onFatalError?.(err)
    })
  }
  // Decorated here rather than through @fastify/redis, which holds startup until the client is ready: the very wait
  // that would crash-loop a pod whose Redis is still starting.
  app.decorate<RedisClient>('redis', client)

  app.decorate('redisHealth', async () => {
    if (refresher !== undefined && !refresher.hasValidToken()) {
      throw new StoreUnavailableError('The Redis token has expired and could not be refreshed yet')
    }
    await callRedis(client, 'ping', client.ping())
  })
  app.decorate('redisAuthStatus', () => ({ ...refresher?.status(), ...reauthenticator.status() }))
  let subscriber: RedisClient | undefined
  app.decorate('redisSubscriber', () => {
    if (subscriber === undefined) {
      const made = subscriberClient(client)
      made.on('error', () => {}) // the main client logs an outage; this one shares it
      reauthenticator.track(made)
      subscriber = made
    }
    return subscriber
  })

  const commands = observeRedisCommands(app.metrics.registry)
  observeRedisConnection(app.metrics.registry, client)
  if (refresher !== undefined) observeRedisToken(app.metrics.registry, app.redisAuthStatus)
  if (redis.maintenanceEvents) listenForMaintenance(app.redisSubscriber, app.metrics.registry, app.log)

  app.addHook('onClose', async () => {
    closing = true
    commands.stop()
    refresher?.stop()
    if (subscriber !== undefined) await closeRedisClient(subscriber)
    await closeRedisClient(client)
  })
}, { name: 'redis', dependencies: ['metrics'] })

/**
 * A user without a permission the service needs would fail requests half way, so the service refuses to start and
 * names each. A probe that cannot run for another reason (Redis slow for a moment) decides nothing: it is logged.
 */
async function refuseMissingPermissions (client: RedisClient, keyPrefix: string, log: FastifyBaseLogger)
  : Promise<void> {
  let missing: string[]
  try {
    missing = await missingPermissions(client, keyPrefix)
  } catch (err) {
    log.warn({ err: { message: (err as Error).message } }, 'could not check the Redis user\'s permissions')
    return
  }
  if (missing.length > 0) {
    throw new Error(`the Redis user lacks permissions the service needs:\n  ${missing.join('\n  ')}`)
  }
}
