// The RFC 9110 conditional request headers, If-Match and If-None-Match, as the store's preconditions
// (schemas/conditional.ts parses them; store/preconditions.ts decides whether they hold).
import type { EntityTagList, Preconditions } from '../store/preconditions.js'

/** The preconditions of a request whose If-Match / If-None-Match headers were parsed by ConditionalHeadersSchema. */
export function preconditionsOf (headers: { 'if-match'?: EntityTagList, 'if-none-match'?: EntityTagList })
  : Preconditions {
  return { ifMatch: headers['if-match'], ifNoneMatch: headers['if-none-match'] }
}
