// The /cache/:key resource: opaque bytes with a media type, a TTL, a strong ETag and RFC 9110 preconditions.
import { createHash } from 'node:crypto'
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { authenticatedCaller, type Caller } from '../auth/caller.js'
import { NotFoundError, PreconditionFailedError } from '../errors.js'
import { preconditionsOf } from '../http/conditional.js'
import { entityTagOf } from '../http/entity-tag.js'
import type { HeaderName } from '../openapi/responses.js'
import { CacheParamsSchema, cachePutQuerySchema } from '../schemas/cache.js'
import { ConditionalHeadersSchema } from '../schemas/conditional.js'
import { evaluatePreconditions } from '../store/preconditions.js'

export interface CacheRoutesOptions {
  defaultTtlSeconds: number
  maxTtlSeconds: number
  maxValueBytes: number
  /** caller: each caller's keys live in a namespace of its own, so no caller can read another's entries. */
  keyIsolation: 'none' | 'caller'
}

const DEFAULT_CONTENT_TYPE = 'application/octet-stream'
const CACHE_HEADERS: HeaderName[] = ['ETag', 'Cache-Control']
const notFound = () => new NotFoundError('There is no cache entry for this key')
const preconditionFailed = () => new PreconditionFailedError('The entry does not match the preconditions')

export const cacheRoutes: FastifyPluginAsyncZod<CacheRoutesOptions> = async (app, limits) => {
  // A fixed-length hash of the caller's id, so that no caller id and key can spell another caller's namespace.
  const storeKey = (caller: Caller, key: string) => limits.keyIsolation === 'caller'
    ? `${createHash('sha256').update(caller.id).digest('hex').slice(0, 32)}/${key}`
    : key

  // Values are opaque: whatever the media type, the body is kept as the exact bytes that were sent.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: limits.maxValueBytes }, (_request, body, done) => {
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
      headers: ConditionalHeadersSchema
    },
    config: {
      scope: 'cache:read',
      loggedParams: ['key'],
      openapi: {
        responses: {
          200: { description: 'The stored bytes, in their media type', headers: CACHE_HEADERS, binary: true },
          304: { description: 'The copy named in If-None-Match is current', headers: CACHE_HEADERS }
        },
        errors: ['CS_VALIDATION', 'CS_NOT_FOUND', 'CS_PRECONDITION_FAILED', 'CS_STORE_UNAVAILABLE']
      }
    },
    handler: async (request, reply) => {
      const entry = await app.cacheStore.get(storeKey(authenticatedCaller(request), request.params.key))
      app.metrics.cacheLookups.inc({ result: entry === undefined ? 'miss' : 'hit' })
      if (entry === undefined) throw notFound()

      // Rounded down, so a downstream cache never believes the entry outlives its Redis key.
      reply.header('etag', entry.etag).header('cache-control', `max-age=${Math.max(0, Math.floor(entry.ttlMs / 1000))}`)
      const outcome = evaluatePreconditions(entry.etag, preconditionsOf(request.headers))
      if (outcome === 'fail-if-none-match') return reply.code(304).send()
      if (outcome === 'fail-if-match') throw preconditionFailed()
      return reply.type(entry.contentType).send(entry.value)
    }
  })

  app.put('/:key', {
    schema: {
      summary: 'Store a value under a key, with a TTL',
      tags: ['cache'],
      operationId: 'putCacheEntry',
      params: CacheParamsSchema,
      querystring: cachePutQuerySchema(limits.maxTtlSeconds),
      headers: ConditionalHeadersSchema
    },
    config: {
      scope: 'cache:write',
      loggedParams: ['key'],
      openapi: {
        requestBody: {
          description: 'The value: any bytes, kept exactly, with their Content-Type (application/octet-stream if none)',
          required: false,
          content: { '*/*': { schema: { type: 'string', contentMediaType: 'application/octet-stream' } } }
        },
        responses: {
          201: { description: 'Created', headers: ['ETag'] },
          204: { description: 'Replaced', headers: ['ETag'] }
        },
        // 415 only for a Content-Type that is not a media type at all: any valid one is stored as it is.
        errors: ['CS_VALIDATION', 'CS_PRECONDITION_FAILED', 'CS_PAYLOAD_TOO_LARGE', 'CS_UNSUPPORTED_MEDIA_TYPE',
          'CS_STORE_UNAVAILABLE', 'CS_STORE_FULL']
      }
    }
  }, async (request, reply) => {
    // No body at all (no Content-Length, no Transfer-Encoding) is the empty value, which is a valid one.
    const value = (request.body as Buffer | undefined) ?? Buffer.alloc(0)
    const contentType = request.headers['content-type'] ?? DEFAULT_CONTENT_TYPE
    const etag = entityTagOf(contentType, value)
    const result = await app.cacheStore.put(storeKey(authenticatedCaller(request), request.params.key), {
      value,
      contentType,
      etag,
      ttlSeconds: request.query.ttl ?? limits.defaultTtlSeconds
    }, preconditionsOf(request.headers))

    if (result === 'precondition-failed') throw preconditionFailed()
    return reply.header('etag', etag).code(result === 'created' ? 201 : 204).send()
  })

  app.delete('/:key', {
    schema: {
      summary: 'Remove a cached value',
      tags: ['cache'],
      operationId: 'deleteCacheEntry',
      params: CacheParamsSchema,
      headers: ConditionalHeadersSchema
    },
    config: {
      scope: 'cache:write',
      loggedParams: ['key'],
      openapi: {
        responses: { 204: { description: 'Removed' } },
        errors: ['CS_VALIDATION', 'CS_NOT_FOUND', 'CS_PRECONDITION_FAILED', 'CS_STORE_UNAVAILABLE']
      }
    }
  }, async (request, reply) => {
    const key = storeKey(authenticatedCaller(request), request.params.key)
    const result = await app.cacheStore.delete(key, preconditionsOf(request.headers))
    if (result === 'not-found') throw notFound()
    if (result === 'precondition-failed') throw preconditionFailed()
    return reply.code(204).send()
  })
}
