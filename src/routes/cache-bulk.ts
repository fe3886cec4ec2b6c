// The /cache-bulk operations: read, write or delete many cache entries in one request, each key with its own
// outcome. Each key is handled exactly as its one-by-one request would be (isolation, scopes, preconditions, tags),
// and the store's commands for all keys leave in one tick, which ioredis's auto-pipelining sends as one round trip
// per Redis node. Nothing spans keys: a bulk write is not a transaction.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { authenticatedCaller } from '../auth/caller.js'
import { PayloadTooLargeError } from '../errors.js'
import { freshSeconds } from '../http/cache-status.js'
import { requireMediaType } from '../http/media-type.js'
import { CACHE_KEY_MAX_CHARACTERS, CacheDeleteQuerySchema } from '../schemas/cache.js'
import { cacheControlRequestSchema } from '../schemas/cache-lease.js'
import {
  BulkDeleteResultSchema, bulkKeysSchema, bulkPutSchema, BulkPutResultSchema, BulkReadSchema
} from '../schemas/cache-bulk.js'
import type { CacheLookup, CacheStore, ReadDirectives } from '../store/cache-store.js'
import { StoreFullError, StoreUnavailableError } from '../store/types.js'
import { inBatchSpan } from '../tracer.js'
import { entryToStore, lookupResult, servedMediaType } from './cache-entry.js'
import { storeNamesOf, type KeyIsolation } from './cache-namespace.js'

export interface CacheBulkRoutesOptions {
  defaultTtlSeconds: number
  maxTtlSeconds: number
  maxValueBytes: number
  /** Keys (or entries) one bulk request may name. */
  bulkMaxKeys: number
  /** Value bytes one bulk read may answer with. */
  bulkMaxResponseBytes: number
  keyIsolation: KeyIsolation
  /** The longest stale-if-error a read may ask for (0: it is not offered). */
  maxStaleIfErrorSeconds: number
}

/** A JSON-escaped key takes at most twelve characters per character (a surrogate pair as two \uXXXX), and its
 * object some punctuation. */
const KEY_BYTES_IN_JSON = CACHE_KEY_MAX_CHARACTERS * 12 + 64

export const cacheBulkRoutes: FastifyPluginAsyncZod<CacheBulkRoutesOptions> = async (app, options) => {
  const storeNames = storeNamesOf(options.keyIsolation)
  const limits = {
    maxKeys: options.bulkMaxKeys, maxTtlSeconds: options.maxTtlSeconds, maxValueBytes: options.maxValueBytes
  }
  const keysBodyLimit = options.bulkMaxKeys * KEY_BYTES_IN_JSON + 1024
  // Room for a few of the largest values, base64 taking 4 characters for every 3 bytes, or many small ones.
  const putBodyLimit = 4 * options.maxValueBytes + options.bulkMaxKeys * (KEY_BYTES_IN_JSON + 1024)
  // Only JSON: a text/plain body is refused unread with 415 rather than parsed as a string and refused with 400.
  app.addHook('preParsing', requireMediaType('application/json'))
  const errors = ['CS_VALIDATION', 'CS_PAYLOAD_TOO_LARGE', 'CS_UNSUPPORTED_MEDIA_TYPE', 'CS_STORE_UNAVAILABLE'] as const

  app.post('/get', {
    bodyLimit: keysBodyLimit,
    schema: {
      summary: 'Read many cached values at once',
      description: 'Answers every key, in the order asked, with its value (base64) or `found: false`. One answer ' +
        `carries at most ${options.bulkMaxResponseBytes} bytes of values: each key may first take an equal share, ` +
        'the rest goes in the order asked, and an entry that does not fit is answered `tooLarge: true`, to be read ' +
        'alone with GET /cache/{key}.',
      tags: ['cache'],
      operationId: 'getCacheEntries',
      body: bulkKeysSchema(limits),
      headers: z.object({ 'cache-control': cacheControlRequestSchema(options.maxStaleIfErrorSeconds).optional() }),
      response: { 200: BulkReadSchema }
    },
    config: {
      scope: 'cache:read',
      openapi: { responses: { 200: { description: 'One outcome per key' } }, errors }
    }
  }, async (request) => {
    const storeName = storeNames(authenticatedCaller(request))
    const found = await inBatchSpan('cache bulk read', { 'cache_service.bulk.keys': request.body.keys.length },
      async () => await readWithin(app.cacheStore, request.body.keys.map(storeName), options.bulkMaxResponseBytes,
        request.headers['cache-control']))
    return {
      entries: request.body.keys.map((key, i) => {
        const { entry, tooLarge } = found[i]!
        if (tooLarge === true) return { key, found: true, tooLarge: true }
        app.metrics.cacheLookups[lookupResult(entry)].inc()
        if (entry === undefined) return { key, found: false }
        const { value, etag, ttlMs } = entry
        // A stale entry is served, as GET serves it, with no freshness left, and said to be stale.
        return {
          key,
          found: true,
          value: value.toString('base64'),
          contentType: servedMediaType(entry),
          etag,
          ttlSeconds: freshSeconds(ttlMs),
          stale: lookupResult(entry) === 'stale'
        }
      })
    }
  })

  app.post('/put', {
    bodyLimit: putBodyLimit,
    schema: {
      summary: 'Store many values at once, each with its own TTL, media type, tags and preconditions',
      description: 'Each entry is written, or refused by its own preconditions, independently of the others. ' +
        `A value over ${options.maxValueBytes} bytes, or a body over ${putBodyLimit} bytes, refuses the whole ` +
        'request with 413 before anything is written.',
      tags: ['cache'],
      operationId: 'putCacheEntries',
      body: bulkPutSchema(limits),
      response: { 200: BulkPutResultSchema }
    },
    config: {
      scope: 'cache:write',
      openapi: {
        responses: { 200: { description: 'One outcome per entry' } },
        errors: [...errors, 'CS_STORE_FULL']
      }
    }
  }, async (request) => {
    const storeName = storeNames(authenticatedCaller(request))
    const writes = request.body.entries.map((entry, index) => {
      const value = Buffer.from(entry.value, 'base64')
      if (value.length > options.maxValueBytes) {
        throw new PayloadTooLargeError(`entries[${index}]: values are limited to ${options.maxValueBytes} bytes`)
      }
      return { key: entry.key, entry, toStore: entryToStore({ ...entry, value }, options.defaultTtlSeconds, storeName) }
    })
    const settled = await inBatchSpan('cache bulk write', { 'cache_service.bulk.keys': writes.length }, async () =>
      await Promise.allSettled(writes.map(async ({ key, entry, toStore }) => await app.cacheStore.put(storeName(key),
        toStore, { ifMatch: entry.ifMatch, ifNoneMatch: entry.ifNoneMatch }))))
    return {
      results: outcomesOf(settled).map((outcome, i) => {
        const { key, toStore: { etag } } = writes[i]!
        if (outcome === 'created' || outcome === 'replaced') return { key, outcome, etag }
        // A bulk write names no lease, so none can be lost.
        return { key, outcome: outcome === 'lease-lost' ? 'precondition-failed' : outcome }
      })
    }
  })

  app.post('/delete', {
    bodyLimit: keysBodyLimit,
    schema: {
      summary: 'Remove (or mark stale) many cached values at once',
      tags: ['cache'],
      operationId: 'deleteCacheEntries',
      querystring: CacheDeleteQuerySchema,
      body: bulkKeysSchema(limits),
      response: { 200: BulkDeleteResultSchema }
    },
    config: {
      scope: 'cache:write',
      openapi: { responses: { 200: { description: 'One outcome per key' } }, errors }
    }
  }, async (request) => {
    const storeName = storeNames(authenticatedCaller(request))
    const { keys } = request.body
    const settled = await inBatchSpan('cache bulk delete', { 'cache_service.bulk.keys': keys.length }, async () =>
      await Promise.allSettled(keys.map(async (key) =>
        await app.cacheStore.delete(storeName(key), {}, request.query.mode))))
    return { results: outcomesOf(settled).map((outcome, i) => ({ key: keys[i]!, outcome: outcome as DeleteOutcome })) }
  })
}

/**
 * Reads the keys with at most `budget` value bytes in memory, whatever is stored. Each key may first take an equal
 * share of the budget; what is left then goes, key by key in the order asked, to the values that were larger than
 * their share. A value that still does not fit is not read (tooLarge), and the caller reads it alone.
 * A read changes nothing, so a failure of any key fails the request, which the caller may simply retry.
 */
async function readWithin (store: CacheStore, keys: readonly string[], budget: number,
  directives: ReadDirectives | undefined)
  : Promise<CacheLookup[]> {
  const share = Math.floor(budget / keys.length)
  const found = await Promise.all(keys.map(async (key) => await store.get(key, undefined, share, directives)))
  let left = budget - found.reduce((sum, { entry }) => sum + (entry?.value.length ?? 0), 0)
  for (const [i, lookup] of found.entries()) {
    if (lookup.tooLarge !== true || left <= share) continue
    found[i] = await store.get(keys[i]!, undefined, left, directives)
    left -= found[i]!.entry?.value.length ?? 0
  }
  return found
}

type DeleteOutcome = 'deleted' | 'not-found' | 'store-unavailable'

/**
 * Each key's outcome. A store failure is that key's outcome while other keys went through, so that the caller learns
 * exactly what was written; when every key failed, the request fails as a one-by-one request would (503 or 507).
 */
function outcomesOf<T extends string> (settled: Array<PromiseSettledResult<T>>)
  : Array<T | 'store-unavailable' | 'store-full'> {
  if (settled.every((result) => result.status === 'rejected')) throw (settled[0] as PromiseRejectedResult).reason
  return settled.map((result) => {
    if (result.status === 'fulfilled') return result.value
    if (result.reason instanceof StoreFullError) return 'store-full'
    if (result.reason instanceof StoreUnavailableError) return 'store-unavailable'
    throw result.reason
  })
}
