// The Redis adapter's tag bookkeeping. A tag is a sorted set (<prefix>tag:<tag>) of its entries' writes, members
// "<write id>:<key>" scored by when the write's entry expires; the entry's hash names its write id and tags (w, g).
// A tag and its entries may hash to different slots, so nothing here spans them in one script: each step is a
// command on one key, and the steps are ordered so that an entry is never live but unnamed by a tag it carries. (The
// one exception, an invalidation's batch of entries in one script, is taken only where Redis allows it: see
// src/redis/slots.ts. Azure Managed Redis's Enterprise proxy shows one endpoint but refuses such a script.)
//
// - A tagged write joins its tags, is written, then confirms that its memberships are still there: an invalidation
//   that took one in between is answered by evicting the write it took (it counts as removed by that invalidation).
// - A write or delete that replaces a tagged entry forgets the old write's memberships, so a tag holds one member per
//   live entry, not one per write. Should the service die between the two steps, the member left names a write that
//   no longer is: an invalidation takes it at no cost, and it expires with the entry it named.
// - An invalidation takes members in batches (read and removed in one step, lua/tag-take.lua), evicts each entry
//   that is still the write named, and forgets the evicted entries' other memberships. Each command is bounded, so
//   Redis serves everyone else between them, whatever the tag's size.
// - A soft invalidation (mode stale) marks the entries stale instead, and takes no member: a marked entry still
//   carries the tag, and a later invalidation must find it. It walks the tag with ZSCAN, which returns every member
//   present from start to end at least once, whatever joins or leaves meanwhile; a write that joins the tag while it
//   runs is concurrent with it, and marked or not. A member seen twice is marked once (the second time it is stale).
import { randomUUID } from 'node:crypto'
import type { Cluster, Redis } from 'ioredis'
import { scriptsMaySpanSlots } from '../redis/slots.js'
import type { InvalidationMode, TagInvalidation } from './cache-store.js'
import { inBatchSpan } from '../tracer.js'
import { callRedis, type StoreCommand } from './redis-call.js'

/** A write id is a UUID: a member is "<36 characters>:<key>". */
const WRITE_ID_LENGTH = 36
/**
 * Members an invalidation takes at once: the batch's scripts (a take, then an eviction per member, pipelined) hold
 * Redis for about a millisecond, so another caller's command waits no longer than that.
 */
export const TAG_BATCH = 256

/** A tagged write of an entry: the id its memberships name, and the tags (store names) it joined. */
export interface TaggedWrite {
  writeId: string
  tags: readonly string[]
}

/** What a script returns of a replaced or deleted entry's write id and space-separated tags. */
export function taggedWriteOf (writeId: string | undefined, tags: string | undefined): TaggedWrite | undefined {
  if (writeId === undefined || writeId === '') return undefined
  return { writeId, tags: tags === undefined || tags === '' ? [] : tags.split(' ') }
}

export class RedisTagIndex {
  readonly #redis: Redis | Cluster
  readonly #entryPrefix: string
  readonly #tagPrefix: string
  readonly #changeChannel: string
  readonly #changing: (key: string) => void

  /** changing: told of every entry key an invalidation is about to change, before it is sent. */
  constructor (redis: Redis | Cluster, keyPrefix: string, changeChannel: string, changing: (key: string) => void) {
    this.#changing = changing
    this.#redis = redis
    this.#entryPrefix = `${keyPrefix}cache:`
    this.#tagPrefix = `${keyPrefix}tag:`
    this.#changeChannel = changeChannel
  }

  /** A new write of `key` with `tags`: its id, and its memberships joined, before the entry is written. */
  async join (key: string, tags: readonly string[], ttlMs: number): Promise<TaggedWrite | undefined> {
    if (tags.length === 0) return undefined
    const write = { writeId: randomUUID(), tags }
    const member = `${write.writeId}:${key}`
    await Promise.all(tags.map(async (tag) =>
      await callRedis(this.#redis, 'tagAdd', this.#redis.tagAdd(this.#tagPrefix + tag, member, ttlMs))))
    return write
  }

  /**
   * After the entry was written: confirms `written`'s memberships (evicting it if an invalidation took one) and
   * forgets `replaced`'s. The write is stored whatever happens here, so this never fails: a membership Redis does
   * not confirm or forget in time stays, harmless, until an invalidation takes it or it expires.
   */
  async settle (key: string, written: TaggedWrite | undefined, replaced: TaggedWrite | undefined): Promise<void> {
    try {
      await Promise.all([this.#confirm(key, written), this.forget(key, replaced)])
    } catch {}
  }

  /** Forgets a write's memberships: it was refused, replaced or deleted. */
  async forget (key: string, write: TaggedWrite | undefined): Promise<void> {
    if (write === undefined) return
    const member = `${write.writeId}:${key}`
    await Promise.all(write.tags.map(async (tag) =>
      await callRedis(this.#redis, 'tagForget', this.#redis.zrem(this.#tagPrefix + tag, member))))
  }

  async #confirm (key: string, write: TaggedWrite | undefined): Promise<void> {
    if (write === undefined) return
    const member = `${write.writeId}:${key}`
    const scores = await Promise.all(write.tags.map(async (tag) =>
      await callRedis(this.#redis, 'tagConfirm', this.#redis.zscore(this.#tagPrefix + tag, member))))
    if (scores.every((score) => score !== null)) return
    // Taken by an invalidation while the entry was being written: it is that invalidation's to remove.
    await this.#evict([member])
  }

  /** Removes, or marks stale, every entry of the tag, a batch at a time. */
  async invalidate (tag: string, mode: InvalidationMode): Promise<TagInvalidation> {
    if (mode === 'stale') return await this.#markStale(tag)
    return { removed: await this.#remove(tag), markedStale: 0 }
  }

  /** Removes every entry of the tag, and resolves to how many entries it removed. */
  async #remove (tag: string): Promise<number> {
    const tagKey = this.#tagPrefix + tag
    // The members there when it starts, and no more: writes that keep joining the tag while it runs are concurrent
    // with it, and must not keep it running for ever.
    let left = await callRedis(this.#redis, 'tagCount', this.#redis.zcard(tagKey))
    let removed = 0
    while (left > 0) {
      const batch = { 'cache_service.tag.mode': 'remove' }
      const taken = await inBatchSpan('tag invalidation batch', batch, async (span) => {
        const members = await callRedis(this.#redis, 'tagTake',
          this.#redis.tagTake(tagKey, Math.min(left, TAG_BATCH)))
        const evicted = members.length === 0 ? 0 : await this.#evict(members, tag)
        span.setAttributes({ 'cache_service.tag.members': members.length, 'cache_service.tag.removed': evicted })
        return { members: members.length, evicted }
      })
      if (taken.members === 0) break
      left -= taken.members
      removed += taken.evicted
    }
    return removed
  }

  async #markStale (tag: string): Promise<TagInvalidation> {
    const tagKey = this.#tagPrefix + tag
    const outcome = { removed: 0, markedStale: 0 }
    let cursor = '0'
    do {
      cursor = await inBatchSpan('tag invalidation batch', { 'cache_service.tag.mode': 'stale' }, async (span) => {
        const [next, membersAndScores] = await callRedis(this.#redis, 'tagScan',
          this.#redis.zscan(tagKey, cursor, 'COUNT', TAG_BATCH))
        const members = membersAndScores.filter((_, i) => i % 2 === 0)
        const replies = await this.#perEntry(members, 'tagMarkStale', (count, keysThenArgs) =>
          this.#redis.tagMarkStale(count, ...keysThenArgs))
        const removed = replies.filter(({ reply }) => typeof reply === 'string')
        const markedStale = replies.filter(({ reply }) => reply === 1).length
        outcome.markedStale += markedStale
        outcome.removed += removed.length
        span.setAttributes({
          'cache_service.tag.members': members.length,
          'cache_service.tag.marked_stale': markedStale,
          'cache_service.tag.removed': removed.length
        })
        // An entry removed for having no stale window leaves its memberships, this tag's included, to be forgotten.
        await Promise.all(removed.map(async ({ key, writeId, reply }) =>
          await this.forget(key, { writeId, tags: (reply as string).split(' ').filter((name) => name !== '') })))
        return next
      })
    } while (cursor !== '0')
    return outcome
  }

  /**
   * Runs a script of tag-evict.lua's shape for the entries that members name. Where Redis runs scripts across
   * slots (one plain server), one call for the batch. Elsewhere one call per key, and only for the entries still
   * the write their member names: a plain HGET of each write id first. Most members of a large tag name writes long
   * replaced or expired, and a read costs Redis a fraction of a script call. A write id is never reused, so a member
   * found stale stays so; one found current is checked again by the script. All of a step's commands are sent in
   * one tick, which auto-pipelining makes one round trip per node. Resolves to each member's entry key, write id and
   * reply (0 for a stale member).
   */
  async #perEntry<R> (members: readonly string[], command: StoreCommand,
    script: (count: number, keysThenArgs: string[]) => Promise<R[]>)
    : Promise<Array<{ key: string, writeId: string, reply: R | 0 }>> {
    const writes = members.map((member) =>
      ({ writeId: member.slice(0, WRITE_ID_LENGTH), key: member.slice(WRITE_ID_LENGTH + 1) }))
    if (scriptsMaySpanSlots(this.#redis)) {
      const keys = writes.map(({ key }) => this.#entryPrefix + key)
      for (const key of keys) this.#changing(key)
      const replies = await callRedis(this.#redis, command,
        script(keys.length, [...keys, ...writes.map(({ writeId }) => writeId), this.#changeChannel]))
      return writes.map((write, i) => ({ ...write, reply: replies[i]! }))
    }
    return await Promise.all(writes.map(async (write) => {
      const key = this.#entryPrefix + write.key
      if (await callRedis(this.#redis, 'hget', this.#redis.hget(key, 'w')) !== write.writeId) {
        return { ...write, reply: 0 as const }
      }
      this.#changing(key)
      const [reply] = await callRedis(this.#redis, command, script(1, [key, write.writeId, this.#changeChannel]))
      return { ...write, reply: reply! }
    }))
  }

  /**
   * Deletes the entries that members name, each if it is still that write, and forgets their memberships in their
   * other tags (`taken`: the tag the members were taken from, which holds them no more). Resolves to how many it
   * deleted.
   */
  async #evict (members: readonly string[], taken?: string): Promise<number> {
    const replies = await this.#perEntry(members, 'tagEvict', (count, keysThenArgs) =>
      this.#redis.tagEvict(count, ...keysThenArgs))
    const deleted = replies.flatMap(({ key, writeId, reply: tags }) => {
      if (tags === 0) return []
      return [{ key, write: { writeId, tags: tags.split(' ').filter((tag) => tag !== '' && tag !== taken) } }]
    })
    await Promise.all(deleted.map(async ({ key, write }) => await this.forget(key, write)))
    return deleted.length
  }
}
