// Every plugin declares what it needs, so registering the plugins of app.ts in another order fails at startup,
// naming what is missing, instead of failing later at a request.
import Fastify, { type FastifyInstance } from 'fastify'
import t from 'tap'
import { loadConfig } from '../../src/config/index.js'
import authPlugin from '../../src/plugins/auth.js'
import metricsPlugin from '../../src/plugins/metrics.js'
import rateLimitPlugin from '../../src/plugins/rate-limit.js'
import redisPlugin from '../../src/plugins/redis.js'
import { redisStore } from '../../src/plugins/store.js'

const rateLimit = { max: 0, windowMs: 60_000, budgetPercent: 1, budgetKeys: 10_000, shared: false, keyPrefix: 'test:' }
/** app.ready() is thenable but not a Promise, which is what tap asks for. */
const ready = async (app: FastifyInstance) => { await app.ready() }
const auth = { auth: { mode: 'none' as const }, failureLimit: { max: 0, windowMs: 60_000 } }

t.test('the Redis plugin needs the metrics plugin before it', async (t) => {
  const app = Fastify()
  app.register(redisPlugin, {
    keyPrefix: 'test:', redis: loadConfig({ AUTH_MODE: 'none', REDIS_URL: 'redis://127.0.0.1:1' }).redis!
  })
  await t.rejects(ready(app), /dependency 'metrics' of plugin 'redis' is not registered/)
})

t.test('the Redis store needs the Redis plugin before it', async (t) => {
  const app = Fastify()
  app.register(redisStore, {
    keyPrefix: 'test:',
    waiting: { maxWaiters: 1, maxPerCaller: 1 },
    near: { maxBytes: 0, maxStaleIfErrorSeconds: 0 },
    commandTimeoutMs: 1000,
    sessionAbsoluteTtlSeconds: 86_400,
    sessionEvents: { maxEvents: 1, sweepIntervalMs: 1000, namespaceOf: () => '' }
  })
  await t.rejects(ready(app), /dependency 'redis' of plugin 'store' is not registered/)
})

t.test('the rate limit needs the metrics, and Redis when its counters are shared', async (t) => {
  const alone = Fastify()
  alone.register(rateLimitPlugin, rateLimit)
  await t.rejects(ready(alone), /dependency 'metrics' of plugin 'rate-limit' is not registered/)

  const unshared = Fastify()
  unshared.register(metricsPlugin)
  unshared.register(rateLimitPlugin, { ...rateLimit, shared: true })
  await t.rejects(ready(unshared), /shared counters need the redis plugin/)
})

t.test('authentication needs the rate limit (it counts failures in its store) before it', async (t) => {
  const app = Fastify()
  app.register(metricsPlugin)
  app.register(authPlugin, auth)
  await t.rejects(ready(app), /dependency 'rate-limit' of plugin 'auth' is not registered/)

  const inOrder = Fastify()
  inOrder.register(metricsPlugin)
  inOrder.register(rateLimitPlugin, rateLimit)
  inOrder.register(authPlugin, auth)
  await t.resolves(ready(inOrder), 'and starts when it is')
  await inOrder.close()
})
