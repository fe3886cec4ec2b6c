// Sessions per user (a subject) as every store must give them: the owner, listings, revocations ("log out
// everywhere"), caps, id rotation, and an index that never outlives its sessions, raced against revocations. Run by
// session-subject-stores.test.ts against the memory store, one redis-server and a cluster of three, where a
// subject's index and its sessions hash to different slots.
import { createHash } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import type { FastifyInstance } from 'fastify'
import type { Test } from 'tap'
import { bearer, ISOLATED_SESSION_CALLERS_ENV, WRITER_A, WRITER_B } from '../helpers/api-keys.js'
import { until } from '../helpers/until.js'
import type { AppFactory } from './cache-contract.js'

const JSON_TYPE = { 'content-type': 'application/json' }
const PROBLEM = /^application\/problem\+json/

/** What the store keeps of subjects' indexes for an app: entries, over all subjects (and any marks they leave). */
export type IndexRecords = (app: FastifyInstance) => Promise<number>

interface Options {
  /** Whether two apps can share the store: replicas of one service. */
  shared: boolean
  indexRecords: IndexRecords
}

type Headers = Record<string, string>

const create = async (app: FastifyInstance, body: Record<string, unknown>, headers: Headers = {}) =>
  await app.inject({ method: 'POST', url: '/sessions', headers: { ...JSON_TYPE, ...headers }, payload: body })
const read = async (app: FastifyInstance, id: string, headers: Headers = {}) =>
  await app.inject({ method: 'GET', url: `/sessions/${id}?touch=false`, headers })
const list = async (app: FastifyInstance, query: string, headers: Headers = {}) =>
  await app.inject({ method: 'GET', url: `/sessions?${query}`, headers })
const revoke = async (app: FastifyInstance, body: Record<string, unknown>, headers: Headers = {}) =>
  await app.inject({ method: 'POST', url: '/sessions/revoke', headers: { ...JSON_TYPE, ...headers }, payload: body })
const rotate = async (app: FastifyInstance, id: string, headers: Headers = {}) =>
  await app.inject({ method: 'POST', url: `/sessions/${id}/rotate`, headers })

/** Creates `count` sessions of a subject, one after the other (so that their creation times are in order). */
async function sessionsOf (app: FastifyInstance, subject: string, count: number, extra: Record<string, unknown> = {})
  : Promise<string[]> {
  const ids: string[] = []
  for (let i = 0; i < count; i++) {
    const res = await create(app, { subject, data: { n: i }, ...extra })
    if (res.statusCode !== 201) throw new Error(`create answered ${res.statusCode}: ${res.body}`)
    ids.push(res.json().id)
  }
  return ids
}

/** Every session of a subject's listing, following the pages. */
async function listAll (app: FastifyInstance, subject: string, limit = 100, headers: Headers = {})
  : Promise<Array<Record<string, string>>> {
  const sessions: Array<Record<string, string>> = []
  let cursor: string | undefined
  do {
    const query = `subject=${encodeURIComponent(subject)}&limit=${limit}` +
      (cursor === undefined ? '' : `&cursor=${encodeURIComponent(cursor)}`)
    const res = await list(app, query, headers)
    if (res.statusCode !== 200) throw new Error(`list answered ${res.statusCode}: ${res.body}`)
    sessions.push(...res.json().sessions)
    cursor = res.json().next
  } while (cursor !== undefined)
  return sessions
}

const alive = async (app: FastifyInstance, id: string) => (await read(app, id)).statusCode === 200

/** A session's reference, as listings and events show it (the SHA-256 of its id, without caller isolation). */
const refOf = (id: string) => createHash('sha256').update(id).digest('base64url')

interface EventsRead {
  events: Array<Record<string, string>>
  next: string
  missed: boolean
}

/** Every event after a cursor, following the pages; `missed` if any page said so. */
async function eventsAfter (app: FastifyInstance, after?: string, { limit = 100, headers = {} as Headers } = {})
  : Promise<EventsRead> {
  const read: EventsRead = { events: [], next: after ?? '', missed: false }
  for (;;) {
    const query = `limit=${limit}` + (read.next === '' ? '' : `&after=${read.next}`)
    const res = await app.inject({ method: 'GET', url: `/sessions/events?${query}`, headers })
    if (res.statusCode !== 200) throw new Error(`events answered ${res.statusCode}: ${res.body}`)
    const page = res.json()
    read.events.push(...page.events)
    read.missed ||= page.missed
    read.next = page.next
    if (page.events.length < limit) return read
  }
}

/** Reads events until `done` says they are all there, or a few seconds have passed. */
async function eventsUntil (app: FastifyInstance, done: (events: EventsRead['events']) => boolean)
  : Promise<EventsRead['events']> {
  const deadline = Date.now() + 5000
  for (;;) {
    const { events } = await eventsAfter(app)
    if (done(events) || Date.now() > deadline) return events
    await sleep(50)
  }
}

/** How many events each reference has. */
const toldOf = (events: EventsRead['events']) => {
  const counts = new Map<string, number>()
  for (const { ref } of events) counts.set(ref!, (counts.get(ref!) ?? 0) + 1)
  return counts
}

/** Sweeps often, so that an expiry is told within a test's patience. */
const SWEEPING = { SESSION_EXPIRY_SWEEP_INTERVAL_MS: '100' }

export function sessionSubjectContract (t: Test, makeApp: AppFactory, { shared, indexRecords }: Options): void {
  t.test('a session names its subject, which no patch and no replace changes', async (t) => {
    const app = await makeApp(t)
    const res = await create(app, { subject: 'auth0|ada', data: { cart: 1 } })
    t.equal(res.statusCode, 201)
    const { id, subject } = res.json()
    t.equal(subject, 'auth0|ada')
    t.equal((await read(app, id)).json().subject, 'auth0|ada')
    t.notOk('subject' in (await create(app, { data: {} })).json(), 'a session without one shows none')

    const patched = await app.inject({
      method: 'PATCH',
      url: `/sessions/${id}`,
      headers: { 'content-type': 'application/merge-patch+json' },
      payload: { subject: 'mallory' }
    })
    t.equal(patched.json().subject, 'auth0|ada', 'a patch changes data, not the subject')
    t.same(patched.json().data, { cart: 1, subject: 'mallory' })

    const replaced = await app.inject({
      method: 'PUT', url: `/sessions/${id}`, headers: JSON_TYPE, payload: { data: { v: 2 } }
    })
    t.equal(replaced.statusCode, 200)
    t.equal(replaced.json().subject, 'auth0|ada', 'a replace that names none keeps it')
    const moved = await app.inject({
      method: 'PUT', url: `/sessions/${id}`, headers: JSON_TYPE, payload: { subject: 'mallory', data: { v: 3 } }
    })
    t.equal(moved.statusCode, 409)
    t.match(moved.headers['content-type'], PROBLEM)
    t.match(moved.json(), { type: 'urn:cache-service:problem:subject-mismatch' })
    t.same((await read(app, id)).json().data, { v: 2 }, 'the refused replace changed nothing')
    t.equal((await listAll(app, 'mallory')).length, 0)
    t.equal((await listAll(app, 'auth0|ada')).length, 1)

    for (const bad of ['', 'has space', 'x'.repeat(257), 'ünïcode', 'tab\there', 42]) {
      const refused = await create(app, { subject: bad, data: {} })
      t.equal(refused.statusCode, 400, `subject ${JSON.stringify(bad)}`)
      t.match(refused.json(), { errors: [{ in: 'body' }] })
    }
  })

  t.test('a listing shows a subject\'s live sessions newest first, by reference, never by id', async (t) => {
    const app = await makeApp(t)
    const ids = await sessionsOf(app, 'grace@example.com', 5)
    await sessionsOf(app, 'linus', 2)
    const res = await list(app, 'subject=grace%40example.com')
    t.equal(res.statusCode, 200)
    t.equal(res.headers['cache-control'], 'no-store')
    for (const id of ids) t.notMatch(res.body, id, 'no session id in a listing')
    const { sessions } = res.json()
    t.equal(sessions.length, 5)
    for (const session of sessions) {
      t.match(session.ref, /^[A-Za-z0-9_-]{43}$/)
      t.match(session, { createdAt: String, updatedAt: String, expiresAt: String, absoluteExpiresAt: String })
    }
    const created = sessions.map((session: Record<string, string>) => Date.parse(session.createdAt!))
    t.same(created, [...created].sort((a, b) => b - a), 'newest first')
    t.equal(new Set(sessions.map((session: Record<string, string>) => session.ref)).size, 5)

    const pages: number[] = []
    let cursor: string | undefined
    const seen: string[] = []
    do {
      const after = cursor === undefined ? '' : `&cursor=${cursor}`
      const page = await list(app, `subject=grace%40example.com&limit=2${after}`)
      pages.push(page.json().sessions.length)
      seen.push(...page.json().sessions.map((session: Record<string, string>) => session.ref))
      cursor = page.json().next
    } while (cursor !== undefined)
    t.same(pages, [2, 2, 1], 'pages of two')
    t.same(seen, sessions.map((session: Record<string, string>) => session.ref), 'the pages are the listing, in order')

    await app.inject({ method: 'DELETE', url: `/sessions/${ids[2]}` })
    t.equal((await listAll(app, 'grace@example.com')).length, 4, 'a deleted session leaves the listing')
    t.same((await list(app, 'subject=nobody')).json(), { sessions: [] })

    for (const query of ['', 'subject=', 'subject=grace&limit=0', 'subject=grace&limit=101', 'subject=grace&limit=x',
      'subject=grace&cursor=nonsense', 'subject=grace&other=1']) {
      const refused = await list(app, query)
      t.equal(refused.statusCode, 400, query)
      t.match(refused.headers['content-type'], PROBLEM)
    }
  })

  t.test('a revocation ends all of a subject\'s sessions, all but one, or those named, and counts', async (t) => {
    const app = await makeApp(t, { KEY_PREFIX: 'revoke:' })
    const replica = shared ? await makeApp(t, { KEY_PREFIX: 'revoke:' }) : app
    const ids = await sessionsOf(app, 'ada', 6)
    const others = await sessionsOf(app, 'bob', 2)
    const loose = (await create(app, { data: {} })).json().id

    const except = await revoke(app, { subject: 'ada', exceptId: ids[0] })
    t.equal(except.statusCode, 200)
    t.same(except.json(), { ended: 5 })
    t.ok(await alive(app, ids[0]!), 'the session kept')
    for (const id of ids.slice(1)) t.notOk(await alive(app, id), 'ended')
    t.same((await listAll(app, 'ada')).length, 1)

    const more = await sessionsOf(app, 'ada', 3)
    const [newest, middle] = await listAll(app, 'ada')
    const named = await revoke(app, { subject: 'ada', refs: [newest!.ref, middle!.ref] })
    t.same(named.json(), { ended: 2 })
    t.notOk(await alive(app, more[2]!))
    t.notOk(await alive(app, more[1]!))
    t.ok(await alive(app, more[0]!))
    t.same((await revoke(app, { subject: 'bob', refs: [(await listAll(app, 'ada'))[0]!.ref] })).json(), { ended: 0 },
      'a reference of another subject ends nothing')

    const all = await revoke(app, { subject: 'ada' })
    t.same(all.json(), { ended: 2 })
    for (const id of [...ids, ...more]) t.equal((await read(replica, id)).statusCode, 404, 'every replica refuses it')
    for (const id of [...others, loose]) t.ok(await alive(app, id), 'another subject\'s, or none\'s, stays')
    t.same((await revoke(app, { subject: 'ada' })).json(), { ended: 0 })
    t.same(await listAll(app, 'ada'), [])

    for (const body of [{}, { subject: 'ada', refs: [] }, { subject: 'ada', refs: ['short'] },
      { subject: 'ada', exceptId: 'short' }, { subject: 'ada', extra: 1 },
      { subject: 'ada', refs: Array.from({ length: 101 }, () => 'A'.repeat(43)) }]) {
      const refused = await revoke(app, body)
      t.equal(refused.statusCode, 400, JSON.stringify(body))
    }
  })

  t.test('a cap refuses a create past it, or ends the oldest, and sessions no more do not count', async (t) => {
    const refusing = await makeApp(t, { SESSION_SUBJECT_CAP: '3' })
    const ids = await sessionsOf(refusing, 'ada', 3)
    const refused = await create(refusing, { subject: 'ada', data: {} })
    t.equal(refused.statusCode, 409)
    t.match(refused.json(), { type: 'urn:cache-service:problem:subject-full' })
    t.equal((await listAll(refusing, 'ada')).length, 3, 'nothing was created')
    t.equal((await create(refusing, { subject: 'bob', data: {} })).statusCode, 201, 'the cap is per subject')
    await refusing.inject({ method: 'DELETE', url: `/sessions/${ids[0]}` })
    t.equal((await create(refusing, { subject: 'ada', data: {} })).statusCode, 201, 'room again once one ended')
    t.equal((await create(refusing, { subject: 'ada', data: {}, maxSessions: 4 })).statusCode, 400,
      'a create may not raise the cap')

    const ending = await makeApp(t, { SESSION_SUBJECT_CAP: '3', SESSION_SUBJECT_CAP_POLICY: 'end-oldest' })
    const [oldest, ...rest] = await sessionsOf(ending, 'ada', 3)
    const fourth = (await create(ending, { subject: 'ada', data: {} })).json().id
    t.notOk(await alive(ending, oldest!), 'the oldest ended')
    for (const id of [...rest, fourth]) t.ok(await alive(ending, id))
    const lowered = await create(ending, { subject: 'ada', data: {}, maxSessions: 1 })
    t.equal(lowered.statusCode, 201)
    t.same((await listAll(ending, 'ada')).length, 1, 'a create\'s own, lower cap')
    t.ok(await alive(ending, lowered.json().id))

    const bounded = await makeApp(t, { SESSION_SUBJECT_MAX_SESSIONS: '2' })
    await sessionsOf(bounded, 'ada', 2)
    t.equal((await create(bounded, { subject: 'ada', data: {} })).statusCode, 409, 'without a cap, the bound refuses')

    const expiring = await makeApp(t, { SESSION_SUBJECT_CAP: '2' })
    await sessionsOf(expiring, 'ada', 2, { idleTtlSeconds: 1 })
    await sleep(1100)
    t.equal((await create(expiring, { subject: 'ada', data: {} })).statusCode, 201, 'expired sessions do not count')
    t.equal((await create(expiring, { subject: 'ada', data: {} })).statusCode, 201)
    t.equal((await create(expiring, { subject: 'ada', data: {} })).statusCode, 409)

    // Kept alive by reads past the expiry they had when written: they count, and the create is refused.
    const used = await makeApp(t, { SESSION_SUBJECT_CAP: '2' })
    const kept = await sessionsOf(used, 'ada', 2, { idleTtlSeconds: 2 })
    await sleep(1200)
    for (const id of kept) await used.inject({ method: 'GET', url: `/sessions/${id}` })
    await sleep(1000)
    t.equal((await create(used, { subject: 'ada', data: {} })).statusCode, 409, 'sessions kept alive by use count')
    for (const id of kept) t.ok(await alive(used, id))
  })

  t.test('a rotation gives a session a new id and ends the old one at once', async (t) => {
    const app = await makeApp(t)
    const original = (await create(app, { subject: 'ada', data: { cart: [1, 2] }, idleTtlSeconds: 600 })).json()
    const res = await rotate(app, original.id)
    t.equal(res.statusCode, 201)
    const rotated = res.json()
    t.not(rotated.id, original.id)
    t.match(rotated.id, /^[A-Za-z0-9_-]{43}$/)
    t.equal(res.headers.location, `/sessions/${rotated.id}`)
    t.not(res.headers.etag, undefined)
    t.match(rotated, {
      subject: 'ada',
      data: { cart: [1, 2] },
      createdAt: original.createdAt,
      absoluteExpiresAt: original.absoluteExpiresAt
    })
    t.ok(Date.parse(rotated.expiresAt) >= Date.parse(original.expiresAt), 'the idle expiry slides')
    for (const [method, payload] of [['GET'], ['PATCH', '{}'], ['DELETE'], ['POST']] as const) {
      const old = await app.inject({
        method,
        url: `/sessions/${original.id}${method === 'POST' ? '/rotate' : ''}`,
        ...(payload !== undefined && { payload, headers: { 'content-type': 'application/merge-patch+json' } })
      })
      t.equal(old.statusCode, 404, `${method} of the old id`)
    }
    t.same((await read(app, rotated.id)).json().data, { cart: [1, 2] })
    const listed = await listAll(app, 'ada')
    t.equal(listed.length, 1, 'the listing names the new one, not the old')
    t.same((await revoke(app, { subject: 'ada' })).json(), { ended: 1 }, 'and a revocation ends it')
    t.notOk(await alive(app, rotated.id))

    const loose = (await create(app, { data: { a: 1 } })).json()
    const again = await rotate(app, loose.id)
    t.equal(again.statusCode, 201, 'a session without a subject rotates too')
    t.notOk('subject' in again.json())
    t.equal((await rotate(app, 'no-such-session-id-0000000')).statusCode, 404)
  })

  t.test('one caller never lists, revokes nor rotates another\'s sessions, though they name one subject', async (t) => {
    const app = await makeApp(t, ISOLATED_SESSION_CALLERS_ENV)
    const a = bearer(WRITER_A)
    const b = bearer(WRITER_B)
    const mine = (await create(app, { subject: 'ada', data: {} }, a)).json()
    t.equal((await create(app, { subject: 'ada', data: {} }, b)).statusCode, 201)
    t.equal((await listAll(app, 'ada', 100, b)).length, 1, 'b sees its own only')
    t.same((await revoke(app, { subject: 'ada' }, b)).json(), { ended: 1 })
    t.same((await revoke(app, { subject: 'ada', refs: [(await listAll(app, 'ada', 100, a))[0]!.ref] }, b)).json(),
      { ended: 0 }, 'nor by a reference of a\'s')
    t.equal((await rotate(app, mine.id, b)).statusCode, 404)
    t.equal((await read(app, mine.id, a)).statusCode, 200, 'a\'s session lives on')
    t.equal((await app.inject({ method: 'GET', url: '/sessions?subject=ada' })).statusCode, 401)
  })

  t.test('the index never outlives its sessions: after their lifetimes nothing of it remains', async (t) => {
    const app = await makeApp(t, SWEEPING)
    for (let i = 0; i < 20; i++) {
      await create(app, { subject: `user-${i % 4}`, data: {}, idleTtlSeconds: 1, absoluteTtlSeconds: 2 })
    }
    const longer = (await create(app, { subject: 'user-0', data: {}, absoluteTtlSeconds: 3 })).json()
    await app.inject({ method: 'DELETE', url: `/sessions/${longer.id}` })
    t.ok(await indexRecords(app) > 0)
    await sleep(3100)
    t.equal(await indexRecords(app), 0, 'nothing left, though nobody read or listed them')
    const events = await eventsUntil(app, (events) => events.length === 21)
    t.same(events.map(({ reason }) => reason).sort(), ['deleted', ...Array(20).fill('expired')],
      'and each end was told, once')
  })

  t.test('the end of each session of a subject is told once, with how it ended', async (t) => {
    const app = await makeApp(t, { ...SWEEPING, SESSION_SUBJECT_CAP: '10', SESSION_SUBJECT_CAP_POLICY: 'end-oldest' })
    const empty = await eventsAfter(app)
    t.same(empty, { events: [], next: '0-0', missed: false }, 'none yet')
    t.equal((await create(app, { data: {} })).statusCode, 201)
    const [capped, deleted, rotated, revoked, kept] = await sessionsOf(app, 'ada', 5)
    const expiring = (await create(app, { subject: 'ada', data: {}, idleTtlSeconds: 1 })).json().id
    t.equal((await app.inject({ method: 'DELETE', url: `/sessions/${deleted}` })).statusCode, 204)
    const rotation = (await rotate(app, rotated!)).json()
    t.same((await revoke(app, { subject: 'ada', refs: [refOf(revoked!)] })).json(), { ended: 1 })
    t.equal((await create(app, { subject: 'ada', data: {}, maxSessions: 4 })).statusCode, 201)
    t.notOk(await alive(app, capped!), 'the cap ended the oldest')

    const events = await eventsUntil(app, (events) => events.length >= 5)
    const told = new Map(events.map((event) => [event.ref, event]))
    t.equal(events.length, 5, 'one event each: none for the session without a subject, nor the new ones')
    t.match(told.get(refOf(deleted!)), { reason: 'deleted', subject: 'ada', at: /^\d{4}-\d\d-\d\dT/ })
    t.match(told.get(refOf(rotated!)), { reason: 'rotated', replacedBy: refOf(rotation.id) })
    t.match(told.get(refOf(revoked!)), { reason: 'revoked' })
    t.match(told.get(refOf(capped!)), { reason: 'capped' })
    t.match(told.get(refOf(expiring)), { reason: 'expired', subject: 'ada' }, 'nobody read it: the sweep told')
    t.notOk(told.has(refOf(kept!)))
    const body = JSON.stringify(events)
    t.ok([capped, deleted, rotated, revoked, expiring, rotation.id].every((id) => !body.includes(id!)),
      'no event shows a session id, a bearer secret')
    t.same(events.map(({ reason }) => reason), ['deleted', 'rotated', 'revoked', 'capped', 'expired'],
      'oldest first')
    t.same(events.filter(({ reason }) => reason !== 'rotated').map((event) => 'replacedBy' in event), [
      false, false, false, false])
    const ids = events.map(({ id }) => id)
    t.same((await eventsAfter(app, ids[2])).events.map(({ id }) => id), ids.slice(3), 'a cursor goes on after it')
    t.same(await eventsAfter(app, ids[4]), { events: [], next: ids[4], missed: false }, 'and waits at the end')
  })

  t.test('races: sessions that expire while others of their subject are created, on two replicas sweeping, are ' +
    'each told once, and the index empties', async (t) => {
    const app = await makeApp(t, { ...SWEEPING, KEY_PREFIX: 'expiries:' })
    const replica = shared ? await makeApp(t, { ...SWEEPING, KEY_PREFIX: 'expiries:' }) : app
    const given: string[] = []
    for (let tick = 0; tick < 40; tick++) {
      const made = await Promise.all(Array.from({ length: 5 }, async (_, i) => {
        const subject = `user-${(tick + i) % 7}`
        const res = await create(i % 2 === 0 ? app : replica, { subject, data: {}, idleTtlSeconds: 1 })
        return res.json().id as string
      }))
      given.push(...made)
      await sleep(50)
    }
    const events = await eventsUntil(app, (events) => events.length >= given.length)
    const told = toldOf(events)
    t.same(given.filter((id) => told.get(refOf(id)) !== 1), [], 'every session is told of, once')
    t.equal(events.length, given.length, 'and no other')
    t.ok(events.every(({ reason }) => reason === 'expired'))
    // A sweep tells of the ends it found before it settles their subjects, removing an index left empty: a reader
    // may see the last event a moment before the index is gone.
    await until(async () => await indexRecords(app) === 0, 'nothing of the index is left')
    t.pass('nothing of the index is left')
  })

  t.test('a delete that comes after the session\'s time is up finds nothing, and the end is told as an expiry',
    async (t) => {
      const app = await makeApp(t, SWEEPING)
      const { id } = (await create(app, { subject: 'ada', data: {}, idleTtlSeconds: 1 })).json()
      await sleep(1050)
      t.equal((await app.inject({ method: 'DELETE', url: `/sessions/${id}` })).statusCode, 404)
      const events = await eventsUntil(app, (events) => events.length > 0)
      t.equal(events.length, 1)
      t.match(events[0], { reason: 'expired', ref: refOf(id) })
    })

  t.test('the log keeps the newest events, and a reader whose cursor is older learns it missed some', async (t) => {
    const app = await makeApp(t, { SESSION_EVENTS_MAX: '5' })
    const ids = await sessionsOf(app, 'ada', 8)
    const end = async (id: string) => await app.inject({ method: 'DELETE', url: `/sessions/${id}` })
    for (const id of ids.slice(0, 3)) await end(id)
    const early = await eventsAfter(app)
    t.equal(early.events.length, 3)
    for (const id of ids.slice(3)) await end(id)
    const all = await eventsAfter(app)
    t.same(all.events.map(({ ref }) => ref), ids.slice(3).map(refOf), 'the newest five, oldest first')
    t.notOk(all.missed, 'a reader from the start misses nothing it could have read')
    t.same(await eventsAfter(app, early.next), { ...all, missed: false }, 'a reader at the last dropped one neither')
    t.ok((await eventsAfter(app, early.events[1]!.id)).missed, 'one before it missed one')
    t.ok((await eventsAfter(app, '0-0')).missed)
    const paged = await eventsAfter(app, undefined, { limit: 2 })
    t.same(paged.events, all.events, 'pages of two join up')
    for (const after of ['1', '1-', 'x-0', '1-0-0', '1234567890123456-0']) {
      const res = await app.inject({ method: 'GET', url: `/sessions/events?after=${after}` })
      t.equal(res.statusCode, 400, `after=${after} is refused`)
      t.match(res.headers['content-type'], PROBLEM)
    }
  })

  t.test('a log of 200 holds the newest 200, and at most 1 % more between trims', async (t) => {
    const app = await makeApp(t, { SESSION_EVENTS_MAX: '200', SESSION_SUBJECT_MAX_SESSIONS: '500' })
    const ids = await sessionsOf(app, 'ada', 450)
    t.same((await revoke(app, { subject: 'ada', refs: ids.slice(0, 100).map(refOf) })).json(), { ended: 100 })
    t.equal((await eventsAfter(app)).events.length, 100, 'all kept below the bound')
    t.same((await revoke(app, { subject: 'ada' })).json(), { ended: 350 })
    t.equal((await eventsAfter(app)).events.length, 200, 'past it, the newest 200')
    const lengths: number[] = []
    for (const id of await sessionsOf(app, 'ada', 3)) {
      await app.inject({ method: 'DELETE', url: `/sessions/${id}` })
      lengths.push((await eventsAfter(app)).events.length)
    }
    t.ok(lengths.every((length) => length >= 200 && length <= 202), `then ${lengths.join(', ')}`)
    const { events, missed } = await eventsAfter(app)
    t.notOk(missed)
    t.equal(events.at(-1)!.reason, 'deleted', 'the newest among them')
    t.ok((await eventsAfter(app, '0-0')).missed, 'a reader from before them missed some')
  })

  t.test('a caller reads the ends of its own sessions only', async (t) => {
    const app = await makeApp(t, ISOLATED_SESSION_CALLERS_ENV)
    const a = bearer(WRITER_A)
    const b = bearer(WRITER_B)
    const mine = (await create(app, { subject: 'ada', data: {} }, a)).json()
    await create(app, { subject: 'ada', data: {} }, b)
    t.same((await revoke(app, { subject: 'ada' }, b)).json(), { ended: 1 })
    await app.inject({ method: 'DELETE', url: `/sessions/${mine.id}`, headers: a })
    const seenByB = await eventsAfter(app, undefined, { headers: b })
    t.match(seenByB.events, [{ reason: 'revoked', subject: 'ada' }])
    t.equal(seenByB.events.length, 1, 'b hears of its own session only')
    const seenByA = await eventsAfter(app, undefined, { headers: a })
    t.match(seenByA.events, [{ reason: 'deleted', subject: 'ada' }])
    t.equal(seenByA.events.length, 1)
    t.equal((await app.inject({ method: 'GET', url: '/sessions/events' })).statusCode, 401)
  })

  t.test('races: a revocation amid creates, patches and rotations ends every session before it and every rotation ' +
    'of one, keeps those created during it indexed, leaves the index exact, and tells each end once', async (t) => {
    const app = await makeApp(t, { KEY_PREFIX: 'race:' })
    const replica = shared ? await makeApp(t, { KEY_PREFIX: 'race:' }) : app
    /** Every session a request was given, which all end by the last revocation of its round. */
    const given: string[] = []
    const figures = { before: 0, rotated: 0, refused: 0, created: 0, kept: 0 }
    for (let round = 0; round < 12; round++) {
      const subject = `racer-${round}`
      // Live when the revocation begins, every one: it must end them all, and any session rotated from them.
      const ids = await sessionsOf(app, subject, 20)
      const rotated: string[] = []
      const created = new Map<string, number>()
      let revokeStarted = Infinity
      const churn = Array.from({ length: 30 }, async (_, i) => {
        const on = i % 2 === 0 ? app : replica
        if (i % 3 === 0) {
          const res = await create(on, { subject, data: { i } })
          if (res.statusCode === 201) created.set(res.json().id, performance.now())
        } else if (i % 3 === 1) {
          await on.inject({
            method: 'PATCH',
            url: `/sessions/${ids[i % ids.length]}`,
            headers: { 'content-type': 'application/merge-patch+json' },
            payload: { i }
          })
        } else {
          const res = await rotate(on, ids[i % ids.length]!)
          if (res.statusCode === 201) rotated.push(res.json().id)
          else figures.refused++
        }
      })
      const revocation = (async () => {
        await sleep(round % 4)
        revokeStarted = performance.now()
        await revoke(round % 2 === 0 ? replica : app, { subject })
      })()
      await Promise.all([...churn, revocation])
      for (const id of ids) t.notOk(await alive(app, id), 'a session live when the revocation began is ended')
      for (const id of rotated) t.notOk(await alive(app, id), 'and so is a rotation of one, however they interleave')
      const live = new Set<string>()
      for (const [id, at] of created) {
        if (!await alive(app, id)) continue
        live.add(id)
        t.ok(at > revokeStarted, 'a create that returned before the revocation began is ended')
      }
      // Creates during it may keep theirs; the listing, and a second revocation, must find exactly those.
      t.equal((await listAll(app, subject)).length, live.size, 'the listing names every live session, and no other')
      t.same((await revoke(app, { subject })).json(), { ended: live.size }, 'a later revocation ends all that is left')
      for (const id of live) t.notOk(await alive(app, id))
      given.push(...ids, ...rotated, ...created.keys())
      Object.assign(figures, {
        before: figures.before + ids.length,
        rotated: figures.rotated + rotated.length,
        created: figures.created + created.size,
        kept: figures.kept + live.size
      })
    }
    const told = toldOf((await eventsAfter(app)).events)
    t.same(given.filter((id) => told.get(refOf(id)) !== 1), [], 'the end of every session given is told, once')
    t.equal(told.size, given.length, 'and of no other')
    t.comment(`races: ${figures.before} sessions live when a revocation began and ${figures.rotated} rotations of ` +
      `them (${figures.refused} refused), all ended; ${figures.created} created during one, ${figures.kept} of ` +
      'them kept, all indexed')
  })
}
