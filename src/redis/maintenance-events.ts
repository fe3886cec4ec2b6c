// Azure Cache for Redis announces planned maintenance on the pub/sub channel AzureRedisEvents, a message per step,
// pipe-delimited name|value pairs (Azure/AzureCacheForRedis, AzureRedisEvents.md):
//   NotificationType|NodeMaintenanceStarting|StartTimeInUTC|2026-12-04T05:00:00|IsReplica|False|IPAddress|10.0.0.4|
//   SSLPort|15001|NonSSLPort|13001
// The service counts and logs them, and does nothing else: what a maintenance does to a connection (it is closed,
// or a primary turns replica and answers READONLY) the client already meets with a fast 503, a reconnect with
// backoff and, for READONLY, a new connection to wherever the address now leads. Azure's own guidance is that most
// applications need not act on these events, and ioredis offers no hook that acting on them would need (nor does it
// surface the RESP3 push notifications Azure Managed Redis sends in their place). What they give an operator is the
// why of a burst of 503s, next to it in the logs and on a dashboard.
import type { FastifyBaseLogger } from 'fastify'
import { Counter, type Registry } from 'prom-client'
import type { RedisClient } from './connections.js'

export const MAINTENANCE_CHANNEL = 'AzureRedisEvents'
/** The kinds Azure documents; any other is counted as `other`, so that the metric's labels stay few. */
export const MAINTENANCE_EVENT_TYPES = [
  'NodeMaintenanceScheduled', 'NodeMaintenanceStarting', 'NodeMaintenanceStart', 'NodeMaintenanceFailoverComplete',
  'NodeMaintenanceScaleComplete', 'NodeMaintenanceEnded'
] as const
/** The kinds after which requests may fail for a moment: logged at warn. */
const IMMINENT = new Set(['NodeMaintenanceStarting', 'NodeMaintenanceStart'])

export interface MaintenanceEvent {
  type: string
  startTimeUtc?: string
  isReplica?: boolean
  ipAddress?: string
  sslPort?: number
  nonSslPort?: number
}

/** The event a message describes, or undefined when it names no NotificationType. */
export function parseMaintenanceEvent (message: string): MaintenanceEvent | undefined {
  const parts = message.split('|')
  const fields = new Map<string, string>()
  for (let i = 0; i + 1 < parts.length; i += 2) fields.set(parts[i]!, parts[i + 1]!)
  const type = fields.get('NotificationType')
  if (type === undefined || type === '') return undefined
  const port = (name: string) => {
    const value = fields.get(name)
    return value === undefined || !/^\d{1,5}$/.test(value) ? undefined : Number(value)
  }
  const isReplica = fields.get('IsReplica')?.toLowerCase()
  const sslPort = port('SSLPort')
  const nonSslPort = port('NonSSLPort')
  return {
    type,
    ...(fields.has('StartTimeInUTC') && { startTimeUtc: fields.get('StartTimeInUTC') }),
    ...(isReplica !== undefined && { isReplica: isReplica === 'true' }),
    ...(fields.has('IPAddress') && { ipAddress: fields.get('IPAddress') }),
    ...(sslPort !== undefined && { sslPort }),
    ...(nonSslPort !== undefined && { nonSslPort })
  }
}

/**
 * Subscribes to the channel on the subscriber connection (again after each reconnect of a standalone one), counting
 * each event in `redis_maintenance_events_total{type}` and logging it. A Redis that refuses the subscription (an ACL
 * user without the channel) is told of once, at info: the events are a convenience, not a need.
 */
export function listenForMaintenance (subscriber: () => RedisClient, registry: Registry, log: FastifyBaseLogger)
  : void {
  const events = new Counter({
    name: 'redis_maintenance_events_total',
    help: `Maintenance events Azure announced on ${MAINTENANCE_CHANNEL}, by type`,
    labelNames: ['type'],
    registers: [registry]
  })
  const known = new Set<string>(MAINTENANCE_EVENT_TYPES)
  for (const type of [...MAINTENANCE_EVENT_TYPES, 'other']) events.inc({ type }, 0)
  const client = subscriber()
  client.on('message', (channel: string, message: string) => {
    if (channel !== MAINTENANCE_CHANNEL) return
    const event = parseMaintenanceEvent(message)
    if (event === undefined) return
    events.inc({ type: known.has(event.type) ? event.type : 'other' })
    const level = IMMINENT.has(event.type) ? 'warn' : 'info'
    log[level]({ maintenance: event }, `Azure Redis maintenance: ${event.type}`)
  })
  let toldRefusal = false
  const subscribe = () => {
    client.subscribe(MAINTENANCE_CHANNEL).catch((err: Error) => {
      if (toldRefusal) return
      toldRefusal = true
      log.info({ err: { message: err.message } },
        `not subscribed to ${MAINTENANCE_CHANNEL}: maintenance events are not counted (grant the channel to have them)`)
    })
  }
  // A standalone connection is subscribed at each ready, its first included (ioredis does not subscribe it again
  // after a reconnect); a cluster's, once: ioredis subscribes it again wherever it moves.
  if (!client.isCluster) client.on('ready', subscribe)
  if (client.isCluster || client.status === 'ready') subscribe()
}
