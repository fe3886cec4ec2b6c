// zod schemas for the RFC 9110 conditional request headers, shared by every resource that has an ETag. The grammar
// is one regular expression, which the OpenAPI document states as the headers' pattern.
import { z } from 'zod'
import type { EntityTagList } from '../store/preconditions.js'

// entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE, where etagc excludes DQUOTE, space and controls, but allows commas.
const TAG = '(?:W\\/)?"[\\x21\\x23-\\x7e\\x80-\\xff]*"'
// RFC 9110 §5.6.1: a recipient accepts empty list elements (`, "a",, "b",`), so any run of commas and spaces may
// stand before, between and after the tags; two tags need at least one comma between them. OWS is space and tab.
const ENTITY_TAG_LIST = new RegExp(`^(?:[ \\t]*\\*[ \\t]*|[ \\t,]*${TAG}(?:[ \\t]*,[ \\t,]*${TAG})*[ \\t,]*)$`)
const ENTITY_TAG = new RegExp(TAG, 'g')

/** Parses an If-Match or If-None-Match value; returns undefined when it is not valid, so the caller can answer 400. */
export function parseEntityTagList (value: string): EntityTagList | undefined {
  if (!ENTITY_TAG_LIST.test(value)) return undefined
  return value.trim() === '*' ? '*' : value.match(ENTITY_TAG) ?? []
}

export const EntityTagListHeaderSchema = z.string()
  .regex(ENTITY_TAG_LIST, { error: 'must be * or a comma-separated list of quoted entity tags' })
  .transform((value) => parseEntityTagList(value)!)

export const ConditionalHeadersSchema = z.looseObject({
  'if-match': EntityTagListHeaderSchema.optional()
    .describe('Act only if the current ETag is one of these (strong comparison), or exists at all for `*`'),
  'if-none-match': EntityTagListHeaderSchema.optional()
    .describe('Act only if the current ETag is none of these (weak comparison), or the resource is absent for `*`')
})
