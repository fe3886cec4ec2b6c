// What every session operation answers is a Session as its schema describes it, exactly: the serializer writes what
// the schema names, and these real responses are parsed back through the schema, strictly.
import t from 'tap'
import { SessionSchema } from '../../src/schemas/sessions.js'
import { buildTestApp } from '../helpers/app.js'
import { startRedis } from '../helpers/redis-server.js'

const redis = await startRedis(t)
const JSON_TYPE = { 'content-type': 'application/json' }
const StrictSession = SessionSchema.strict()

for (const store of ['memory', 'redis'] as const) {
  t.test(`${store}: POST, PUT, GET and PATCH answer a Session, and the data is what was written`, async (t) => {
    const app = await buildTestApp(t, { env: store === 'redis' ? { REDIS_URL: redis.url } : {} })
    const data = { user: 'ada', roles: ['reader'], nested: { deep: [1, 2.5, null, true, 'x'] }, empty: {} }

    const created = await app.inject({ method: 'POST', url: '/sessions', headers: JSON_TYPE, payload: { data } })
    t.equal(created.statusCode, 201)
    const session = StrictSession.parse(created.json())
    t.same(session.data, data)
    t.equal(created.headers.location, `/sessions/${session.id}`)

    const replaced = await app.inject({
      method: 'PUT', url: `/sessions/${session.id}`, headers: JSON_TYPE, payload: { data: { user: 'ada', n: 2 } }
    })
    t.equal(replaced.statusCode, 200)
    t.same(StrictSession.parse(replaced.json()).data, { user: 'ada', n: 2 })

    const read = await app.inject({ method: 'GET', url: `/sessions/${session.id}` })
    t.same(StrictSession.parse(read.json()).data, { user: 'ada', n: 2 })

    const patched = await app.inject({
      method: 'PATCH',
      url: `/sessions/${session.id}`,
      headers: { 'content-type': 'application/merge-patch+json' },
      payload: { n: null, added: { a: 1 } }
    })
    t.equal(patched.statusCode, 200)
    const after = StrictSession.parse(patched.json())
    t.same(after.data, { user: 'ada', added: { a: 1 } })
    t.ok(Date.parse(after.expiresAt) <= Date.parse(after.absoluteExpiresAt), 'the timestamps are instants')
  })
}

t.test('a health probe answers a Health, and nothing else', async (t) => {
  const app = await buildTestApp(t)
  t.same((await app.inject({ method: 'GET', url: '/healthz' })).json(), { status: 'ok' })
  t.same((await app.inject({ method: 'GET', url: '/readyz' })).json(), { status: 'ready' })
})
