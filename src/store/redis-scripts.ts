// The Lua scripts of the Redis adapters, registered once per client, and what calling them needs:
// the encoding of preconditions they understand, and the mapping of Redis failures to 503s.
import { channel } from 'node:diagnostics_channel'
import { readFileSync } from 'node:fs'
import type { Cluster, Redis, Result } from 'ioredis'
import { StoreUnavailableError } from '../errors.js'
import type { EntityTagList, Preconditions } from '../http/conditional.js'
import type { DeleteResult } from './cache-store.js'

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

/** Registers every script on the client (once); ioredis then calls them by EVALSHA, with EVAL as fallback. */
export function defineScripts (redis: Redis | Cluster): void {
  if (registered.has(redis)) return
  registered.add(redis)
  for (const [name, files] of Object.entries(SCRIPTS)) {
    redis.defineCommand(name, { numberOfKeys: 1, lua: files.map(read).join('\n') })
  }
}

/** Every store command's name, duration and outcome, for the metrics plugin (or anyone) to subscribe to. */
export const redisCommandChannel = channel('cache-service:redis:command')

export interface RedisCommandEvent {
  command: string
  durationMs: number
  failed: boolean
}

/**
 * Runs one store command. Any failure to get an answer from Redis (down, timed out, refusing writes) is a 503 to
 * the caller; every command, failed or not, is published on redisCommandChannel.
 */
export async function callRedis<T> (command: string, reply: Promise<T>): Promise<T> {
  const started = performance.now()
  let failed = false
  try {
    return await reply
  } catch (err) {
    failed = true
    throw new StoreUnavailableError('Redis did not answer in time; retry shortly', { cause: err })
  } finally {
    if (redisCommandChannel.hasSubscribers) {
      const event: RedisCommandEvent = { command, durationMs: performance.now() - started, failed }
      redisCommandChannel.publish(event)
    }
  }
}

/**
 * If-Match and If-None-Match as lua/preconditions.lua expects them: '' when absent, '*', or tags separated by
 * newlines. Weak tags stay in If-Match so that they never equal a stored strong tag (strong comparison);
 * If-None-Match loses the W/ prefix (weak comparison).
 */
export function encodePreconditions ({ ifMatch, ifNoneMatch }: Preconditions): [string, string] {
  const encode = (list: EntityTagList | undefined, strip: boolean) => {
    if (list === undefined) return ''
    if (list === '*') return '*'
    return list.map((tag) => (strip && tag.startsWith('W/') ? tag.slice(2) : tag)).join('\n')
  }
  return [encode(ifMatch, false), encode(ifNoneMatch, true)]
}

const DELETE_RESULTS: Record<number, DeleteResult> = { '-1': 'not-found', 0: 'precondition-failed', 1: 'deleted' }

export async function conditionalDelete (redis: Redis | Cluster, key: string, preconditions: Preconditions)
  : Promise<DeleteResult> {
  const [ifMatch, ifNoneMatch] = encodePreconditions(preconditions)
  const reply = await callRedis('conditionalDelete', redis.conditionalDelete(key, ifMatch, ifNoneMatch))
  return DELETE_RESULTS[reply]!
}
