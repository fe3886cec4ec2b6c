// The security headers every answer carries: helmet's, with a Content-Security-Policy that keeps a cached value
// stored as text/html from running in a browser. @fastify/helmet computes them once, at startup, and the same
// fixed set is then sent by every route (protection.ts) and by the answers that never reach a route (errors of
// Node's HTTP parser and of the router): helmet itself rebuilds its policy on every request, which a cache's hot
// path should not pay for.
import fastifyHelmet, { type FastifyHelmetOptions } from '@fastify/helmet'
import Fastify from 'fastify'

const HELMET_OPTIONS: FastifyHelmetOptions = {
  contentSecurityPolicy: {
    useDefaults: false,
    directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"], sandbox: [] }
  }
}

let computed: Promise<Readonly<Record<string, string>>> | undefined

/** The headers @fastify/helmet adds with HELMET_OPTIONS; they never change, so they are read once per process. */
export function securityHeaders (): Promise<Readonly<Record<string, string>>> {
  computed ??= readHeaders()
  return computed
}

/** One answer with helmet, less the same answer without it. */
async function readHeaders (): Promise<Readonly<Record<string, string>>> {
  const [withHelmet, without] = await Promise.all([answerHeaders(true), answerHeaders(false)])
  return Object.freeze(Object.fromEntries(Object.entries(withHelmet)
    .filter(([name]) => !(name in without))
    .map(([name, value]) => [name, String(value)])))
}

async function answerHeaders (helmet: boolean) {
  const probe = Fastify()
  if (helmet) await probe.register(fastifyHelmet, HELMET_OPTIONS)
  probe.get('/', async () => '')
  const { headers } = await probe.inject('/')
  await probe.close()
  return headers
}
