// Sessions per user at the scale a hostile caller would use: a subject at SESSION_SUBJECT_MAX_SESSIONS (5000, the
// most it may be set to), hammered with creates; 5000 sessions that expired unread, all checked by the one create
// that finds the subject full; revoking 5000 at once; and 5000 expiries, of one subject and of hundreds, that two
// replicas' sweeps must each tell once. Run on one Redis and on a cluster (where the 5000 sessions spread over every
// node) by a file each, as each takes about a minute.
import type { FastifyInstance } from 'fastify'
import type { Test } from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import { storeUnderTest, type Store } from '../helpers/store-under-test.js'

const MAX = 5000
const JSON_TYPE = { 'content-type': 'application/json' }

const create = async (app: FastifyInstance, body: object) =>
  await app.inject({ method: 'POST', url: '/sessions', headers: JSON_TYPE, payload: body })

/** Creates `count` sessions of a subject, a hundred at a time; resolves to their statuses, counted. */
async function fill (app: FastifyInstance, body: object, count: number): Promise<Record<number, number>> {
  const statuses: Record<number, number> = {}
  for (let made = 0; made < count; made += 100) {
    const batch = await Promise.all(Array.from({ length: Math.min(100, count - made) }, async () =>
      (await create(app, body)).statusCode))
    for (const status of batch) statuses[status] = (statuses[status] ?? 0) + 1
  }
  return statuses
}

async function listed (app: FastifyInstance, subject: string): Promise<number> {
  let count = 0
  let cursor: string | undefined
  do {
    const res = await app.inject({
      method: 'GET',
      url: `/sessions?subject=${subject}&limit=1000${cursor === undefined ? '' : `&cursor=${cursor}`}`
    })
    count += res.json().sessions.length
    cursor = res.json().next
  } while (cursor !== undefined)
  return count
}

export function sessionSubjectScale (t: Test, store: Store): void {
  t.test(store, async (t) => {
    const { makeApp, countKeys } = await storeUnderTest(t, store)
    const app = await makeApp(t, { SESSION_SUBJECT_MAX_SESSIONS: String(MAX), SESSION_LIST_MAX_LIMIT: '1000' })

    t.test('a subject at the bound: every create past it is refused, and the index holds no more', async (t) => {
      t.same(await fill(app, { subject: 'held', data: {} }, MAX), { 201: MAX })
      t.same(await fill(app, { subject: 'held', data: {} }, 500), { 409: 500 }, '500 creates past it, all refused')
      t.equal(await listed(app, 'held'), MAX)
    })

    t.test('5000 sessions that expired unread are forgotten by the one create that finds the subject full',
      async (t) => {
        t.same(await fill(app, { subject: 'faded', data: {}, idleTtlSeconds: 1 }, MAX), { 201: MAX })
        await sleep(1500)
        t.equal((await create(app, { subject: 'faded', data: {} })).statusCode, 201)
        t.equal(await listed(app, 'faded'), 1, 'the index names the one live session, and no other')
      })

    t.test('revoking 5000 sessions at once ends them all, and leaves nothing of the index', async (t) => {
      const revoked = await app.inject({
        method: 'POST', url: '/sessions/revoke', headers: JSON_TYPE, payload: { subject: 'held' }
      })
      t.same(revoked.json(), { ended: MAX })
      t.equal(await countKeys(app, 'session:'), 1, 'the one live session of "faded" is all that is left')
      t.equal(await listed(app, 'held'), 0)
    })

    t.test('5000 expiries, 1000 of one subject and 4000 of 400 others, unread: two replicas\' sweeps tell each ' +
      'once, and leave nothing of the indexes', async (t) => {
      const env = {
        KEY_PREFIX: 'swept:',
        SESSION_EXPIRY_SWEEP_INTERVAL_MS: '100',
        SESSION_EVENTS_MAX: String(MAX),
        SESSION_LIST_MAX_LIMIT: '1000',
        SESSION_SUBJECT_MAX_SESSIONS: String(MAX)
      }
      const [one, other] = [await makeApp(t, env), await makeApp(t, env)]
      const body = { data: {}, idleTtlSeconds: 1 }
      t.same(await fill(one, { ...body, subject: 'many' }, 1000), { 201: 1000 })
      for (let i = 0; i < 400; i += 10) {
        await Promise.all(Array.from({ length: 10 }, async (_, j) =>
          await fill(j % 2 === 0 ? one : other, { ...body, subject: `user-${i + j}` }, 10)))
      }
      const started = performance.now()
      const refs = new Map<string, number>()
      let after = ''
      while (refs.size < MAX && performance.now() - started < 30_000) {
        const page = (await other.inject({ method: 'GET', url: `/sessions/events?limit=1000${after}` })).json()
        for (const { ref, reason } of page.events) refs.set(`${reason} ${ref}`, (refs.get(`${reason} ${ref}`) ?? 0) + 1)
        after = `&after=${page.next}`
        if (page.events.length === 0) await sleep(100)
      }
      await sleep(500)
      const later = (await other.inject({ method: 'GET', url: `/sessions/events?limit=1000${after}` })).json()
      t.same(later.events, [], 'and nothing more comes after')
      const told = [...refs.values()]
      t.equal(told.length, MAX, 'every expiry is told')
      t.ok([...refs.keys()].every((key) => key.startsWith('expired ')), 'as an expiry')
      t.ok(told.every((count) => count === 1), 'once')
      t.equal(await countKeys(one, 'subject:'), 0, 'no index is left')
      t.equal(await countKeys(one, '{session-due}'), 0, 'nor any subject due')
      t.comment(`5000 expiries told within ${Math.round(performance.now() - started)} ms of the last create`)
    })
  })
}
