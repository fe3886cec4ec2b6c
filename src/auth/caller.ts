// Who is calling, once authenticated: an identity for logs, rate limits and key isolation, and its scopes.
import type { Scope } from '../config/security.js'

export interface Caller {
  /** Stable and unique per caller: the API key's name, or the token's oid (else sub). */
  id: string
  scopes: ReadonlySet<Scope>
}

export const ANONYMOUS: Caller = Object.freeze({ id: 'anonymous', scopes: new Set<Scope>(['admin']) })

/** admin holds every scope. */
export function hasScope (caller: Caller, scope: Scope): boolean {
  return caller.scopes.has(scope) || caller.scopes.has('admin')
}

/** The caller of a route that names a scope: authentication has set it by now, or refused the request. */
export function authenticatedCaller (request: { caller: Caller | null }): Caller {
  if (request.caller === null) throw new Error('no authenticated caller: the route names no scope')
  return request.caller
}
