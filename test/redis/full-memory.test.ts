// Redis at its memory limit with maxmemory-policy noeviction, as the README asks for sessions: writes are refused
// with a problem of their own (507 store-full), nothing half-written remains, and everything else goes on working.
import t from 'tap'
import { buildTestApp, captureLogs } from '../helpers/app.js'
import { startRedis } from '../helpers/redis-server.js'

const VALUE = Buffer.alloc(64 * 1024, 'v')
const JSON_TYPE = { 'content-type': 'application/json' }

t.test('a full Redis: writes get 507 store-full and store nothing; reads, deletes and readiness go on', async (t) => {
  const redis = await startRedis(t, { args: ['--maxmemory', '4mb', '--maxmemory-policy', 'noeviction'] })
  const logs = captureLogs()
  const app = await buildTestApp(t, { env: { REDIS_URL: redis.url }, logs })
  const session = await app.inject({
    method: 'POST', url: '/sessions', headers: JSON_TYPE, payload: { data: { user: 'ada' } }
  })
  t.equal(session.statusCode, 201)
  const { id } = session.json() as { id: string }
  const owned = await app.inject({
    method: 'POST', url: '/sessions', headers: JSON_TYPE, payload: { subject: 'ada', data: { user: 'ada' } }
  })
  t.equal(owned.statusCode, 201)

  // Fill it: 64 KiB at a time until Redis says no; 200 values would be thrice the limit.
  let stored = 0
  let refused: Awaited<ReturnType<typeof app.inject>> | undefined
  while (refused === undefined && stored < 200) {
    const put = await app.inject({ method: 'PUT', url: `/cache/fill-${stored}`, payload: VALUE })
    if (put.statusCode === 201) stored++
    else refused = put
  }
  t.ok(stored > 10, `${stored} values stored before the limit`)
  t.equal(refused?.statusCode, 507)
  t.match(refused?.headers['content-type'], /^application\/problem\+json/)
  t.same(refused?.json(), {
    type: 'urn:cache-service:problem:store-full',
    title: 'The store is full',
    status: 507,
    detail: 'The store has no room for new data; nothing was written'
  })
  t.notMatch(refused?.body, /OOM|maxmemory/, 'Redis\'s own words stay in the log')
  t.equal(await redis.admin().exists(`cache-service:cache:fill-${stored}`), 0, 'the refused value left nothing')

  // What Redis counts against the limit moves on its own: the refused value's bytes leave its input buffer, and
  // idle clients' buffers shrink, which can make room for a small write again. Setting the limit a little below what
  // is used now keeps it full whatever moves, as a Redis whose limit was lowered under it would be.
  const used = Number(/used_memory:(\d+)/.exec(await redis.admin().info('memory'))?.[1])
  await redis.admin().config('SET', 'maxmemory', String(used - 512 * 1024))

  const sessionWrites = [
    await app.inject({ method: 'POST', url: '/sessions', headers: JSON_TYPE, payload: { data: { a: 1 } } }),
    await app.inject({
      method: 'PUT', url: `/sessions/${id}`, headers: JSON_TYPE, payload: { data: { big: 'x'.repeat(60_000) } }
    }),
    await app.inject({
      method: 'PATCH',
      url: `/sessions/${id}`,
      headers: { 'content-type': 'application/merge-patch+json' },
      payload: { big: 'y'.repeat(60_000) }
    })
  ]
  t.same(sessionWrites.map((write) => write.statusCode), [507, 507, 507], 'session writes are refused alike')
  const ownedCreate = await app.inject({
    method: 'POST', url: '/sessions', headers: JSON_TYPE, payload: { subject: 'ada', data: {} }
  })
  t.equal(ownedCreate.statusCode, 507, 'so is a session of a subject')
  const rotated = await app.inject({ method: 'POST', url: `/sessions/${owned.json().id}/rotate` })
  t.equal(rotated.statusCode, 507, 'and a rotation, which has nowhere to write the new id')
  const listed = await app.inject({ method: 'GET', url: '/sessions?subject=ada' })
  t.equal(listed.json().sessions.length, 1, 'the subject has its one session, and no other')
  const putBack = await app.inject({ method: 'GET', url: `/sessions/${owned.json().id}` })
  t.same(putBack.json().data, { user: 'ada' }, 'which the failed rotation put back under its old id')
  t.equal(putBack.headers.etag, owned.headers.etag, 'as it was, entity tag and all')
  const revoked = await app.inject({
    method: 'POST', url: '/sessions/revoke', headers: JSON_TYPE, payload: { subject: 'ada' }
  })
  t.same(revoked.json(), { ended: 1 }, 'a revocation still ends sessions (DEL takes no memory)')
  t.ok(logs.lines().some(({ level, msg }) => level === 40 && msg === 'session ends could not be recorded as events'),
    'though its event, which takes memory, is lost, and the log says so')

  const read = await app.inject({ method: 'GET', url: '/cache/fill-0' })
  t.equal(read.statusCode, 200, 'a read still works')
  t.ok(read.rawPayload.equals(VALUE), 'and gives back the bytes that were acknowledged')
  const sliding = await app.inject({ method: 'GET', url: `/sessions/${id}` })
  t.equal(sliding.statusCode, 200, 'a session read still slides its expiry (PEXPIREAT takes no memory)')
  t.same(sliding.json().data, { user: 'ada' }, 'the session is as it was before the refused writes')
  t.equal((await app.inject({ method: 'GET', url: '/readyz' })).statusCode, 200, 'the store still answers')

  // Deletes make room, and writes work again without a restart.
  for (let i = 0; i < stored; i++) {
    t.equal((await app.inject({ method: 'DELETE', url: `/cache/fill-${i}` })).statusCode, 204)
  }
  t.equal((await app.inject({ method: 'PUT', url: '/cache/after', payload: VALUE })).statusCode, 201)
  const later = await app.inject({
    method: 'POST', url: '/sessions', headers: JSON_TYPE, payload: { subject: 'ada', data: {} }
  })
  await app.inject({ method: 'DELETE', url: `/sessions/${later.json().id}` })
  const events = (await app.inject({ method: 'GET', url: '/sessions/events' })).json().events
  t.match(events, [{ reason: 'deleted' }], 'and ends are told again once there is room')
  t.equal(events.length, 1)
})

t.test('a bulk write that meets the limit part way: each entry says whether it was stored, and it was', async (t) => {
  const redis = await startRedis(t, { args: ['--maxmemory', '4mb', '--maxmemory-policy', 'noeviction'] })
  // Large enough a body for 90 values of 64 KiB, base64-encoded: a bulk write may carry four of the largest values.
  const app = await buildTestApp(t, { env: { REDIS_URL: redis.url, CACHE_MAX_VALUE_BYTES: String(2 ** 21) } })
  const entries = Array.from({ length: 90 }, (_, i) => ({ key: `bulk-${i}`, value: VALUE.toString('base64') }))
  const written = await app.inject({ method: 'POST', url: '/cache-bulk/put', headers: JSON_TYPE, payload: { entries } })
  t.equal(written.statusCode, 200, 'some entries were stored, so the request as a whole succeeded')
  const outcomes = (written.json().results as Array<{ outcome: string }>).map(({ outcome }) => outcome)
  const stored = outcomes.filter((outcome) => outcome === 'created').length
  t.ok(stored > 10 && stored < 90, `${stored} stored before the limit`)
  t.same(new Set(outcomes), new Set(['created', 'store-full']), 'the rest are store-full')

  const read = await app.inject({
    method: 'POST', url: '/cache-bulk/get', headers: JSON_TYPE, payload: { keys: entries.map(({ key }) => key) }
  })
  const found = (read.json().entries as Array<{ found: boolean }>).map(({ found }) => found)
  t.same(found, outcomes.map((outcome) => outcome === 'created'), 'exactly the entries said to be stored were')

  const allRefused = await app.inject({
    method: 'POST', url: '/cache-bulk/put', headers: JSON_TYPE, payload: { entries: entries.slice(0, 3) }
  })
  t.equal(allRefused.statusCode, 507, 'when no entry could be stored, the request fails as one PUT would')
})
