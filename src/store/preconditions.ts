// RFC 9110 §13 preconditions as the stores evaluate them: the entity tags a write or read is conditional on, and
// whether they hold against the current tag. Parsing them out of request headers is HTTP's job (http/conditional.ts).

/** `*`, or the entity tags as sent (with their quotes, and `W/` for weak ones). */
export type EntityTagList = '*' | readonly string[]

export interface Preconditions {
  ifMatch?: EntityTagList | undefined
  ifNoneMatch?: EntityTagList | undefined
}

/** What a failed precondition means: 412 for writes, 304 for GET and HEAD (RFC 9110 §13.2.2). */
export type PreconditionOutcome = 'pass' | 'fail-if-match' | 'fail-if-none-match'

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
