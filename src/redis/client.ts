// Builds the ioredis client the service uses (standalone or cluster, TLS or not), tuned to fail fast instead of
// queueing, and knows how to wait for it at startup and close it at shutdown.
import { Cluster, Redis, type RedisOptions } from 'ioredis'
import type { FastifyBaseLogger } from 'fastify'
import type { RedisConfig } from '../config/redis.js'
import type { RedisClient, RedisCredentials } from './connections.js'

/**
 * Reconnect quickly at first, then at most every `maxDelayMs`: an outage should end in seconds once Redis is back.
 * Each pause is drawn between half and all of its step ("equal jitter"), so that the replicas a failover or a
 * maintenance disconnected together do not all knock again at the same instant.
 */
export function reconnectDelay (attempt: number, maxDelayMs: number): number {
  const step = Math.min(50 * 2 ** attempt, maxDelayMs)
  return Math.round(step / 2 + Math.random() * step / 2)
}

/**
 * How often a cluster client reads the cluster's slots again. ioredis 5 stopped doing so by default (its documentation
 * still says every 5 s): it then learns of a failover only when a node redirects one of its commands, and a replica
 * answering from its near cache sends none, while its heartbeats (store/redis-change-channel.ts) go on through the
 * demoted master and miss the new one's announcements. Each look is a short-lived connection of its own.
 */
export const CLUSTER_SLOTS_REFRESH_MS = 5000

/**
 * Looks at the slots every CLUSTER_SLOTS_REFRESH_MS while the client is ready. Not ioredis's slotsRefreshInterval:
 * a client quit while that one's look is under way schedules the next all the same, and goes on looking, with a timer
 * that keeps the process alive, for ever.
 */
function lookAtSlotsPeriodically (cluster: Cluster): void {
  const timer = setInterval(() => {
    if (cluster.status === 'ready') cluster.refreshSlotsCache()
  }, CLUSTER_SLOTS_REFRESH_MS).unref()
  cluster.once('end', () => { clearInterval(timer) })
}

export function createRedisClient (redis: RedisConfig, credentials: RedisCredentials | undefined,
  log: FastifyBaseLogger): RedisClient {
  const { commandTimeoutMs, reconnectMaxDelayMs } = redis
  const retry = (attempt: number) => reconnectDelay(attempt, reconnectMaxDelayMs)
  const options: RedisOptions = {
    ...credentials,
    // A request must get an answer within the timeout: a command that Redis does not answer in time fails,
    commandTimeout: commandTimeoutMs,
    // one in flight when the connection drops fails rather than being resent later, unseen by its caller,
    maxRetriesPerRequest: 0,
    connectTimeout: redis.connectTimeoutMs,
    // A connection that carries nothing for a while is probed, so that Azure's load balancer (which closes one idle
    // for 10 minutes) keeps it, and one whose peer vanished is found dead.
    keepAlive: redis.keepAliveMs,
    // Commands issued in the same tick by concurrent requests go out in one write: fewer syscalls under load.
    enableAutoPipelining: true,
    connectionName: 'cache-service',
    // After a failover the old primary, demoted to a replica, answers writes with READONLY. The request gets its 503,
    // and the connection is made again, to wherever the address now leads: the new primary.
    reconnectOnError: (err) => err.message.startsWith('READONLY'),
    tls: redis.tls === undefined ? undefined : { ca: redis.tls.ca, servername: redis.tls.servername }
  }
  const client = redis.cluster
    ? new Cluster(redis.nodes, {
      redisOptions: {
        ...options,
        // Node addresses come from CLUSTER SLOTS; the certificate names the seed host, as on Azure.
        tls: options.tls && { ...options.tls, servername: redis.tls?.servername ?? redis.nodes[0]!.host }
      },
      // and a command issued while disconnected fails at once rather than waiting in an unbounded queue.
      enableOfflineQueue: false,
      clusterRetryStrategy: retry,
      // With TLS, connect to the addresses as given, so that the servername above is what is verified.
      ...(options.tls !== undefined && { dnsLookup: (address, callback) => callback(null, address) })
    })
    : new Redis({
      ...redis.nodes[0],
      db: redis.db,
      ...options,
      enableOfflineQueue: false,
      retryStrategy: retry
    })
  if (client.isCluster) lookAtSlotsPeriodically(client as Cluster)
  logConnectionState(client, log)
  return client
}

/**
 * Settles once the client is ready (resolves), or once Redis has refused it in a way that waiting cannot fix
 * (rejects): a refused password (WRONGPASS, NOAUTH, NOPERM, ...), a certificate that does not verify, or a client
 * closed for good. While Redis is merely unreachable (it may be starting beside us) it keeps waiting.
 */
export async function readyOrRefused (client: RedisClient): Promise<void> {
  if (client.status === 'ready') return
  await new Promise<void>((resolve, reject) => {
    const onReady = () => settle()
    const onError = (err: Error & { lastNodeError?: Error }) => {
      const refusal = [err, err.lastNodeError].find((e) => e?.name === 'ReplyError')
      // A cluster client at one endpoint (the Enterprise or Non-clustered policy) is refused CLUSTER SLOTS.
      const advice = refusal !== undefined && /cluster support disabled/.test(refusal.message)
        ? ': this endpoint is no OSS cluster (the Enterprise or Non-clustered policy): set REDIS_CLUSTER=false'
        : ''
      if (refusal !== undefined) settle(new Error(`Redis refused the connection: ${refusal.message}${advice}`))
      const tls = [err, err.lastNodeError].find(isCertificateError)
      if (tls !== undefined) settle(new Error(`Redis's TLS certificate was not accepted: ${tls.message}`))
    }
    const onEnd = () => settle(new Error('Redis closed the connection for good'))
    function settle (err?: Error) {
      client.off('ready', onReady).off('error', onError).off('end', onEnd)
      if (err === undefined) resolve()
      else reject(err)
    }
    client.on('ready', onReady).on('error', onError).on('end', onEnd)
  })
}

/** readyOrRefused, failing too when Redis has not answered within the timeout (for one-off checks). */
export async function waitUntilReady (client: RedisClient, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  const timedOut = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`Redis did not become ready within ${timeoutMs} ms`)), timeoutMs)
  })
  try {
    await Promise.race([readyOrRefused(client), timedOut])
  } finally {
    clearTimeout(timer)
  }
}

const CERTIFICATE_ERRORS = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID', 'ERR_TLS_CERT_ALTNAME_INVALID'
])

function isCertificateError (err: Error | undefined): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code
  return code !== undefined && CERTIFICATE_ERRORS.has(code)
}

/**
 * A second client like this one, for pub/sub, named apart from the main one (CLIENT LIST tells them apart). Its
 * offline queue is on: a SUBSCRIBE sent before it connects waits for the connection. A standalone client is not
 * subscribed again by ioredis after a reconnect: a refusal (a channel permission taken away) would be left as an
 * unhandled rejection, which ends the process; the change channel subscribes again itself.
 */
export function subscriberClient (client: RedisClient): RedisClient {
  const connectionName = 'cache-service-subscriber'
  if (client.isCluster) {
    const cluster = client as Cluster
    return cluster.duplicate(undefined, {
      enableOfflineQueue: true, redisOptions: { ...cluster.options.redisOptions, connectionName }
    })
  }
  return (client as Redis).duplicate({ enableOfflineQueue: true, autoResubscribe: false, connectionName })
}

/**
 * QUIT lets Redis finish what was sent; but with the offline queue off, QUIT on a broken connection fails at
 * once, and shutdown must not fail because Redis is down: then the socket is simply dropped.
 */
export async function closeRedisClient (client: RedisClient): Promise<void> {
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
function logConnectionState (client: RedisClient, log: FastifyBaseLogger): void {
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
