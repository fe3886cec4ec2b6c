// The Lua scripts of the Redis adapters as ioredis commands: their typed signatures, and their registration,
// once per client. ioredis then calls each by EVALSHA, with EVAL as the fallback.
import { readFileSync } from 'node:fs'
import type { Cluster, Redis, Result } from 'ioredis'

declare module 'ioredis' {
  interface RedisCommander<Context> {
    cachePut (key: string, value: Buffer, contentType: string, etag: string, ttlMs: number,
      ifMatch: string, ifNoneMatch: string): Result<number, Context>
    cacheGetBuffer (key: string): Result<[Buffer, Buffer, Buffer, number] | null, Context>
    conditionalDelete (key: string, ifMatch: string, ifNoneMatch: string): Result<number, Context>
    sessionGet (key: string, touch: '1' | '0'): Result<string[] | null, Context>
    sessionPut (key: string, data: string, idleTtlMs: number, absoluteTtlMs: number, etag: string,
      ifMatch: string, ifNoneMatch: string): Result<[number, ...string[]], Context>
    sessionPatch (key: string, patch: string, etag: string, maxBytes: number,
      ifMatch: string, ifNoneMatch: string): Result<[number, string?, ...string[]], Context>
  }
}

const read = (name: string) => readFileSync(new URL(`./lua/${name}.lua`, import.meta.url), 'utf8')

/** Each script's source is its file, preceded by the shared preludes it uses. */
const SCRIPTS = {
  cachePut: ['preconditions', 'cache-put'],
  cacheGet: ['cache-get'],
  conditionalDelete: ['preconditions', 'conditional-delete'],
  sessionGet: ['clock', 'session-get'],
  sessionPut: ['preconditions', 'clock', 'session-put'],
  sessionPatch: ['preconditions', 'clock', 'json-merge-patch', 'session-patch']
} as const

const registered = new WeakSet<Redis | Cluster>()

/** Registers every script on the client, once however many adapters share it. */
export function defineScripts (redis: Redis | Cluster): void {
  if (registered.has(redis)) return
  registered.add(redis)
  for (const [name, files] of Object.entries(SCRIPTS)) {
    redis.defineCommand(name, { numberOfKeys: 1, lua: files.map(read).join('\n') })
  }
}
