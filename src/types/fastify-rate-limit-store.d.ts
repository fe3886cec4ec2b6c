// @fastify/rate-limit ships no types for its Redis store module; redis/rate-limit-store.ts wraps it.
declare module '@fastify/rate-limit/store/RedisStore.js' {
  import type { Cluster, Redis } from 'ioredis'

  export default class RedisStore {
    constructor (continueExceeding: boolean, exponentialBackoff: boolean, redis: Redis | Cluster, key: string)
    incr (key: string, callback: (err: Error | null, result?: { current: number, ttl: number }) => void,
      timeWindow: number, max: number): void
    read (key: string, callback: (err: Error | null, result?: { current: number, ttl: number }) => void,
      timeWindow: number, max: number): void
    child (routeOptions: object): RedisStore
  }
}
