// The behaviour of /sessions that every store must give identically. Run by session-stores.test.ts on every
// store.
import { setTimeout as sleep } from 'node:timers/promises'
import type { FastifyInstance } from 'fastify'
import type { Test } from 'tap'
import { bearer, ISOLATED_SESSION_CALLERS_ENV, WRITER_A, WRITER_B } from '../helpers/api-keys.js'
import type { AppFactory } from './cache-contract.js'

const JSON_TYPE = { 'content-type': 'application/json' }
const PATCH_TYPE = { 'content-type': 'application/merge-patch+json' }
const CLIENT_ID = 'client-chosen-session-id-0001'

export function sessionContract (t: Test, makeApp: AppFactory): void {
  t.test('POST creates a session with an unguessable id, a Location, an ETag and its lifetimes', async (t) => {
    const app = await makeApp(t)
    const res = await create(app, { data: { user: 'ada' } })
    t.equal(res.statusCode, 201)
    const session = res.json()
    t.match(session.id, /^[A-Za-z0-9_-]{43}$/, '32 random bytes in base64url')
    t.equal(res.headers.location, `/sessions/${session.id}`)
    t.match(res.headers.etag, /^"[\w-]+"$/)
    t.equal(res.headers['cache-control'], 'no-store')
    t.same(session.data, { user: 'ada' })
    const created = Date.parse(session.createdAt)
    t.equal(session.updatedAt, session.createdAt)
    t.equal(Date.parse(session.expiresAt) - created, 1800 * 1000, 'idle lifetime: SESSION_IDLE_TTL_SECONDS')
    t.equal(Date.parse(session.absoluteExpiresAt) - created, 86_400 * 1000, 'absolute: SESSION_ABSOLUTE_TTL_SECONDS')
    t.match(session.createdAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/, 'RFC 3339')

    const other = (await create(app, { data: {} })).json()
    t.not(other.id, session.id)
    const read = await app.inject({ method: 'GET', url: res.headers.location as string })
    t.equal(read.statusCode, 200)
    t.same(read.json().data, { user: 'ada' })
  })

  t.test('per-session lifetimes are honoured, and refused above the configured ones', async (t) => {
    const app = await makeApp(t)
    const session = (await create(app, { data: {}, idleTtlSeconds: 60, absoluteTtlSeconds: 600 })).json()
    const created = Date.parse(session.createdAt)
    t.equal(Date.parse(session.expiresAt) - created, 60_000)
    t.equal(Date.parse(session.absoluteExpiresAt) - created, 600_000)
    const capped = (await create(app, { data: {}, idleTtlSeconds: 600, absoluteTtlSeconds: 60 })).json()
    t.equal(capped.expiresAt, capped.absoluteExpiresAt, 'the idle expiry never passes the absolute one')

    for (const body of [
      { data: {}, idleTtlSeconds: 1801 },
      { data: {}, absoluteTtlSeconds: 86_401 },
      { data: {}, idleTtlSeconds: 0 },
      { data: {}, idleTtlSeconds: 1.5 },
      { data: {}, absoluteTtlSeconds: '60' }
    ]) {
      const res = await create(app, body)
      t.equal(res.statusCode, 400, JSON.stringify(body))
      t.match(res.json(), { errors: [{ in: 'body' }] })
    }
  })

  t.test('bad bodies are refused and change nothing', async (t) => {
    const app = await makeApp(t, { SESSION_MAX_BYTES: '1024' })
    const original = await put(app, CLIENT_ID, { data: { v: 1 } })

    const refusals: Array<[string, number, Record<string, string>, string]> = [
      ['data is an array', 400, JSON_TYPE, '{"data":[1,2]}'],
      ['data is a string', 400, JSON_TYPE, '{"data":"text"}'],
      ['data is null', 400, JSON_TYPE, '{"data":null}'],
      ['no data', 400, JSON_TYPE, '{}'],
      ['an unknown member', 400, JSON_TYPE, '{"data":{},"idleTTL":5}'],
      ['invalid JSON', 400, JSON_TYPE, '{"data":{'],
      ['a prototype-poisoning key', 400, JSON_TYPE, '{"data":{"__proto__":{"admin":true}}}'],
      ['nesting deeper than 64 levels', 400, JSON_TYPE, `{"data":${'{"a":'.repeat(70)}1${'}'.repeat(70)}}`],
      ['data over SESSION_MAX_BYTES', 413, JSON_TYPE, JSON.stringify({ data: { blob: 'x'.repeat(1100) } })],
      ['a merge patch type', 415, PATCH_TYPE, '{"data":{}}'],
      ['text/plain', 415, { 'content-type': 'text/plain' }, '{"data":{}}']
    ]
    for (const [name, status, headers, payload] of refusals) {
      const res = await app.inject({ method: 'PUT', url: `/sessions/${CLIENT_ID}`, headers, payload })
      t.equal(res.statusCode, status, `PUT with ${name}`)
      t.match(res.headers['content-type'], /^application\/problem\+json/, name)
      t.notMatch(res.body, CLIENT_ID, 'the error does not echo the session id')
      const post = await app.inject({ method: 'POST', url: '/sessions', headers, payload })
      t.equal(post.statusCode, status, `POST with ${name}`)
    }
    const after = await read(app, CLIENT_ID, false)
    t.same(after.json().data, { v: 1 }, 'the session is unchanged')
    t.equal(after.headers.etag, original.headers.etag)
  })

  t.test('PUT creates with a client id (201), then replaces its data (200), keeping its creation', async (t) => {
    const app = await makeApp(t)
    const created = await put(app, CLIENT_ID, { data: { step: 1 }, idleTtlSeconds: 100, absoluteTtlSeconds: 1000 })
    t.equal(created.statusCode, 201)
    t.equal(created.json().id, CLIENT_ID)
    await sleep(20)
    const replaced = await put(app, CLIENT_ID, { data: { step: 2 }, idleTtlSeconds: 50, absoluteTtlSeconds: 5000 })
    t.equal(replaced.statusCode, 200)
    const [before, after] = [created.json(), replaced.json()]
    t.same(after.data, { step: 2 })
    t.equal(after.createdAt, before.createdAt)
    t.equal(after.absoluteExpiresAt, before.absoluteExpiresAt, 'a replace cannot extend the absolute lifetime')
    t.ok(Date.parse(after.updatedAt) > Date.parse(before.updatedAt))
    t.equal(Date.parse(after.expiresAt) - Date.parse(after.updatedAt), 50_000, 'the new idle lifetime applies')
    t.not(replaced.headers.etag, created.headers.etag)
  })

  t.test('a client-chosen id must be 22 to 128 characters of base64url', async (t) => {
    const app = await makeApp(t)
    const base = 'a'.repeat(22)
    for (const id of ['a'.repeat(21), 'a'.repeat(129), `${base}.`, `${base}%20`, `${base}+`]) {
      const res = await put(app, id, { data: {} })
      t.equal(res.statusCode, 400, `${id.length} characters: ${id.slice(20)}`)
      t.match(res.json(), { errors: [{ in: 'params', path: '/id' }] })
    }
    t.equal((await put(app, 'a'.repeat(22), { data: {} })).statusCode, 201)
    t.equal((await put(app, 'Z_-9'.repeat(32), { data: {} })).statusCode, 201)
  })

  t.test('GET slides the idle expiry, atomically with the read; ?touch=false does not', async (t) => {
    const app = await makeApp(t)
    const created = (await put(app, CLIENT_ID, { data: {}, idleTtlSeconds: 100 })).json()
    await sleep(50)
    const untouched = await read(app, CLIENT_ID, false)
    t.equal(untouched.statusCode, 200)
    t.equal(untouched.headers['cache-control'], 'no-store')
    t.equal(untouched.json().expiresAt, created.expiresAt, 'touch=false leaves the expiry')
    const touched = (await read(app, CLIENT_ID)).json()
    t.ok(Date.parse(touched.expiresAt) >= Date.parse(created.expiresAt) + 40, 'a read pushes the expiry ahead')
    t.equal(touched.updatedAt, created.updatedAt, 'a read is not an update')
    const after = (await read(app, CLIENT_ID, false)).json()
    t.equal(after.expiresAt, touched.expiresAt, 'the slid expiry was stored')
    t.equal((await app.inject({ method: 'GET', url: `/sessions/${CLIENT_ID}?touch=maybe` })).statusCode, 400)
  })

  t.test('sliding expiry keeps an active session alive past its idle lifetime, up to the absolute cap', async (t) => {
    const app = await makeApp(t)
    // Idle 2 s, absolute 4 s: reads every 0.6 s keep it past its idle lifetime, with room for a slow machine.
    const created = Date.now()
    await put(app, CLIENT_ID, { data: { alive: true }, idleTtlSeconds: 2, absoluteTtlSeconds: 4 })
    for (let i = 0; i < 4; i++) {
      await sleep(600)
      const res = await read(app, CLIENT_ID)
      t.equal(res.statusCode, 200, `alive at ${((Date.now() - created) / 1000).toFixed(1)} s`)
      t.ok(res.json().expiresAt <= res.json().absoluteExpiresAt)
    }
    await sleep(Math.max(0, created + 4300 - Date.now()))
    t.equal((await read(app, CLIENT_ID)).statusCode, 404, 'gone at the absolute expiry, however active')

    await put(app, 'idle-session-id-000000001', { data: {}, idleTtlSeconds: 1 })
    await sleep(1100)
    t.equal((await read(app, 'idle-session-id-000000001')).statusCode, 404, 'an idle session expires')
    t.equal((await patch(app, 'idle-session-id-000000001', { x: 1 })).statusCode, 404, 'and no patch revives it')
  })

  t.test('PATCH merges an RFC 7396 merge patch into the data and slides the expiry', async (t) => {
    const app = await makeApp(t)
    // RFC 7396 Appendix A, where the target is an object, plus values a naive Lua JSON round trip would spoil.
    const cases: Array<[object, object, object]> = [
      [{ a: 'b' }, { a: 'c' }, { a: 'c' }],
      [{ a: 'b' }, { b: 'c' }, { a: 'b', b: 'c' }],
      [{ a: 'b' }, { a: null }, {}],
      [{ a: 'b', b: 'c' }, { a: null }, { b: 'c' }],
      [{ a: ['b'] }, { a: 'c' }, { a: 'c' }],
      [{ a: 'c' }, { a: ['b'] }, { a: ['b'] }],
      [{ a: { b: 'c' } }, { a: { b: 'd', c: null } }, { a: { b: 'd' } }],
      [{ a: [{ b: 'c' }] }, { a: [1] }, { a: [1] }],
      [{ e: null }, { a: 1 }, { e: null, a: 1 }],
      [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
      [
        { list: [], empty: {}, n: 12345.678901234567 },
        { added: [] },
        { list: [], empty: {}, n: 12345.678901234567, added: [] }
      ],
      [
        { big: 9007199254740991, tiny: 5e-324, neg: -0.5 },
        { big: 9007199254740990 },
        { big: 9007199254740990, tiny: 5e-324, neg: -0.5 }
      ],
      [
        { 'a"b': 'q"{}[],:\\', ключ: '😀' },
        { 'a"b': { '\\': '\n' }, ключ: null },
        { 'a"b': { '\\': '\n' } }
      ],
      [
        { 1: 'one', b: { c: [{ d: null }] } },
        { 2: 'two', b: { c: { d: 1 } } },
        { 1: 'one', 2: 'two', b: { c: { d: 1 } } }
      ]
    ]
    for (const [i, [target, mergePatch, expected]] of cases.entries()) {
      const id = `merge-patch-case-${String(i).padStart(8, '0')}`
      const before = (await put(app, id, { data: target, idleTtlSeconds: 100 })).json()
      await sleep(5)
      const res = await patch(app, id, mergePatch)
      t.equal(res.statusCode, 200, `case ${i}`)
      t.same(res.json().data, expected, `case ${i}: ${JSON.stringify(mergePatch)}`)
      t.same((await read(app, id, false)).json().data, expected, `case ${i} is stored`)
      t.ok(res.json().expiresAt > before.expiresAt, 'a patch slides the expiry')
      t.ok(res.json().updatedAt > before.updatedAt, 'and is an update')
      t.equal(res.json().createdAt, before.createdAt)
    }
  })

  t.test('PATCH refuses bad patches, and a result over SESSION_MAX_BYTES, changing nothing', async (t) => {
    const app = await makeApp(t, { SESSION_MAX_BYTES: '100' })
    await put(app, CLIENT_ID, { data: { keep: 'me' } })
    const refusals: Array<[string, number, Record<string, string>, string]> = [
      ['application/json', 415, JSON_TYPE, '{"a":1}'],
      ['a non-object patch', 400, PATCH_TYPE, '[1]'],
      ['a null patch', 400, PATCH_TYPE, 'null'],
      ['invalid JSON', 400, PATCH_TYPE, '{"a":'],
      ['a result over the limit', 413, PATCH_TYPE, JSON.stringify({ blob: 'x'.repeat(90) })]
    ]
    for (const [name, status, headers, payload] of refusals) {
      const res = await app.inject({ method: 'PATCH', url: `/sessions/${CLIENT_ID}`, headers, payload })
      t.equal(res.statusCode, status, name)
      t.match(res.headers['content-type'], /^application\/problem\+json/)
    }
    const url = `/sessions/${CLIENT_ID}`
    const wrongType = await app.inject({ method: 'PATCH', url, headers: JSON_TYPE, payload: '{}' })
    t.equal(wrongType.headers['accept-patch'], 'application/merge-patch+json')
    t.same((await read(app, CLIENT_ID, false)).json().data, { keep: 'me' })
    t.equal((await patch(app, 'missing-session-id-000001', { a: 1 })).statusCode, 404)
  })

  t.test('50 concurrent PATCHes, each setting a different field, all land', async (t) => {
    const app = await makeApp(t)
    await put(app, CLIENT_ID, { data: { base: true } })
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => patch(app, CLIENT_ID, { [`field${i}`]: i })))
    t.same(results.map((res) => res.statusCode), Array(50).fill(200))
    const data = (await read(app, CLIENT_ID, false)).json().data
    t.equal(Object.keys(data).length, 51)
    for (let i = 0; i < 50; i++) t.equal(data[`field${i}`], i, `field${i}`)
    t.equal(new Set(results.map((res) => res.headers.etag)).size, 50, 'each write has its own ETag')
  })

  t.test('a PATCH racing a DELETE never resurrects the session', async (t) => {
    const app = await makeApp(t)
    for (let round = 0; round < 25; round++) {
      const id = `race-session-id-${String(round).padStart(8, '0')}`
      await put(app, id, { data: { round } })
      const patching = () => patch(app, id, { late: true })
      const deleting = () => app.inject({ method: 'DELETE', url: `/sessions/${id}` })
      // Alternate which request is sent first, so both orders reach the store.
      const [patched, deleted] = round % 2 === 0
        ? await Promise.all([patching(), deleting()])
        : (await Promise.all([deleting(), patching()])).reverse()
      t.equal(deleted!.statusCode, 204, `round ${round}: the delete succeeds`)
      t.ok([200, 404].includes(patched!.statusCode), `round ${round}: the patch lands before it or finds nothing`)
      t.equal((await read(app, id, false)).statusCode, 404, `round ${round}: still deleted`)
    }
  })

  t.test('preconditions on PUT, PATCH and DELETE; no write based on a gone session re-creates it', async (t) => {
    const app = await makeApp(t)
    const created = await put(app, CLIENT_ID, { data: { v: 1 } }, { 'if-none-match': '*' })
    t.equal(created.statusCode, 201, 'If-None-Match: * creates')
    const etag = created.headers.etag as string
    t.equal((await put(app, CLIENT_ID, { data: { v: 2 } }, { 'if-none-match': '*' })).statusCode, 412, 'create-only')
    t.equal((await put(app, CLIENT_ID, { data: { v: 2 } }, { 'if-match': '"stale"' })).statusCode, 412)
    t.equal((await patch(app, CLIENT_ID, { v: 2 }, { 'if-match': '"stale"' })).statusCode, 412)
    const url = `/sessions/${CLIENT_ID}`
    const stale = await app.inject({ method: 'DELETE', url, headers: { 'if-match': '"stale"' } })
    t.equal(stale.statusCode, 412)
    t.same((await read(app, CLIENT_ID, false)).json().data, { v: 1 }, 'refused writes changed nothing')

    const patched = await patch(app, CLIENT_ID, { v: 2 }, { 'if-match': etag })
    t.equal(patched.statusCode, 200, 'If-Match with the current ETag')
    const replaced = await put(app, CLIENT_ID, { data: { v: 3 } }, { 'if-match': patched.headers.etag as string })
    t.equal(replaced.statusCode, 200)
    t.equal((await put(app, CLIENT_ID, { data: { v: 4 } }, { 'if-match': etag })).statusCode, 412, 'an old ETag fails')

    const deleted = await app.inject({
      method: 'DELETE', url: `/sessions/${CLIENT_ID}`, headers: { 'if-match': replaced.headers.etag as string }
    })
    t.equal(deleted.statusCode, 204)
    t.equal((await app.inject({ method: 'DELETE', url: `/sessions/${CLIENT_ID}` })).statusCode, 404)
    t.equal((await patch(app, CLIENT_ID, { v: 5 })).statusCode, 404, 'PATCH on a deleted session')
    t.equal((await patch(app, CLIENT_ID, { v: 5 }, { 'if-match': '*' })).statusCode, 412)
    t.equal((await put(app, CLIENT_ID, { data: { v: 5 } }, { 'if-match': replaced.headers.etag as string })).statusCode,
      412, 'an If-Match PUT based on the deleted session')
    t.equal((await read(app, CLIENT_ID, false)).statusCode, 404, 'nothing brought it back')

    const fresh = await put(app, CLIENT_ID, { data: { v: 6 } })
    t.equal(fresh.statusCode, 201, 'a plain PUT starts a new session under the id')
    t.not(fresh.headers.etag, etag, 'whose ETags never match the old one\'s')
  })

  t.test('with KEY_ISOLATION=caller, one caller never reads, replaces, patches or ends another\'s session',
    async (t) => {
      const app = await makeApp(t, ISOLATED_SESSION_CALLERS_ENV)
      const as = (key: string) => ({ ...JSON_TYPE, ...bearer(key) })
      const created = await app.inject({
        method: 'POST', url: '/sessions', headers: as(WRITER_A), payload: JSON.stringify({ data: { owner: 'a' } })
      })
      const { id } = created.json()
      const chosen = await app.inject({
        method: 'PUT', url: `/sessions/${CLIENT_ID}`, headers: as(WRITER_A), payload: JSON.stringify({ data: { n: 1 } })
      })
      t.equal(chosen.statusCode, 201)
      for (const target of [id, CLIENT_ID]) {
        const url = `/sessions/${target}`
        t.equal((await app.inject({ method: 'GET', url, headers: bearer(WRITER_B) })).statusCode, 404,
          'another caller does not see it')
        t.equal((await app.inject({
          method: 'PATCH', url, headers: { ...PATCH_TYPE, ...bearer(WRITER_B) }, payload: '{"owner":"b"}'
        })).statusCode, 404, 'nor patch it')
        t.equal((await app.inject({ method: 'DELETE', url, headers: bearer(WRITER_B) })).statusCode, 404,
          'nor end it')
      }
      const taken = await app.inject({
        method: 'PUT', url: `/sessions/${CLIENT_ID}`, headers: as(WRITER_B), payload: JSON.stringify({ data: { n: 2 } })
      })
      t.equal(taken.statusCode, 201, 'the same chosen id is another session in another caller\'s namespace')
      const own = await app.inject({ method: 'GET', url: `/sessions/${id}`, headers: bearer(WRITER_A) })
      t.same(own.json().data, { owner: 'a' }, 'and the owner\'s session is as it left it')
      const mine = await app.inject({ method: 'GET', url: `/sessions/${CLIENT_ID}`, headers: bearer(WRITER_A) })
      t.same(mine.json().data, { n: 1 })
    })

  t.test('DELETE ends a session: 204, then 404', async (t) => {
    const app = await makeApp(t)
    const { id } = (await create(app, { data: {} })).json()
    t.equal((await app.inject({ method: 'DELETE', url: `/sessions/${id}` })).statusCode, 204)
    t.equal((await read(app, id)).statusCode, 404)
    const again = await app.inject({ method: 'DELETE', url: `/sessions/${id}` })
    t.equal(again.statusCode, 404)
    t.match(again.json(), { type: 'urn:cache-service:problem:not-found' })
    t.notMatch(again.body, id)
  })
}

async function create (app: FastifyInstance, body: object) {
  return await app.inject({ method: 'POST', url: '/sessions', headers: JSON_TYPE, payload: JSON.stringify(body) })
}

async function put (app: FastifyInstance, id: string, body: object, headers: Record<string, string> = {}) {
  return await app.inject({
    method: 'PUT', url: `/sessions/${id}`, headers: { ...JSON_TYPE, ...headers }, payload: JSON.stringify(body)
  })
}

async function patch (app: FastifyInstance, id: string, body: object, headers: Record<string, string> = {}) {
  return await app.inject({
    method: 'PATCH', url: `/sessions/${id}`, headers: { ...PATCH_TYPE, ...headers }, payload: JSON.stringify(body)
  })
}

async function read (app: FastifyInstance, id: string, touch = true) {
  return await app.inject({ method: 'GET', url: `/sessions/${id}${touch ? '' : '?touch=false'}` })
}
