// The connections behind a client, and how new credentials reach them: a Cluster holds one connection per node.
import type { Cluster, Redis } from 'ioredis'

export type RedisClient = Redis | Cluster

export interface RedisCredentials {
  username: string | undefined
  password: string
}

export function connectionsOf (client: RedisClient): Redis[] {
  return client.isCluster ? (client as Cluster).nodes('all') : [client as Redis]
}

/**
 * Writes credentials into the client's options, where every future connection and reconnection reads them.
 * A Cluster copies its redisOptions into its connection pool when it is built, and that copy is what new node
 * connections are made from, so it is updated too; ioredis offers no public way to reach it.
 */
export function setCredentials (client: RedisClient, { username, password }: RedisCredentials): void {
  if (!client.isCluster) {
    Object.assign((client as Redis).options, { username, password })
    return
  }
  const cluster = client as Cluster
  cluster.options.redisOptions = { ...cluster.options.redisOptions, username, password }
  const pool = (cluster as unknown as { connectionPool?: { redisOptions?: object } }).connectionPool
  if (pool?.redisOptions !== undefined) Object.assign(pool.redisOptions, { username, password })
  for (const node of cluster.nodes('all')) Object.assign(node.options, { username, password })
}
