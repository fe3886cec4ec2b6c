// RFC 9110 §13 conditional requests: parsing If-Match / If-None-Match and deciding whether a precondition holds.
// @fastify/etag only answers GET freshness, so the write-side rules (If-Match, If-None-Match: *) live here.

/** `*`, or the entity tags as sent (with their quotes, and `W/` for weak ones). */
export type EntityTagList = '*' | readonly string[]

export interface Preconditions {
  ifMatch?: EntityTagList
  ifNoneMatch?: EntityTagList
}

/** What a failed precondition means: 412 for writes, 304 for GET and HEAD (RFC 9110 §13.2.2). */
export type PreconditionOutcome = 'pass' | 'fail-if-match' | 'fail-if-none-match'

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

/**
 * Evaluates preconditions against the current strong entity tag (undefined when the resource is absent).
 * If-Match uses the strong comparison, so a weak tag never matches; If-None-Match uses the weak one.
 */
export function evaluatePreconditions (current: string | undefined, { ifMatch, ifNoneMatch }: Preconditions)
  : PreconditionOutcome {
  if (ifMatch !== undefined && !matchesStrong(ifMatch, current)) return 'fail-if-match'
  if (ifNoneMatch !== undefined && matchesWeak(ifNoneMatch, current)) return 'fail-if-none-match'
  return 'pass'
}

function matchesStrong (list: EntityTagList, current: string | undefined): boolean {
  if (current === undefined) return false
  return list === '*' || list.includes(current)
}

function matchesWeak (list: EntityTagList, current: string | undefined): boolean {
  if (current === undefined) return false
  return list === '*' || list.some((tag) => opaque(tag) === opaque(current))
}

function opaque (tag: string): string {
  return tag.startsWith('W/') ? tag.slice(2) : tag
}
