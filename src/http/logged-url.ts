// What logs and spans show of a request's URL: the route's template with its parameters, each only if its route says
// it is no secret; never the raw URL.
import type { FastifyRequest } from 'fastify'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Path parameters whose values may be logged; every other parameter is logged as [redacted]. */
    loggedParams?: readonly string[]
  }
}

/** What is logged of a request to a path that no route matches: the path itself may carry anything. */
export const UNMATCHED_PATH = '[no matching route]'

/**
 * The URL as logs show it, rebuilt from the route the router matched and its decoded parameters, never from the
 * raw URL: `/%73essions/<id>` matches `/sessions/:id` and is logged as `/sessions/[redacted]`. A parameter is
 * logged only when its route says it is no secret (session ids are bearer secrets), and a path that matched no
 * route (`//sessions/<id>`, `/sessions%2F<id>`) is not logged at all.
 */
export function loggedUrl (request: FastifyRequest): string {
  const query = request.url.indexOf('?')
  return query === -1 ? loggedPath(request) : loggedPath(request) + request.url.slice(query)
}

/** The path part of loggedUrl: what a span records as url.path. */
export function loggedPath (request: FastifyRequest): string {
  const template = request.routeOptions.url
  if (template === undefined) return UNMATCHED_PATH
  const logged = request.routeOptions.config.loggedParams ?? []
  const params = request.params as Record<string, string | undefined>
  return template.replace(/:(\w+)/g, (_match, name: string) =>
    logged.includes(name) ? encodeURIComponent(params[name] ?? '') : '[redacted]')
}
