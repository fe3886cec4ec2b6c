// Whether one script may name keys of different hash slots. A cluster (Azure Managed Redis's OSS policy, Azure Cache
// for Redis Premium clustering) never allows it; behind one endpoint it depends on what answers: a plain Redis and
// Azure Managed Redis's Non-clustered policy do, while its Enterprise policy's proxy refuses the script with CROSSSLOT.
// Nothing here guesses from a host name: each connection asks, as soon as it is ready, by running such a script.
// Until it knows, and after any CROSSSLOT, the answer is no: every script then names one slot's keys, which is
// correct everywhere and only slower where batching would have been allowed.
import type { FastifyBaseLogger } from 'fastify'
import type { Redis } from 'ioredis'
import type { RedisClient } from './connections.js'

const spanning = new WeakMap<RedisClient, boolean>()

/** True only once the client's Redis has run a script naming keys of two slots. */
export function scriptsMaySpanSlots (client: RedisClient): boolean {
  return spanning.get(client) === true
}

/** Redis refused a command for its keys' slots: from now on, scripts keep to one slot. */
export function noteCrossSlotRefusal (client: RedisClient, err: unknown): void {
  if (err instanceof Error && err.message.startsWith('CROSSSLOT')) spanning.set(client, false)
}

/** The probe: two keys under the prefix whose hash tags put them in different slots ({a} 15495, {b} 3300). */
export async function probeCrossSlotScripts (client: Redis, keyPrefix: string): Promise<boolean> {
  try {
    await client.eval('return 1', 2, `${keyPrefix}slot-probe{a}`, `${keyPrefix}slot-probe{b}`)
    return true
  } catch (err) {
    if ((err as Error).message.startsWith('CROSSSLOT')) return false
    throw err
  }
}

/**
 * A single-endpoint client on a node of an OSS cluster would be answered MOVED for the keys of every other node:
 * startup and check:redis refuse it, saying which setting is wrong, rather than fail most requests.
 */
export async function refuseClusterNode (client: RedisClient): Promise<void> {
  if (client.isCluster) return
  // INFO cluster says cluster_enabled:1 on a cluster node. INFO not granted: nothing is known, and requests will say
  // MOVED for themselves.
  const cluster = await (client as Redis).info('cluster').catch(() => '')
  if (!/^cluster_enabled:1/m.test(cluster)) return
  throw new Error('Redis is a node of an OSS cluster (cluster_enabled:1: Azure Managed Redis\'s OSS clustering ' +
    'policy, or Azure Cache for Redis with clustering): set REDIS_CLUSTER=true')
}

/** Asks on every (re)connection of a single-endpoint client: the address may lead elsewhere after a failover. */
export function watchCrossSlotScripts (client: RedisClient, keyPrefix: string, log: FastifyBaseLogger): void {
  if (client.isCluster) return
  let told: boolean | undefined
  const ask = () => {
    spanning.set(client, false)
    probeCrossSlotScripts(client as Redis, keyPrefix).then((allowed) => {
      spanning.set(client, allowed)
      if (told === allowed) return
      told = allowed
      log.info({ crossSlotScripts: allowed }, allowed
        ? 'Redis runs scripts across hash slots: tag invalidations batch their entries'
        : 'Redis refuses scripts across hash slots (a proxy such as Azure Managed Redis\'s Enterprise policy): ' +
          'every script names one slot\'s keys')
    }, (err: Error) => {
      log.warn({ err: { message: err.message } }, 'could not learn whether Redis runs scripts across hash slots')
    })
  }
  client.on('ready', ask)
  if (client.status === 'ready') ask()
}
