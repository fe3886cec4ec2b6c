// Fastify answers 404 for a known path with an unknown method; HTTP wants 405 with an Allow header.
// Routes are collected as they are registered; afterwards each path gets a sibling for the methods it lacks, and the
// not-found handler answers 405 for the methods Fastify does not route at all (PROPFIND, say) on a known path.
import type { FastifyInstance, FastifyReply, FastifyRequest, HTTPMethods } from 'fastify'
import { MethodNotAllowedError } from '../errors.js'

export interface RouteMethods {
  /** Call once every route is registered: adds the 405 routes. */
  addMethodNotAllowedRoutes (): void
  /** The Allow header of a request path that some route serves with other methods; undefined for no such path. */
  allowedFor (url: string): string | undefined
}

/** Starts collecting the app's routes. */
export function trackRouteMethods (app: FastifyInstance, { cors = false } = {}): RouteMethods {
  const methodsByUrl = new Map<string, Set<string>>()
  const allowByPath: Array<{ path: RegExp, allow: string }> = []
  let done = false
  app.addHook('onRoute', (route) => {
    if (done) return
    const methods = methodsByUrl.get(route.url) ?? new Set<string>()
    for (const method of [route.method].flat()) methods.add(method)
    methodsByUrl.set(route.url, methods)
  })

  return {
    addMethodNotAllowedRoutes () {
      done = true
      for (const [url, methods] of methodsByUrl) {
        const allow = [...methods].sort().join(', ')
        allowByPath.push({ path: pathPattern(url), allow })
        const refuse = async (request: FastifyRequest, reply: FastifyReply) => {
          reply.header('allow', allow)
          throw new MethodNotAllowedError(request.method)
        }
        app.route({
          method: app.supportedMethods
            .filter((method) => !methods.has(method) && !(cors && method === 'OPTIONS')) as HTTPMethods[],
          url,
          schema: { hide: true },
          // Before the body is parsed: a POST or QUERY to a path that takes neither is a 405, whatever its body's
          // type (or lack of one), not the 415 or 400 of a parser that should never have run.
          onRequest: refuse,
          handler: refuse
        })
      }
    },
    allowedFor (url) {
      const path = url.split('?')[0]!
      return allowByPath.find((known) => known.path.test(path))?.allow
    }
  }
}

/** A route's URL as a pattern of request paths: each `:param` is one non-empty path segment. */
function pathPattern (url: string): RegExp {
  const escaped = url.split('/').map((segment) =>
    segment.startsWith(':') ? '[^/]+' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
  return new RegExp(`^${escaped.join('/')}$`)
}
