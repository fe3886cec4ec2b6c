// The /cache/:key resource: opaque bytes with a media type, a TTL, a strong ETag and RFC 9110 preconditions.
import type { FastifyReply } from 'fastify'
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { authenticatedCaller, hasScope } from '../auth/caller.js'
import { NotFoundError, PreconditionFailedError, UnsupportedMediaTypeError } from '../errors.js'
import { freshSeconds, setCacheStatus, setLease } from '../http/cache-status.js'
import { preconditionsOf } from '../http/conditional.js'
import { BINARY, linksToSameResource } from '../openapi/responses.js'
import {
  CacheDeleteQuerySchema, CacheParamsSchema, cachePutQuerySchema, CacheTagHeaderSchema, CacheTagQuerySchema,
  DEFAULT_MEDIA_TYPE, MEDIA_TYPE_MAX_BYTES, isMediaType, MediaTypeSchema, TagInvalidationSchema
} from '../schemas/cache.js'
import {
  cacheControlRequestSchema, CacheLeaseTokenSchema, cacheLeaseRequestSchema, PreferSchema
} from '../schemas/cache-lease.js'
import { ConditionalHeadersSchema } from '../schemas/conditional.js'
import { lookupWithLease } from '../store/lease-lookup.js'
import { evaluatePreconditions } from '../store/preconditions.js'
import { entryToStore, lookupResult, servedMediaType } from './cache-entry.js'
import { storeNamesOf, type KeyIsolation } from './cache-namespace.js'

export interface CacheRoutesOptions {
  defaultTtlSeconds: number
  maxTtlSeconds: number
  maxValueBytes: number
  /** A lease's lifetime when the caller names none, and the longest it may name. */
  leaseTtlSeconds: number
  leaseMaxTtlSeconds: number
  /** caller: each caller's keys live in a namespace of its own, so no caller can read another's entries. */
  keyIsolation: KeyIsolation
  /** The longest stale-if-error a read may ask for (0: it is not offered). */
  maxStaleIfErrorSeconds: number
}

/** What a caller may do next with the entry it wrote. */
const WRITTEN_ENTRY = linksToSameResource('key', '$request.path.key', ['getCacheEntry', 'deleteCacheEntry'])
const notFound = () => new NotFoundError('There is no cache entry for this key')
const preconditionFailed = () => new PreconditionFailedError('The entry does not match the preconditions')
const leaseLost = () => new PreconditionFailedError('The lease is no longer current; nothing was stored')

/** Aborted when the client goes away before its answer is sent: a waiting reader then stops waiting at once. */
function clientGone (reply: FastifyReply): AbortSignal {
  const controller = new AbortController()
  reply.raw.once('close', () => { if (!reply.raw.writableFinished) controller.abort() })
  return controller.signal
}

export const cacheRoutes: FastifyPluginAsyncZod<CacheRoutesOptions> = async (app, limits) => {
  const storeNames = storeNamesOf(limits.keyIsolation)
  const PutHeadersSchema = ConditionalHeadersSchema.extend({
    'cache-tag': CacheTagHeaderSchema.optional(),
    'cache-lease-token': CacheLeaseTokenSchema.optional(),
    'cache-content-type': MediaTypeSchema.optional()
      .describe('The media type to store the value under, and to serve it in, whatever the body\'s Content-Type. ' +
        'Clients generated from this document send every body as application/octet-stream and name its type here')
  })
  const GetHeadersSchema = ConditionalHeadersSchema.extend({
    'cache-lease': cacheLeaseRequestSchema(limits.leaseTtlSeconds, limits.leaseMaxTtlSeconds).optional(),
    prefer: PreferSchema.optional(),
    'cache-control': cacheControlRequestSchema(limits.maxStaleIfErrorSeconds).optional()
  })

  // Values are opaque: whatever the media type, the body is kept as the exact bytes that were sent.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => {
    done(null, body)
  })

  app.route({
    // HEAD answers with the status and headers of GET; the OpenAPI document lists it as headCacheEntry.
    method: ['GET', 'HEAD'],
    url: '/:key',
    schema: {
      summary: 'Read a cached value',
      tags: ['cache'],
      operationId: 'getCacheEntry',
      params: CacheParamsSchema,
      headers: GetHeadersSchema
    },
    config: {
      scope: 'cache:read',
      loggedParams: ['key'],
      openapi: {
        responses: {
          200: {
            description: 'The stored bytes, in their media type; stale (Cache-Status ttl below 0) within its stale ' +
              'window, when Cache-Lease says who refreshes it',
            binary: true
          },
          304: { description: 'The copy named in If-None-Match is current' }
        },
        errors: ['CS_VALIDATION', 'CS_NOT_FOUND', 'CS_PRECONDITION_FAILED', 'CS_STORE_UNAVAILABLE', 'CS_STORE_FULL']
      }
    },
    handler: async (request, reply) => {
      const { 'cache-lease': leaseSeconds, prefer: waitSeconds } = request.headers
      const caller = authenticatedCaller(request)
      const waitMs = Math.min(waitSeconds ?? 0, limits.leaseMaxTtlSeconds) * 1000
      // A lease is a promise to write the value: a caller that may not write is answered as if it had not asked
      // (it may still wait), or it would hold off every writer for the lease's lifetime.
      const leaseTtlMs = leaseSeconds !== undefined && hasScope(caller, 'cache:write') ? leaseSeconds * 1000 : undefined
      const key = storeNames(caller)(request.params.key)
      const found = await lookupWithLease(app.cacheStore, key, {
        lease: leaseTtlMs === undefined ? undefined : { ttlMs: leaseTtlMs },
        waitMs,
        directives: request.headers['cache-control'],
        waiter: { caller: caller.id, signal: waitMs > 0 ? clientGone(reply) : undefined }
      })
      const { entry, lease, waited } = found
      app.metrics.cacheLookups[lookupResult(entry)].inc()
      setCacheStatus(reply, found)
      setLease(reply, lease)
      if (waited) reply.header('preference-applied', `wait=${waitMs / 1000}`)
      if (entry === undefined) throw notFound()

      reply.header('etag', entry.etag).header('cache-control', `max-age=${freshSeconds(entry.ttlMs)}`)
      const outcome = evaluatePreconditions(entry.etag, preconditionsOf(request.headers))
      if (outcome === 'fail-if-none-match') return reply.code(304).send()
      if (outcome === 'fail-if-match') throw preconditionFailed()
      return reply.type(servedMediaType(entry)).send(entry.value)
    }
  })

  app.put('/:key', {
    // On the route, not its parser: the bound on bodies in flight (http/body-budget.ts) reads it there.
    bodyLimit: limits.maxValueBytes,
    schema: {
      summary: 'Store a value under a key, with a TTL',
      tags: ['cache'],
      operationId: 'putCacheEntry',
      params: CacheParamsSchema,
      querystring: cachePutQuerySchema(limits.maxTtlSeconds),
      headers: PutHeadersSchema
    },
    config: {
      scope: 'cache:write',
      loggedParams: ['key'],
      openapi: {
        requestBody: {
          description: `The value: any bytes, at most ${limits.maxValueBytes}, kept exactly. They are stored under ` +
            'the media type Cache-Content-Type names or, without it, their Content-Type, which may be any media ' +
            `type (${DEFAULT_MEDIA_TYPE} if none)`,
          required: false,
          content: { [DEFAULT_MEDIA_TYPE]: { schema: BINARY } }
        },
        responses: {
          201: { description: 'Created', links: WRITTEN_ENTRY },
          204: { description: 'Replaced', links: WRITTEN_ENTRY }
        },
        // 415 only for a Content-Type that is not a media type at all: any valid one is stored as it is.
        errors: ['CS_VALIDATION', 'CS_PRECONDITION_FAILED', 'CS_PAYLOAD_TOO_LARGE', 'CS_UNSUPPORTED_MEDIA_TYPE',
          'CS_STORE_UNAVAILABLE', 'CS_STORE_FULL']
      }
    }
  }, async (request, reply) => {
    const { 'content-type': contentType, 'cache-content-type': storedType } = request.headers
    if (contentType !== undefined && !isMediaType(contentType)) {
      throw new UnsupportedMediaTypeError('Content-Type must be a media type (type/subtype, printable ASCII, no ' +
        `wildcards, at most ${MEDIA_TYPE_MAX_BYTES} characters): it is stored, and sent back with the value`)
    }
    const storeName = storeNames(authenticatedCaller(request))
    const entry = entryToStore({
      // No body at all (no Content-Length, no Transfer-Encoding) is the empty value, which is a valid one.
      value: (request.body as Buffer | undefined) ?? Buffer.alloc(0),
      contentType: storedType ?? contentType,
      ttlSeconds: request.query.ttl,
      staleSeconds: request.query.stale,
      staleIfErrorSeconds: request.query['stale-if-error'],
      tags: request.headers['cache-tag'],
      leaseToken: request.headers['cache-lease-token']
    }, limits.defaultTtlSeconds, storeName)
    const result = await app.cacheStore.put(storeName(request.params.key), entry, preconditionsOf(request.headers))

    if (result === 'precondition-failed') throw preconditionFailed()
    if (result === 'lease-lost') throw leaseLost()
    return reply.header('etag', entry.etag).code(result === 'created' ? 201 : 204).send()
  })

  app.delete('/:key', {
    schema: {
      summary: 'Remove a cached value, or mark it stale',
      tags: ['cache'],
      operationId: 'deleteCacheEntry',
      params: CacheParamsSchema,
      querystring: CacheDeleteQuerySchema,
      headers: ConditionalHeadersSchema
    },
    config: {
      scope: 'cache:write',
      loggedParams: ['key'],
      openapi: {
        responses: { 204: { description: 'Removed, or marked stale' } },
        errors: ['CS_VALIDATION', 'CS_NOT_FOUND', 'CS_PRECONDITION_FAILED', 'CS_STORE_UNAVAILABLE']
      }
    }
  }, async (request, reply) => {
    const key = storeNames(authenticatedCaller(request))(request.params.key)
    const result = await app.cacheStore.delete(key, preconditionsOf(request.headers), request.query.mode)
    if (result === 'not-found') throw notFound()
    if (result === 'precondition-failed') throw preconditionFailed()
    return reply.code(204).send()
  })

  app.delete('', {
    schema: {
      summary: 'Remove, or mark stale, every cached value that carries a tag',
      description: 'Removes (or with `mode=stale` marks stale), across all replicas, every entry written with this ' +
        'tag in Cache-Tag (or `tags` in a bulk write), and says how many. An entry written while the invalidation ' +
        'runs is either invalidated or written after it, tag and all.',
      tags: ['cache'],
      operationId: 'invalidateCacheTag',
      querystring: CacheTagQuerySchema,
      response: { 200: TagInvalidationSchema }
    },
    config: {
      scope: 'cache:write',
      openapi: {
        responses: { 200: { description: 'The entries that carried the tag are gone, or served only as stale' } },
        errors: ['CS_VALIDATION', 'CS_STORE_UNAVAILABLE']
      }
    }
  }, async (request) => {
    const { tag, mode } = request.query
    return await app.cacheStore.invalidateTag(storeNames(authenticatedCaller(request))(tag), mode)
  })
}
