// The Redis adapter of the session store. A session lives in one hash keyed by the SHA-256 of its id, so a
// key listing or a dump of Redis yields no usable id; every operation is one Lua script, timed by Redis's clock.
import { createHash } from 'node:crypto'
import type { Cluster, Redis } from 'ioredis'
import type { Preconditions } from './preconditions.js'
import { callRedis } from './redis-call.js'
import { defineScripts } from './redis-commands.js'
import { conditionalDelete } from './redis-conditional-delete.js'
import { encodePreconditions } from './redis-preconditions.js'
import type {
  SessionPatchResult, SessionPutResult, SessionRecord, SessionStore, SessionWrite
} from './session-store.js'
import type { DeleteResult } from './types.js'

export class RedisSessionStore implements SessionStore {
  readonly #redis: Redis | Cluster
  readonly #prefix: string

  constructor (redis: Redis | Cluster, keyPrefix: string) {
    this.#redis = redis
    this.#prefix = `${keyPrefix}session:`
    defineScripts(redis)
  }

  async get (id: string, { touch }: { touch: boolean }): Promise<SessionRecord | undefined> {
    const reply = await callRedis(this.#redis, 'sessionGet', this.#redis.sessionGet(this.#key(id), touch ? '1' : '0'))
    if (reply === null) return undefined
    const [data, etag, ...times] = reply
    return record(data!, etag!, times)
  }

  async put (id: string, write: SessionWrite, preconditions: Preconditions): Promise<SessionPutResult> {
    const [status, ...times] = await callRedis(this.#redis, 'sessionPut',
      this.#redis.sessionPut(this.#key(id), write.data, write.idleTtlSeconds * 1000, write.absoluteTtlSeconds * 1000,
        write.etag, ...encodePreconditions(preconditions)))
    if (status === 0) return { outcome: 'precondition-failed' }
    return { outcome: status === 1 ? 'created' : 'replaced', session: record(write.data, write.etag, times) }
  }

  async patch (id: string, patch: string, { etag, maxBytes }: { etag: string, maxBytes: number },
    preconditions: Preconditions): Promise<SessionPatchResult> {
    const [status, data, ...times] = await callRedis(this.#redis, 'sessionPatch',
      this.#redis.sessionPatch(this.#key(id), patch, etag, maxBytes, ...encodePreconditions(preconditions)))
    if (status === 0) return { outcome: 'precondition-failed' }
    if (status === -1) return { outcome: 'not-found' }
    if (status === -2) return { outcome: 'too-large' }
    return { outcome: 'patched', session: record(data!, etag, times) }
  }

  async delete (id: string, preconditions: Preconditions): Promise<DeleteResult> {
    return (await conditionalDelete(this.#redis, this.#key(id), preconditions)).result
  }

  #key (id: string): string {
    return this.#prefix + createHash('sha256').update(id).digest('base64url')
  }
}

/** The scripts return timestamps as decimal strings, in this order: created, updated, absolute, expires. */
function record (data: string, etag: string, [createdAt, updatedAt, absoluteExpiresAt, expiresAt]: string[])
  : SessionRecord {
  return {
    data,
    etag,
    createdAt: Number(createdAt),
    updatedAt: Number(updatedAt),
    absoluteExpiresAt: Number(absoluteExpiresAt),
    expiresAt: Number(expiresAt)
  }
}
