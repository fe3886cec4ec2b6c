// Route-level media type checks, for routes that accept one JSON flavour and must refuse the others with 415.
import type { FastifyReply, FastifyRequest } from 'fastify'
import { UnsupportedMediaTypeError } from '../errors.js'

/** The media type of the request body without its parameters, lower-cased; undefined without a body type. */
function mediaTypeOf (request: FastifyRequest): string | undefined {
  return request.headers['content-type']?.split(';')[0]?.trim().toLowerCase()
}

/**
 * A preParsing hook that accepts only `expected`; PATCH refusals also name it in Accept-Patch (RFC 5789). Before
 * parsing, so that a body of another type is refused unread, and so that this 415, not Fastify's own for a
 * Content-Type that is no media type at all, is the one a PATCH gets.
 */
export function requireMediaType (expected: string) {
  return async function checkMediaType (request: FastifyRequest, reply: FastifyReply) {
    if (mediaTypeOf(request) === expected) return
    if (request.method === 'PATCH') reply.header('accept-patch', expected)
    throw new UnsupportedMediaTypeError(`This operation takes a body of type ${expected}`)
  }
}
