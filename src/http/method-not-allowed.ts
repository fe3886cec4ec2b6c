// Fastify answers 404 for a known path with an unknown method; HTTP wants 405 with an Allow header.
// Routes are collected as they are registered; afterwards each path gets a sibling for the methods it lacks.
import type { FastifyInstance, HTTPMethods } from 'fastify'
import { MethodNotAllowedError } from '../errors.js'

/**
 * Starts collecting the app's routes. Call the returned function once every route is registered:
 * it adds the 405 routes.
 */
export function trackRouteMethods (app: FastifyInstance, { cors = false } = {}): () => void {
  const methodsByUrl = new Map<string, Set<string>>()
  let done = false
  app.addHook('onRoute', (route) => {
    if (done) return
    const methods = methodsByUrl.get(route.url) ?? new Set<string>()
    for (const method of [route.method].flat()) methods.add(method)
    methodsByUrl.set(route.url, methods)
  })

  return function addMethodNotAllowedRoutes () {
    done = true
    for (const [url, methods] of methodsByUrl) {
      const allow = [...methods].sort().join(', ')
      app.route({
        method: app.supportedMethods
          .filter((method) => !methods.has(method) && !(cors && method === 'OPTIONS')) as HTTPMethods[],
        url,
        schema: { hide: true },
        handler: async (request, reply) => {
          reply.header('allow', allow)
          throw new MethodNotAllowedError(request.method)
        }
      })
    }
  }
}
