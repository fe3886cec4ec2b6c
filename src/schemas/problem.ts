// The RFC 9457 problem document every error leaves as; one shared `Problem` component in the OpenAPI document.
import { z } from 'zod'

export const ValidationProblemSchema = z.object({
  in: z.enum(['params', 'querystring', 'headers', 'body']).describe('The part of the request the problem is in'),
  path: z.string().describe('A JSON pointer into that part, such as /ttl'),
  message: z.string()
})

export const ProblemSchema = z.object({
  type: z.string().describe('A URI identifying the kind of problem: urn:cache-service:problem:<kind>, or about:blank'),
  title: z.string().describe('A short, human-readable summary of the kind of problem'),
  status: z.int().min(400).max(599).describe('The HTTP status code'),
  detail: z.string().describe('What went wrong with this request'),
  errors: z.array(ValidationProblemSchema).optional().describe('Every validation problem found, for a 400')
}).describe('An RFC 9457 problem details document')
