// Preconditions as lua/preconditions.lua takes them: two plain strings, one per header.
import type { EntityTagList, Preconditions } from './preconditions.js'

/**
 * '' when absent, '*', or tags separated by newlines. Weak tags stay in If-Match so that they never equal a stored
 * strong tag (strong comparison); If-None-Match loses the W/ prefix (weak comparison).
 */
export function encodePreconditions ({ ifMatch, ifNoneMatch }: Preconditions): [string, string] {
  return [encode(ifMatch, false), encode(ifNoneMatch, true)]
}

function encode (list: EntityTagList | undefined, stripWeak: boolean): string {
  if (list === undefined) return ''
  if (list === '*') return '*'
  return list.map((tag) => (stripWeak && tag.startsWith('W/') ? tag.slice(2) : tag)).join('\n')
}
