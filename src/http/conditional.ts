// The RFC 9110 conditional request headers, If-Match and If-None-Match: parsing them into the store's
// preconditions (store/preconditions.ts decides whether they hold).
import type { EntityTagList, Preconditions } from '../store/preconditions.js'

// entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE, where etagc excludes DQUOTE, space and controls, but allows commas.
const TAG = '(?:W\\/)?"[\\x21\\x23-\\x7e\\x80-\\xff]*"'
// RFC 9110 §5.6.1: a recipient accepts empty list elements (`, "a",, "b",`), so any run of commas and spaces may
// stand before, between and after the tags; two tags need at least one comma between them.
const ENTITY_TAG_LIST = new RegExp(`^[\\s,]*${TAG}(?:\\s*,[\\s,]*${TAG})*[\\s,]*$`)
const ENTITY_TAG = new RegExp(TAG, 'g')

/** The preconditions of a request whose If-Match / If-None-Match headers were parsed by ConditionalHeadersSchema. */
export function preconditionsOf (headers: { 'if-match'?: EntityTagList, 'if-none-match'?: EntityTagList })
  : Preconditions {
  return { ifMatch: headers['if-match'], ifNoneMatch: headers['if-none-match'] }
}

/** Parses an If-Match or If-None-Match value; returns undefined when it is not valid, so the caller can answer 400. */
export function parseEntityTagList (value: string): EntityTagList | undefined {
  if (value.trim() === '*') return '*'
  if (!ENTITY_TAG_LIST.test(value)) return undefined
  return value.match(ENTITY_TAG) ?? []
}
