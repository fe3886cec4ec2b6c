// The /sessions resource: JSON session data with idle and absolute expiry, server-side merge patches,
// unguessable ids and RFC 9110 preconditions; and per user (a subject): listings, revocations, caps and id rotation.
// Session ids are bearer secrets: they are never logged, nor listed. Subjects may be personal data: never logged.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import type { z } from 'zod'
import { authenticatedCaller, type Caller } from '../auth/caller.js'
import {
  NotFoundError, PayloadTooLargeError, PreconditionFailedError, SubjectFullError, SubjectMismatchError
} from '../errors.js'
import { preconditionsOf } from '../http/conditional.js'
import { parseExactJson } from '../http/exact-json.js'
import { isoTimestamp } from '../http/iso-timestamp.js'
import { requireMediaType } from '../http/media-type.js'
import { linksToSameResource } from '../openapi/responses.js'
import { ConditionalHeadersSchema } from '../schemas/conditional.js'
import {
  SessionEventPageSchema, sessionEventsQuerySchema, SessionListSchema, sessionListQuerySchema, SessionParamsSchema,
  sessionPatchSchema, SessionReadQuerySchema, sessionRevocationBodyLimit, SessionRevocationResultSchema,
  sessionRevocationSchema, SessionSchema, sessionWriteSchema
} from '../schemas/sessions.js'
import type { SubjectLimitPolicy } from '../config/index.js'
import { randomToken } from '../random-token.js'
import { sessionRefOf, type SessionRecord, type SessionWrite, type SubjectLimit } from '../store/session-store.js'
import { storeNamesOf, type KeyIsolation } from './cache-namespace.js'

export interface SessionRoutesOptions {
  idleTtlSeconds: number
  absoluteTtlSeconds: number
  maxBytes: number
  subjects: { maxSessions: number, cap: number, capPolicy: SubjectLimitPolicy }
  listMaxLimit: number
  /** caller: each caller's sessions live in a namespace of its own, as its cache keys do. */
  keyIsolation: KeyIsolation
}

const JSON_TYPE = 'application/json'
const MERGE_PATCH_TYPE = 'application/merge-patch+json'
// Chosen ids are taken again only by a 2^-256 coincidence; three tries turn even a broken RNG into a clear 500.
const ID_ATTEMPTS = 3
/** What a client does next with a session it was just given the id of (a create, a rotation). */
const NEW_SESSION_LINKS = linksToSameResource('id', '$response.body#/id',
  ['getSession', 'patchSession', 'deleteSession'])

export const sessionRoutes: FastifyPluginAsyncZod<SessionRoutesOptions> = async (app, options) => {
  const { subjects } = options
  const limits = { ...options, maxSessionsPerSubject: subjects.cap || subjects.maxSessions }
  const storeNames = storeNamesOf(limits.keyIsolation)
  /**
   * Where the store keeps a session, or a subject, of the request's caller: the name it knows, in the caller's
   * namespace (the same for ids and subjects, which the store keeps apart).
   */
  const storeName = (request: { caller: Caller | null }, name: string) => storeNames(authenticatedCaller(request))(name)
  const storeId = storeName
  /** The caller's name of a subject, from the store's. */
  const callerSubject = (request: { caller: Caller | null }, subject: string) =>
    subject.slice(storeName(request, '').length)
  /** The subject a session of the request's caller names, as the caller named it. */
  const subjectOf = (request: { caller: Caller | null }, session: SessionRecord) =>
    session.subject === undefined ? undefined : callerSubject(request, session.subject)
  /** The cap on a subject's sessions that a create is held to: its own, the service's, or the bound on them all. */
  const limitOf = (maxSessions: number | undefined): SubjectLimit => {
    if (maxSessions !== undefined) return { maxSessions, policy: subjects.capPolicy }
    if (subjects.cap > 0) return { maxSessions: subjects.cap, policy: subjects.capPolicy }
    return { maxSessions: subjects.maxSessions, policy: 'refuse' }
  }
  // Room for the envelope and for pretty-printed JSON; the exact limit is checked on the canonical data.
  const bodyLimit = limits.maxBytes * 2 + 4096
  app.removeContentTypeParser('text/plain')
  app.addContentTypeParser(MERGE_PATCH_TYPE, { parseAs: 'string', bodyLimit }, parseExactJson)
  const WriteSchema = sessionWriteSchema(limits)
  const tooLarge = () => new PayloadTooLargeError(`Session data is limited to ${limits.maxBytes} bytes of JSON`)
  const preconditionFailed = () => new PreconditionFailedError('The session does not match the preconditions')
  const notFound = () => new NotFoundError('There is no such session')
  const subjectFull = () => new SubjectFullError('The subject holds as many sessions as its cap allows')
  const subjectMismatch = () => new SubjectMismatchError('The session belongs to another subject, or to none')

  /**
   * What a POST or PUT body asks to write: canonical JSON data (413 over SESSION_MAX_BYTES), lifetimes, a new tag,
   * and the subject, in the caller's namespace.
   */
  const writeOf = (request: { caller: Caller | null, body: z.output<typeof WriteSchema> }): SessionWrite => {
    const { body } = request
    const data = JSON.stringify(body.data)
    if (Buffer.byteLength(data) > limits.maxBytes) throw tooLarge()
    return {
      data,
      idleTtlSeconds: body.idleTtlSeconds ?? limits.idleTtlSeconds,
      absoluteTtlSeconds: body.absoluteTtlSeconds ?? limits.absoluteTtlSeconds,
      etag: newEntityTag(),
      subject: body.subject === undefined ? undefined : storeName(request, body.subject)
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
            links: NEW_SESSION_LINKS
          }
        },
        errors: ['CS_VALIDATION', 'CS_SUBJECT_FULL', 'CS_PAYLOAD_TOO_LARGE', 'CS_UNSUPPORTED_MEDIA_TYPE',
          'CS_STORE_UNAVAILABLE', 'CS_STORE_FULL']
      }
    }
  }, async (request, reply) => {
    const write = writeOf(request)
    for (let attempt = 1; attempt <= ID_ATTEMPTS; attempt++) {
      const id = newSessionId()
      const result = await app.sessionStore.put(storeId(request, id), write, { ifNoneMatch: '*' },
        limitOf(request.body.maxSessions))
      if (result.outcome === 'subject-full') throw subjectFull()
      if (result.outcome === 'created') {
        request.log.info({ session: sessionRef(id), ended: result.ended }, 'session created')
        reply.code(201).header('location', `/sessions/${id}`)
        return send(reply, id, result.session, request.body.subject, request.body.data)
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
        errors: ['CS_VALIDATION', 'CS_PRECONDITION_FAILED', 'CS_SUBJECT_MISMATCH', 'CS_SUBJECT_FULL',
          'CS_PAYLOAD_TOO_LARGE', 'CS_UNSUPPORTED_MEDIA_TYPE', 'CS_STORE_UNAVAILABLE', 'CS_STORE_FULL']
      }
    }
  }, async (request, reply) => {
    const { id } = request.params
    const result = await app.sessionStore.put(storeId(request, id), writeOf(request),
      preconditionsOf(request.headers), limitOf(request.body.maxSessions))
    switch (result.outcome) {
      case 'precondition-failed': throw preconditionFailed()
      case 'subject-mismatch': throw subjectMismatch()
      case 'subject-full': throw subjectFull()
    }
    request.log.info({ session: sessionRef(id) }, `session ${result.outcome}`)
    reply.code(result.outcome === 'created' ? 201 : 200)
    return send(reply, id, result.session, subjectOf(request, result.session), request.body.data)
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
    return send(reply, request.params.id, session, subjectOf(request, session))
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
      case 'patched': return send(reply, id, result.session, subjectOf(request, result.session))
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

  app.post('/:id/rotate', {
    schema: {
      summary: 'Give a session a new id, ending the old one at once',
      description: 'The session keeps its data, subject and lifetimes (its idle expiry slides, as on any use) and ' +
        'gets a new entity tag. The old id is refused from the moment this begins: do it after a login, so that ' +
        'an id known before it (session fixation) is worth nothing after.',
      tags: ['sessions'],
      operationId: 'rotateSession',
      params: SessionParamsSchema,
      response: { 201: SessionSchema }
    },
    config: {
      scope: 'sessions:write',
      openapi: {
        responses: {
          201: {
            description: 'The session, under its new id',
            links: NEW_SESSION_LINKS
          }
        },
        errors: ['CS_VALIDATION', 'CS_NOT_FOUND', 'CS_STORE_UNAVAILABLE', 'CS_STORE_FULL']
      }
    }
  }, async (request, reply) => {
    const { id } = request.params
    const newId = newSessionId()
    const session = await app.sessionStore.rotate(storeId(request, id), storeId(request, newId), newEntityTag())
    if (session === undefined) throw notFound()
    request.log.info({ session: sessionRef(id), rotatedTo: sessionRef(newId) }, 'session rotated')
    reply.code(201).header('location', `/sessions/${newId}`)
    return send(reply, newId, session, subjectOf(request, session))
  })

  app.get('', {
    schema: {
      summary: 'List the live sessions of a subject, newest first',
      description: 'A listing never shows session ids, which are bearer secrets: each session has a reference ' +
        'instead, which can end it (revokeSessions) and nothing more.',
      tags: ['sessions'],
      operationId: 'listSessions',
      querystring: sessionListQuerySchema(limits),
      response: { 200: SessionListSchema }
    },
    config: {
      scope: 'sessions:write',
      openapi: {
        responses: { 200: { description: 'A page of the subject\'s sessions' } },
        errors: ['CS_VALIDATION', 'CS_STORE_UNAVAILABLE']
      }
    }
  }, async (request, reply) => {
    const { subject, limit, cursor } = request.query
    const page = await app.sessionStore.list(storeName(request, subject), { limit, cursor })
    reply.header('cache-control', 'no-store')
    return {
      sessions: page.sessions.map(({ ref, createdAt, updatedAt, expiresAt, absoluteExpiresAt }) => ({
        ref,
        createdAt: isoTimestamp(createdAt),
        updatedAt: isoTimestamp(updatedAt),
        expiresAt: isoTimestamp(expiresAt),
        absoluteExpiresAt: isoTimestamp(absoluteExpiresAt)
      })),
      next: page.cursor
    }
  })

  app.post('/revoke', {
    bodyLimit: sessionRevocationBodyLimit(limits),
    preParsing: requireMediaType(JSON_TYPE),
    schema: {
      summary: 'End all the sessions of a subject, all but one, or those named',
      description: 'Log out everywhere: every replica refuses the sessions ended once this answers. Sessions ' +
        'created while it runs may stay: they come after it.',
      tags: ['sessions'],
      operationId: 'revokeSessions',
      body: sessionRevocationSchema(limits),
      response: { 200: SessionRevocationResultSchema }
    },
    config: {
      scope: 'sessions:write',
      openapi: {
        responses: { 200: { description: 'How many sessions ended' } },
        errors: ['CS_VALIDATION', 'CS_PAYLOAD_TOO_LARGE', 'CS_UNSUPPORTED_MEDIA_TYPE', 'CS_STORE_UNAVAILABLE']
      }
    }
  }, async (request) => {
    const { subject, exceptId, refs } = request.body
    const ended = await app.sessionStore.revoke(storeName(request, subject), {
      keep: exceptId === undefined ? undefined : storeId(request, exceptId),
      refs
    })
    request.log.info({ ended, subject: sessionRef(subject) }, 'sessions revoked')
    return { ended }
  })

  app.get('/events', {
    schema: {
      summary: 'Read the ends of sessions of subjects: expired, deleted, revoked, capped, rotated',
      description: 'A log of the sessions with a subject that ended, oldest first, kept per caller (the newest ' +
        'SESSION_EVENTS_MAX), read with a cursor: poll it with the `next` of the page before. An end is told at ' +
        'most once: a replica that dies between ending a session and recording it loses the event. An expiry is ' +
        'told once the service notices it, within SESSION_EXPIRY_SWEEP_INTERVAL_MS on Redis.',
      tags: ['sessions'],
      operationId: 'listSessionEvents',
      querystring: sessionEventsQuerySchema(limits),
      response: { 200: SessionEventPageSchema }
    },
    config: {
      scope: 'sessions:write',
      openapi: {
        responses: { 200: { description: 'A page of events' } },
        errors: ['CS_VALIDATION', 'CS_STORE_UNAVAILABLE']
      }
    }
  }, async (request, reply) => {
    const page = await app.sessionStore.events(storeName(request, ''), request.query)
    reply.header('cache-control', 'no-store')
    return {
      events: page.events.map(({ id, reason, ref, subject, replacedBy, at }) => ({
        id, reason, ref, subject: callerSubject(request, subject), replacedBy, at: isoTimestamp(at)
      })),
      next: page.cursor,
      missed: page.missed
    }
  })
}

/**
 * The session representation, with its headers; a session is private to its holder, so nothing may cache it.
 * A write hands over the data it sent, already parsed, so only data read back from the store is parsed here.
 */
function send (reply: { header (name: string, value: string): unknown }, id: string, session: SessionRecord,
  subject: string | undefined, data: Record<string, unknown> = JSON.parse(session.data)) {
  reply.header('etag', session.etag)
  reply.header('cache-control', 'no-store')
  return {
    id,
    subject,
    data,
    createdAt: isoTimestamp(session.createdAt),
    updatedAt: isoTimestamp(session.updatedAt),
    expiresAt: isoTimestamp(session.expiresAt),
    absoluteExpiresAt: isoTimestamp(session.absoluteExpiresAt)
  }
}

/** 32 random bytes: a session id no one guesses. */
function newSessionId (): string {
  return randomToken(32)
}

/** Every write gets a fresh random tag, so a recreated session never matches a tag of the one before it. */
function newEntityTag (): string {
  return `"${randomToken(16)}"`
}

/**
 * What the logs say instead of a session id (or a subject): the start of its ref, enough to correlate lines, useless
 * to hijack a session.
 */
export function sessionRef (id: string): string {
  return sessionRefOf(id).slice(0, 12)
}
