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

declare module 'fastify' {
  interface FastifyRequest {
    caller: Caller
  }
  interface FastifyContextConfig {
    /** The scope a caller needs for this route; routes without one (health, docs) are open. */
    scope?: Scope
  }
}
