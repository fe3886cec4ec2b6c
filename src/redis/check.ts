// The operator check behind `npm run check:redis`, after Azure's quickstart: with the service's own settings,
// connect, PING, check the user's permissions, SET and GET a probe key, count the server's clients, and warn of an
// eviction policy that would drop sessions before they expire. Secrets are never printed.
import { randomBytes } from 'node:crypto'
import type { TokenCredential } from '@azure/core-auth'
import { pino } from 'pino'
import type { Cluster, Redis } from 'ioredis'
import type { Config } from '../config/index.js'
import { AZURE_MANAGED_REDIS } from '../config/redis.js'
import { closeRedisClient, createRedisClient, waitUntilReady } from './client.js'
import { connectionsOf, type RedisClient, type RedisCredentials } from './connections.js'
import { missingPermissions } from './permissions.js'
import { probeCrossSlotScripts, refuseClusterNode } from './slots.js'
import { defaultAzureCredential, usernameFromToken } from './entra-identity.js'
import { TokenRefresher } from './token-refresher.js'

const CONNECT_TIMEOUT_MS = 10_000

export interface CheckOptions {
  credential?: TokenCredential
  /** Where the report goes, a line at a time. */
  print: (line: string) => void
}

/** Runs every step, printing each; resolves true when all passed. */
export async function checkRedis (config: Config, { credential, print }: CheckOptions): Promise<boolean> {
  const redis = config.redis
  if (redis === undefined) {
    print('FAILED: Redis is not configured (set REDIS_URL, REDIS_HOST or REDIS_CLUSTER_NODES)')
    return false
  }
  const where = redis.nodes.map(({ host, port }) => `${host}:${port}`).join(', ')
  const transport = redis.tls === undefined ? 'plain TCP' : 'TLS'
  print(`target: ${where} (${transport}, ${redis.cluster ? 'cluster' : 'standalone'}, auth ${redis.auth.mode})`)

  let client: RedisClient | undefined
  try {
    const credentials = await credentialsFor(redis.auth, credential, print)
    client = createRedisClient(redis, credentials, pino({ level: 'silent' }))
    let lastError: Error | undefined
    client.on('error', (err: Error) => { lastError = err })
    await waitUntilReady(client, CONNECT_TIMEOUT_MS).catch((err: Error) => {
      throw new Error(lastError === undefined ? err.message : `${err.message} (last error: ${lastError.message})`)
    })
    print('connect: ok')
    print(`PING: ${await client.ping()}`)
    const server = await connectionsOf(client)[0]!.info('server').catch(() => '')
    const version = /^redis_version:(\S+)/m.exec(server)?.[1] ?? 'unknown'
    print(`product: ${productOf(redis.nodes[0]!.host)}, Redis ${version}`)
    await refuseClusterNode(client)
    const missing = await missingPermissions(client, config.keyPrefix)
    for (const line of missing) {
      print(`MISSING PERMISSION: ${line}. Grant it to the user (Redis: ACL SETUSER; Azure: a data access policy ` +
        'such as Data Contributor)')
    }
    if (missing.length > 0) throw new Error('the Redis user lacks permissions the service needs (above)')
    print('permissions (scripts, TIME, keys and channel under KEY_PREFIX): ok')
    print(`clustering policy: ${await policyOf(client, config.keyPrefix)}`)

    const key = `${config.keyPrefix}check:${randomBytes(8).toString('hex')}`
    const value = randomBytes(16).toString('hex')
    await client.set(key, value, 'PX', 60_000)
    const read = await client.get(key)
    await client.del(key)
    if (read !== value) throw new Error('GET did not return the value just SET')
    print(`SET and GET ${key}: ok`)

    for (const connection of connectionsOf(client)) {
      const node = `${connection.options.host}:${connection.options.port}`
      const list = await connection.client('LIST') as string
      print(`CLIENT LIST on ${node}: ${list.split('\n').filter(Boolean).length} clients`)
      // INFO rather than CONFIG GET, which Azure Cache for Redis does not allow.
      const policy = /^maxmemory_policy:(\S+)/m.exec(await connection.info('memory'))?.[1] ?? 'unknown'
      print(policy === 'noeviction'
        ? `maxmemory-policy on ${node}: noeviction: ok`
        : `WARNING: maxmemory-policy on ${node} is ${policy}: Redis may evict sessions before they expire ` +
          '(every key the service writes has a TTL, so volatile-* policies evict them too). Set noeviction ' +
          'if the service holds sessions; a cache-only deployment may prefer an evicting policy to 507s.')
    }
    print('all checks passed')
    return true
  } catch (err) {
    print(`FAILED: ${(err as Error).message}`)
    return false
  } finally {
    if (client !== undefined) await closeRedisClient(client)
  }
}

/** The product a host name belongs to: Azure's host names say it; any other is a Redis of one's own. */
function productOf (host: string): string {
  if (AZURE_MANAGED_REDIS.host.test(host)) return 'Azure Managed Redis'
  if (/\.redisenterprise\.cache\.azure\.net$/i.test(host)) return 'Azure Cache for Redis Enterprise'
  if (/\.redis\.cache\.(windows\.net|chinacloudapi\.cn|usgovcloudapi\.net)$/i.test(host)) return 'Azure Cache for Redis'
  return `Redis (${host} is no Azure host name)`
}

/**
 * The clustering policy, as the endpoint shows it: a cluster client found a cluster (OSS); behind one endpoint
 * (no cluster node: checked first), whether scripts may span slots tells a proxy (Enterprise) from one keyspace
 * (Non-clustered, or a plain Redis).
 */
async function policyOf (client: RedisClient, keyPrefix: string): Promise<string> {
  if (client.isCluster) {
    return `OSS cluster (${(client as Cluster).nodes('master').length} primaries, addresses from CLUSTER SLOTS)`
  }
  return await probeCrossSlotScripts(client as Redis, keyPrefix)
    ? 'Non-clustered (one keyspace: scripts may span slots)'
    : 'Enterprise (a proxy: CLUSTER commands and scripts across slots refused; each script keeps to one slot)'
}

async function credentialsFor (auth: NonNullable<Config['redis']>['auth'], credential: TokenCredential | undefined,
  print: (line: string) => void): Promise<RedisCredentials | undefined> {
  if (auth.mode === 'none') return undefined
  if (auth.mode === 'password') return { username: auth.username, password: auth.password }
  const refresher = new TokenRefresher({
    credential: credential ?? await defaultAzureCredential(),
    scope: auth.scope,
    log: pino({ level: 'silent' }),
    apply: async () => {}
  })
  const token = await refresher.start()
  refresher.stop()
  const username = auth.username ?? usernameFromToken(token.token)
  print(`token: for ${username}, expires ${new Date(token.expiresOnTimestamp).toISOString()}`)
  return { username, password: token.token }
}
