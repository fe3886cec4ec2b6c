// The Lua scripts of the Redis adapters as ioredis commands: their typed signatures, and their registration,
// once per client. ioredis then calls each by EVALSHA, with EVAL as the fallback.
import { readFileSync } from 'node:fs'
import type { Cluster, Redis, Result } from 'ioredis'

declare module 'ioredis' {
  interface RedisCommander<Context> {
    cachePut (key: string, value: Buffer, contentType: string, etag: string, freshMs: number,
      ifMatch: string, ifNoneMatch: string, writeId: string, staleMs: number, leaseToken: string,
      leaseChannel: string): Result<number, Context>
    tagAdd (key: string, member: string, ttlMs: number): Result<number, Context>
    tagMembers (key: string): Result<string[], Context>
    tagEvict (key: string, writeId: string): Result<number, Context>
    cacheGetBuffer (key: string, leaseTtlMs: string, leaseToken: string): Result<
      [Buffer | null, Buffer | null, Buffer | null, number, number, Buffer, number], Context>
    conditionalDelete (key: string, ifMatch: string, ifNoneMatch: string, leaseChannel: string)
    : Result<number, Context>
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
  cachePut: ['preconditions', 'clock', 'cache-put'],
  cacheGet: ['clock', 'cache-get'],
  tagAdd: ['clock', 'tag-add'],
  tagMembers: ['clock', 'tag-members'],
  tagEvict: ['tag-evict'],
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
