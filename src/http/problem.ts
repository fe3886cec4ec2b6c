// RFC 9457 problem documents: how an error kind (errors.ts) becomes the body every error leaves with.
import { STATUS_CODES } from 'node:http'
import type { FastifyReply } from 'fastify'
import type { z } from 'zod'
import { errorKindOf } from '../errors.js'
import type { ProblemSchema } from '../schemas/problem.js'

export const PROBLEM_CONTENT_TYPE = 'application/problem+json'

export type Problem = z.infer<typeof ProblemSchema>

/** Problem type URIs are identifiers, not links (RFC 9457 §3.1.1), so a URN keeps them stable and undereferenced. */
export function problemTypeUri (type: string): string {
  return `urn:cache-service:problem:${type}`
}

/** A problem of one of the named kinds; an unknown code gets RFC 9457's `about:blank` and the status phrase. */
export function problem (code: string | undefined, status: number, detail: string): Problem {
  const kind = errorKindOf(code)
  if (kind === undefined) return { type: 'about:blank', title: STATUS_CODES[status] ?? 'Error', status, detail }
  return { type: problemTypeUri(kind.type), title: kind.title, status, detail }
}

export function sendProblem (reply: FastifyReply, body: Problem): FastifyReply {
  return reply.code(body.status).type(PROBLEM_CONTENT_TYPE).send(body)
}
