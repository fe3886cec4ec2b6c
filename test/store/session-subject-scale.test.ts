// Sessions per user at the scale a hostile caller would use: a subject at SESSION_SUBJECT_MAX_SESSIONS (5000, the
// most it may be set to), hammered with creates; 5000 sessions that expired unread, all checked by the one create
// that finds the subject full; and revoking 5000 at once. On one Redis and on a cluster, where the 5000 sessions
// spread over every node.
import type { FastifyInstance } from 'fastify'
import t from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import { storeUnderTest } from '../helpers/store-under-test.js'

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

for (const store of ['redis', 'cluster'] as const) {
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
  })
}
