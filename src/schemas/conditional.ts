// zod schemas for the RFC 9110 conditional request headers, shared by every resource that has an ETag.
import { z } from 'zod'
import { parseEntityTagList } from '../http/conditional.js'

export const EntityTagListHeaderSchema = z.string().transform((value, ctx) => {
  const parsed = parseEntityTagList(value)
  if (parsed === undefined) {
    ctx.addIssue({ code: 'custom', message: 'must be * or a comma-separated list of quoted entity tags' })
    return z.NEVER
  }
  return parsed
})

export const ConditionalHeadersSchema = z.looseObject({
  'if-match': EntityTagListHeaderSchema.optional()
    .describe('Act only if the current ETag is one of these (strong comparison), or exists at all for `*`'),
  'if-none-match': EntityTagListHeaderSchema.optional()
    .describe('Act only if the current ETag is none of these (weak comparison), or the resource is absent for `*`')
})
