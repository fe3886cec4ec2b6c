// DELETE with preconditions of a cache entry (lua/conditional-delete.lua), and its soft twin (cache-mark-stale.lua);
// memory-conditional-delete.ts is their twin. Sessions have their own (lua/session-delete.lua).
import type { Cluster, Redis } from 'ioredis'
import type { Preconditions } from './preconditions.js'
import { callRedis } from './redis-call.js'
import { encodePreconditions } from './redis-preconditions.js'
import { taggedWriteOf, type TaggedWrite } from './redis-tag-index.js'
import type { DeleteResult } from './types.js'

const DELETE_RESULTS: Record<number, DeleteResult> = { '-1': 'not-found', 0: 'precondition-failed', 1: 'deleted' }

/**
 * changeChannel: where a change of the key (and so the end of its lease) is announced.
 * Resolves to the outcome and, for a deleted tagged cache entry, the write whose tag memberships are now stale.
 */
export async function conditionalDelete (redis: Redis | Cluster, key: string, preconditions: Preconditions,
  changeChannel: string): Promise<{ result: DeleteResult, deleted: TaggedWrite | undefined }> {
  const [ifMatch, ifNoneMatch] = encodePreconditions(preconditions)
  const [reply, writeId, tags] = await callRedis(redis, 'conditionalDelete',
    redis.conditionalDelete(key, ifMatch, ifNoneMatch, changeChannel))
  return { result: DELETE_RESULTS[reply]!, deleted: taggedWriteOf(writeId, tags) }
}

/** DELETE ?mode=stale of a cache entry: 'deleted' when it is marked stale, or removed for having no stale window. */
export async function conditionalMarkStale (redis: Redis | Cluster, key: string, preconditions: Preconditions,
  changeChannel: string): Promise<{ result: DeleteResult, deleted: TaggedWrite | undefined }> {
  const [ifMatch, ifNoneMatch] = encodePreconditions(preconditions)
  const [reply, writeId, tags] = await callRedis(redis, 'cacheMarkStale',
    redis.cacheMarkStale(key, ifMatch, ifNoneMatch, changeChannel))
  return { result: DELETE_RESULTS[Math.min(reply, 1)]!, deleted: taggedWriteOf(writeId, tags) }
}
