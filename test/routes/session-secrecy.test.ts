// Session ids are bearer secrets: neither a dump of Redis nor the logs may yield one.
import { createHash } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import t, { type Test } from 'tap'
import { buildTestApp, captureLogs, type LogCapture } from '../helpers/app.js'
import { startRedis } from '../helpers/redis-server.js'

const JSON_TYPE = { 'content-type': 'application/json' }
const PATCH_TYPE = { 'content-type': 'application/merge-patch+json' }
const CHOSEN_ID = 'client-chosen-secret-id-42'

/** Every operation, and the error paths where an id could slip into a message. Returns the ids used. */
async function exercise (app: FastifyInstance): Promise<string[]> {
  const payload = '{"data":{"a":1}}'
  const created = await app.inject({ method: 'POST', url: '/sessions', headers: JSON_TYPE, payload })
  const ids = [created.json().id as string, CHOSEN_ID]
  await app.inject({ method: 'PUT', url: `/sessions/${CHOSEN_ID}`, headers: JSON_TYPE, payload: '{"data":{"b":2}}' })
  for (const id of ids) {
    const url = `/sessions/${id}`
    await app.inject({ method: 'GET', url })
    await app.inject({ method: 'GET', url: `${url}?touch=false` })
    await app.inject({ method: 'GET', url: `${url}?touch=bad` })
    await app.inject({ method: 'PATCH', url, headers: PATCH_TYPE, payload: '{"c":3}' })
    await app.inject({ method: 'PATCH', url, headers: JSON_TYPE, payload: '{"c":3}' })
    await app.inject({ method: 'PUT', url, headers: { ...JSON_TYPE, 'if-match': '"stale"' }, payload: '{"data":{}}' })
    await app.inject({ method: 'PUT', url, headers: JSON_TYPE, payload: '{"data":{},"idleTtlSeconds":-1}' })
    await app.inject({ method: 'POST', url })
    await app.inject({ method: 'GET', url: `${url}/more` })
  }
  await app.inject({ method: 'DELETE', url: `/sessions/${ids[0]}` })
  await app.inject({ method: 'DELETE', url: `/sessions/${ids[0]}` })
  return ids
}

function assertNoIdLogged (t: Test, logs: LogCapture, ids: string[]) {
  const text = logs.text()
  t.ok(logs.lines().length > 20, 'the requests were logged')
  for (const id of ids) t.notOk(text.includes(id), `no log line contains the id ${id.slice(0, 4)}…`)
  const ref = createHash('sha256').update(CHOSEN_ID).digest('base64url').slice(0, 12)
  t.ok(text.includes(ref), 'a short hash stands in for the id where a line needs one')
  t.match(text, /"url":"\/sessions\/\[redacted\]/)
}

t.test('memory store: no session id in the logs', async (t) => {
  const logs = captureLogs()
  const app = await buildTestApp(t, { logs })
  assertNoIdLogged(t, logs, await exercise(app))
})

t.test('Redis: no session id in the logs, the key space or the stored values', async (t) => {
  const redis = await startRedis(t)
  const admin = redis.admin()
  const logs = captureLogs()
  const app = await buildTestApp(t, { env: { REDIS_URL: redis.url }, logs })
  const ids = await exercise(app)
  assertNoIdLogged(t, logs, ids)

  const keys = await admin.keys('*')
  const sessions = keys.filter((key) => key.startsWith('cache-service:session:'))
  t.equal(sessions.length, 1, 'one session left')
  t.match(sessions[0], /^cache-service:session:[A-Za-z0-9_-]{43}$/, 'keyed by a SHA-256 of the id')
  let dump = keys.join('\n')
  for (const key of sessions) dump += JSON.stringify(await admin.hgetall(key))
  t.match(dump, /"c":"\d+"/, 'the dump holds the session')
  for (const id of ids) t.notOk(dump.includes(id), `the dump does not contain the id ${id.slice(0, 4)}…`)
})
