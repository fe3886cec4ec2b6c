// The permissions the service needs of its Redis user, probed with the commands themselves: a Redis ACL (or an
// Azure data access policy) that lacks one makes the service fail in the middle of a request, so startup and
// `npm run check:redis` name exactly what is missing instead. Each probe touches only keys under KEY_PREFIX and the
// service's own channel, and leaves nothing behind.
import type { RedisClient } from './connections.js'

interface Probe {
  /** What the service needs, as an operator grants it. */
  what: string
  run (client: RedisClient, prefix: string): Promise<unknown>
}

const PROBES: Probe[] = [
  {
    what: 'scripts: EVAL and EVALSHA (+eval +evalsha, or +@scripting)',
    run: async (client) => {
      await client.eval('return 1', 0)
      // An unknown script is NOSCRIPT when EVALSHA is allowed, NOPERM when it is not.
      await client.evalsha('0000000000000000000000000000000000000000', 0).catch((err: Error) => {
        if (!err.message.startsWith('NOSCRIPT')) throw err
      })
    }
  },
  {
    what: 'the clock: TIME (+time)',
    run: async (client) => await client.time()
  },
  {
    what: 'hashes under KEY_PREFIX (~<prefix>*): HSET HMGET HGET HEXISTS HSTRLEN HINCRBY HDEL EXISTS PEXPIRE PTTL DEL',
    run: async (client, prefix) => {
      const key = `${prefix}permission-probe`
      await client.hset(key, 'p', '1')
      await client.hincrby(key, 'p', 1)
      await client.hmget(key, 'p')
      await client.hget(key, 'p')
      await client.hexists(key, 'p')
      await client.hstrlen(key, 'p')
      await client.exists(key)
      await client.pexpire(key, 10_000)
      await client.pttl(key)
      await client.hdel(key, 'p')
      await client.del(key)
    }
  },
  {
    what: 'sorted sets under KEY_PREFIX (tags, and sessions by subject): ZADD ZRANGE ZSCORE ZCARD ZSCAN ZREM ZPOPMIN ' +
      'PEXPIREAT',
    run: async (client, prefix) => {
      const key = `${prefix}tag:permission-probe`
      await client.zadd(key, String(Date.now() + 10_000), 'p')
      await client.zrange(key, '0', '0')
      await client.zscore(key, 'p')
      await client.zcard(key)
      await client.zscan(key, '0')
      await client.pexpireat(key, Date.now() + 10_000)
      await client.zrem(key, 'p')
      await client.zpopmin(key, 1)
    }
  },
  {
    what: 'streams under KEY_PREFIX (the log of session ends): XADD XLEN XRANGE XTRIM SET GET',
    run: async (client, prefix) => {
      // Both keys in one slot, as the log's are: one DEL may not span slots on a cluster.
      const key = `${prefix}{session-events:permission-probe}`
      await client.xadd(key, '*', 'p', '1')
      await client.xlen(key)
      await client.xrange(key, '-', '+', 'COUNT', 1)
      await client.xtrim(key, 'MAXLEN', 0)
      await client.set(`${key}:dropped`, '0-1', 'PX', 10_000)
      await client.get(`${key}:dropped`)
      await client.del(key, `${key}:dropped`)
    }
  },
  {
    what: 'counters under KEY_PREFIX (the shared rate limit): INCRBY PTTL PEXPIRE',
    run: async (client, prefix) => {
      const key = `${prefix}rate-limit:permission-probe`
      await client.incrby(key, 1)
      await client.pttl(key)
      await client.pexpire(key, 10_000)
      await client.del(key)
    }
  },
  {
    what: 'the lease channel <prefix>lease-ended (&<prefix>lease-ended): PUBLISH and SUBSCRIBE (+@pubsub)',
    // Announces the end of a lease on no key: waiting readers listen for their own keys, so nobody wakes.
    run: async (client, prefix) => await client.publish(`${prefix}lease-ended`, '')
  }
]

/** What the user may not do, one line each with Redis's own words; empty when everything is granted. */
export async function missingPermissions (client: RedisClient, prefix: string): Promise<string[]> {
  const missing: string[] = []
  for (const probe of PROBES) {
    try {
      await probe.run(client, prefix)
    } catch (err) {
      const message = (err as Error).message
      // Anything but a refusal (a timeout, a dropped connection) is not the probe's to judge.
      if (!message.startsWith('NOPERM')) throw err
      missing.push(`${probe.what.replaceAll('<prefix>', prefix)}: ${message}`)
    }
  }
  return missing
}
