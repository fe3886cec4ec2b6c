// The /sessions resource: JSON session data with idle and absolute expiry, server-side merge patches,
// unguessable ids and RFC 9110 preconditions. Session ids are bearer secrets: they are never logged.
import { createHash, randomBytes } from 'node:crypto'
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import type { z } from 'zod'
import { authenticatedCaller, type Caller } from '../auth/caller.js'
import { NotFoundError, PayloadTooLargeError, PreconditionFailedError } from '../errors.js'
import { preconditionsOf } from '../http/conditional.js'
import { parseExactJson } from '../http/exact-json.js'
import { requireMediaType } from '../http/media-type.js'
import { linksToSameResource } from '../openapi/responses.js'
import { ConditionalHeadersSchema } from '../schemas/conditional.js'
import {
  SessionParamsSchema, sessionPatchSchema, SessionReadQuerySchema, SessionSchema, sessionWriteSchema
} from '../schemas/sessions.js'
import type { SessionRecord, SessionWrite } from '../store/session-store.js'
import { storeNamesOf, type KeyIsolation } from './cache-namespace.js'

export interface SessionRoutesOptions {
  idleTtlSeconds: number
  absoluteTtlSeconds: number
  maxBytes: number
  /** caller: each caller's sessions live in a namespace of its own, as its cache keys do. */
  keyIsolation: KeyIsolation
}

const JSON_TYPE = 'application/json'
const MERGE_PATCH_TYPE = 'application/merge-patch+json'
// Chosen ids are taken again only by a 2^-256 coincidence; three tries turn even a broken RNG into a clear 500.
const ID_ATTEMPTS = 3

export const sessionRoutes: FastifyPluginAsyncZod<SessionRoutesOptions> = async (app, limits) => {
  const storeNames = storeNamesOf(limits.keyIsolation)
  /** Where the store keeps a session of the request's caller: the id it knows, in the caller's namespace. */
  const storeId = (request: { caller: Caller | null }, id: string) => storeNames(authenticatedCaller(request))(id)
  // Room for the envelope and for pretty-printed JSON; the exact limit is checked on the canonical data.
  const bodyLimit = limits.maxBytes * 2 + 4096
  app.removeContentTypeParser('text/plain')
  app.addContentTypeParser(MERGE_PATCH_TYPE, { parseAs: 'string', bodyLimit }, parseExactJson)
  const WriteSchema = sessionWriteSchema(limits)
  const tooLarge = () => new PayloadTooLargeError(`Session data is limited to ${limits.maxBytes} bytes of JSON`)
  const preconditionFailed = () => new PreconditionFailedError('The session does not match the preconditions')
  const notFound = () => new NotFoundError('There is no such session')

  /** What a POST or PUT body asks to write: canonical JSON data (413 over SESSION_MAX_BYTES), lifetimes, a new tag. */
  const writeOf = (body: z.output<typeof WriteSchema>): SessionWrite => {
    const data = JSON.stringify(body.data)
    if (Buffer.byteLength(data) > limits.maxBytes) throw tooLarge()
    return {
      data,
      idleTtlSeconds: body.idleTtlSeconds ?? limits.idleTtlSeconds,
      absoluteTtlSeconds: body.absoluteTtlSeconds ?? limits.absoluteTtlSeconds,
      etag: newEntityTag()
    }
  }

  app.post('', {
    bodyLimit,
    preParsing: requireMediaType(JSON_TYPE),
    schema: {
      summary: 'Create a session with a service-chosen id',
      tags: ['sessions'],
      operationId: 'createSession',
      body: WriteSchema,
      response: { 201: SessionSchema }
    },
    config: {
      scope: 'sessions:write',
      openapi: {
        responses: {
          201: {
            description: 'Created',
            links: linksToSameResource('id', '$response.body#/id', ['getSession', 'patchSession', 'deleteSession'])
          }
        },
        errors: ['CS_VALIDATION', 'CS_PAYLOAD_TOO_LARGE', 'CS_UNSUPPORTED_MEDIA_TYPE', 'CS_STORE_UNAVAILABLE',
          'CS_STORE_FULL']
      }
    }
  }, async (request, reply) => {
    const write = writeOf(request.body)
    for (let attempt = 1; attempt <= ID_ATTEMPTS; attempt++) {
      const id = randomBytes(32).toString('base64url')
      const result = await app.sessionStore.put(storeId(request, id), write, { ifNoneMatch: '*' })
      if (result.outcome === 'created') {
        request.log.info({ session: sessionRef(id) }, 'session created')
        reply.code(201).header('location', `/sessions/${id}`)
        return send(reply, id, result.session, request.body.data)
      }
    }
    throw new Error('could not find an unused session id')
  })

  app.put('/:id', {
    bodyLimit,
    preParsing: requireMediaType(JSON_TYPE),
    schema: {
      summary: 'Create a session with a client-chosen id, or replace its data',
      tags: ['sessions'],
      operationId: 'putSession',
      params: SessionParamsSchema,
      headers: ConditionalHeadersSchema,
      body: WriteSchema,
      response: { 200: SessionSchema, 201: SessionSchema }
    },
    config: {
      scope: 'sessions:write',
      openapi: {
        responses: {
          200: { description: 'Replaced' },
          201: { description: 'Created' }
        },
        errors: ['CS_VALIDATION', 'CS_PRECONDITION_FAILED', 'CS_PAYLOAD_TOO_LARGE', 'CS_UNSUPPORTED_MEDIA_TYPE',
          'CS_STORE_UNAVAILABLE', 'CS_STORE_FULL']
      }
    }
  }, async (request, reply) => {
    const { id } = request.params
    const result = await app.sessionStore.put(storeId(request, id), writeOf(request.body),
      preconditionsOf(request.headers))
    if (result.outcome === 'precondition-failed') throw preconditionFailed()
    request.log.info({ session: sessionRef(id) }, `session ${result.outcome}`)
    reply.code(result.outcome === 'created' ? 201 : 200)
    return send(reply, id, result.session, request.body.data)
  })

  app.get('/:id', {
    schema: {
      summary: 'Read a session, sliding its idle expiry',
      tags: ['sessions'],
      operationId: 'getSession',
      params: SessionParamsSchema,
      querystring: SessionReadQuerySchema,
      response: { 200: SessionSchema }
    },
    config: {
      scope: 'sessions:read',
      openapi: {
        responses: { 200: { description: 'The session' } },
        errors: ['CS_VALIDATION', 'CS_NOT_FOUND', 'CS_STORE_UNAVAILABLE']
      }
    }
  }, async (request, reply) => {
    const session = await app.sessionStore.get(storeId(request, request.params.id), { touch: request.query.touch })
    if (session === undefined) throw notFound()
    return send(reply, request.params.id, session)
  })

  app.patch('/:id', {
    bodyLimit,
    preParsing: requireMediaType(MERGE_PATCH_TYPE),
    schema: {
      summary: 'Merge a JSON merge patch into the session data, atomically',
      tags: ['sessions'],
      operationId: 'patchSession',
      consumes: [MERGE_PATCH_TYPE],
      params: SessionParamsSchema,
      headers: ConditionalHeadersSchema,
      body: sessionPatchSchema(limits.maxBytes),
      response: { 200: SessionSchema }
    },
    config: {
      scope: 'sessions:write',
      openapi: {
        responses: { 200: { description: 'Patched' } },
        errors: ['CS_VALIDATION', 'CS_NOT_FOUND', 'CS_PRECONDITION_FAILED', 'CS_PAYLOAD_TOO_LARGE',
          'CS_UNSUPPORTED_MEDIA_TYPE', 'CS_STORE_UNAVAILABLE', 'CS_STORE_FULL']
      }
    }
  }, async (request, reply) => {
    const { id } = request.params
    const result = await app.sessionStore.patch(storeId(request, id), JSON.stringify(request.body), {
      etag: newEntityTag(),
      maxBytes: limits.maxBytes
    }, preconditionsOf(request.headers))
    switch (result.outcome) {
      case 'patched': return send(reply, id, result.session)
      case 'not-found': throw notFound()
      case 'precondition-failed': throw preconditionFailed()
      case 'too-large': throw tooLarge()
    }
  })

  app.delete('/:id', {
    schema: {
      summary: 'End a session',
      tags: ['sessions'],
      operationId: 'deleteSession',
      params: SessionParamsSchema,
      headers: ConditionalHeadersSchema
    },
    config: {
      scope: 'sessions:write',
      openapi: {
        responses: { 204: { description: 'Ended' } },
        errors: ['CS_VALIDATION', 'CS_NOT_FOUND', 'CS_PRECONDITION_FAILED', 'CS_STORE_UNAVAILABLE']
      }
    }
  }, async (request, reply) => {
    const { id } = request.params
    const result = await app.sessionStore.delete(storeId(request, id), preconditionsOf(request.headers))
    if (result === 'not-found') throw notFound()
    if (result === 'precondition-failed') throw preconditionFailed()
    request.log.info({ session: sessionRef(id) }, 'session deleted')
    return reply.code(204).send()
  })
}

/**
 * The session representation, with its headers; a session is private to its holder, so nothing may cache it.
 * A write hands over the data it sent, already parsed, so only data read back from the store is parsed here.
 */
function send (reply: { header (name: string, value: string): unknown }, id: string, session: SessionRecord,
  data: Record<string, unknown> = JSON.parse(session.data)) {
  reply.header('etag', session.etag)
  reply.header('cache-control', 'no-store')
  return {
    id,
    data,
    createdAt: new Date(session.createdAt).toISOString(),
    updatedAt: new Date(session.updatedAt).toISOString(),
    expiresAt: new Date(session.expiresAt).toISOString(),
    absoluteExpiresAt: new Date(session.absoluteExpiresAt).toISOString()
  }
}

/** Every write gets a fresh random tag, so a recreated session never matches a tag of the one before it. */
function newEntityTag (): string {
  return `"${randomBytes(16).toString('base64url')}"`
}

/** What the logs say instead of a session id: enough to correlate lines, useless to hijack a session. */
export function sessionRef (id: string): string {
  return createHash('sha256').update(id).digest('base64url').slice(0, 12)
}
