// Invalidation by tag (Cache-Tag on PUT, DELETE /cache?tag=) as every store must give it. Run by
// cache-tag-stores.test.ts against the memory store, one redis-server and a cluster of three.
import { setTimeout as sleep } from 'node:timers/promises'
import type { FastifyInstance } from 'fastify'
import type { Test } from 'tap'
import { bearer, ISOLATED_CALLERS_ENV, WRITER_A, WRITER_B } from '../helpers/api-keys.js'
import type { AppFactory } from './cache-contract.js'

/** How the store's tag bookkeeping is counted for an app, whatever shape it takes there. */
export interface TagBookkeeping {
  /** Tag records (one per tag with a live entry). */
  records: (app: FastifyInstance) => Promise<number>
  /** Memberships, over all tags: one per live entry and tag it carries, at most. */
  members: (app: FastifyInstance) => Promise<number>
}

const PROBLEM = /^application\/problem\+json/

const put = async (app: FastifyInstance, key: string, tags?: string, headers: Record<string, string> = {}) =>
  await app.inject({
    method: 'PUT',
    url: `/cache/${encodeURIComponent(key)}?ttl=60`,
    headers: { ...headers, ...(tags !== undefined && { 'cache-tag': tags }) },
    payload: `value of ${key}`
  })
const invalidate = async (app: FastifyInstance, tag: string, headers: Record<string, string> = {}) =>
  await app.inject({ method: 'DELETE', url: `/cache?tag=${encodeURIComponent(tag)}`, headers })
const status = async (app: FastifyInstance, key: string, headers: Record<string, string> = {}) =>
  (await app.inject({ method: 'GET', url: `/cache/${encodeURIComponent(key)}`, headers })).statusCode

export function cacheTagContract (t: Test, makeApp: AppFactory, { records: tagRecords, members }: TagBookkeeping)
  : void {
  t.test('invalidating a tag removes every entry that carries it, and only those, and says how many', async (t) => {
    const app = await makeApp(t)
    t.equal((await put(app, 'profile:42', 'user:42, profiles')).statusCode, 201)
    t.equal((await put(app, 'orders:42', 'user:42')).statusCode, 201)
    t.equal((await put(app, 'feed:42', ' ,user:42,,')).statusCode, 201, 'empty list elements are skipped')
    t.equal((await put(app, 'profile:7', 'user:7, profiles')).statusCode, 201)
    t.equal((await put(app, 'untagged')).statusCode, 201)

    const first = await invalidate(app, 'user:42')
    t.equal(first.statusCode, 200)
    t.same(first.json(), { removed: 3, markedStale: 0 })
    for (const key of ['profile:42', 'orders:42', 'feed:42']) t.equal(await status(app, key), 404, `${key} is gone`)
    for (const key of ['profile:7', 'untagged']) t.equal(await status(app, key), 200, `${key} stays`)
    t.same((await invalidate(app, 'user:42')).json(), { removed: 0, markedStale: 0 },
      'a second invalidation finds nothing')
    t.same((await invalidate(app, 'profiles')).json(), { removed: 1, markedStale: 0 },
      'the other tag of a removed entry is clean')
    t.same((await invalidate(app, 'never-used')).json(), { removed: 0, markedStale: 0 })
  })

  t.test('a rewrite decides the tags: an entry rewritten without a tag is not removed by it', async (t) => {
    const app = await makeApp(t)
    await put(app, 'k1', 'old')
    await put(app, 'k1', 'new')
    await put(app, 'k2', 'old')
    await put(app, 'k2')
    await put(app, 'k3', 'old')
    await app.inject({ method: 'DELETE', url: '/cache/k3' })
    await put(app, 'k3', 'old')
    t.same((await invalidate(app, 'old')).json(), { removed: 1, markedStale: 0 }, 'only k3, written again with the tag')
    t.equal(await status(app, 'k1'), 200)
    t.equal(await status(app, 'k2'), 200)
    t.equal(await status(app, 'k3'), 404)
    t.same((await invalidate(app, 'new')).json(), { removed: 1, markedStale: 0 })
  })

  t.test('a tag holds one membership per live entry, however often the entry is rewritten or deleted', async (t) => {
    const app = await makeApp(t)
    for (let i = 0; i < 200; i++) t.equal((await put(app, 'doc-a', 't')).statusCode, i === 0 ? 201 : 204)
    t.equal(await members(app), 1, '200 rewrites with the tag leave one membership')
    await put(app, 'doc-a', 'u')
    t.equal(await members(app), 1, 'a rewrite with another tag leaves the new one only')
    await put(app, 'doc-a')
    t.equal(await members(app), 0, 'a rewrite without tags leaves none')

    await put(app, 'doc-a', 't')
    t.equal((await app.inject({ method: 'DELETE', url: '/cache/doc-a' })).statusCode, 204)
    t.equal(await members(app), 0, 'a DELETE of the entry leaves none')
    t.same((await invalidate(app, 't')).json(), { removed: 0, markedStale: 0 })
    t.equal(await tagRecords(app), 0, 'and no tag record remains')

    await put(app, 'both', 'x, y')
    t.same((await invalidate(app, 'x')).json(), { removed: 1, markedStale: 0 })
    t.equal(await members(app), 0, 'an invalidation forgets the removed entry\'s other tags too')
    t.equal(await tagRecords(app), 0)
  })

  t.test('bad tags are refused with 400 and nothing is stored', async (t) => {
    const app = await makeApp(t)
    const tooMany = Array.from({ length: 17 }, (_, i) => `t${i}`).join(',')
    for (const [label, tags] of [
      ['a tag with a space', 'user 42'], ['17 tags', tooMany], ['a tag of 129 bytes', 'x'.repeat(129)],
      ['a control character', 'a\u0001b']
    ] as const) {
      const refused = await put(app, 'refused', tags)
      t.equal(refused.statusCode, 400, label)
      t.match(refused.headers['content-type'], PROBLEM)
      t.equal(await status(app, 'refused'), 404, `${label}: nothing stored`)
    }
    t.equal((await put(app, 'sixteen', Array.from({ length: 16 }, (_, i) => `t${i}`).join(','))).statusCode, 201)
    t.equal((await put(app, 'repeated', 'a, a, a')).statusCode, 201, 'a repeated tag is one tag')
    t.same((await invalidate(app, 'a')).json(), { removed: 1, markedStale: 0 })

    for (const url of ['/cache', '/cache?tag=', '/cache?tag=a%20b', `/cache?tag=${'y'.repeat(129)}`]) {
      const res = await app.inject({ method: 'DELETE', url })
      t.equal(res.statusCode, 400, `DELETE ${url.slice(0, 30)}`)
      t.match(res.headers['content-type'], PROBLEM)
    }
  })

  t.test('tag records go when their entries expire', async (t) => {
    const app = await makeApp(t)
    for (let i = 0; i < 20; i++) {
      const res = await app.inject({
        method: 'PUT', url: `/cache/short-${i}?ttl=1`, headers: { 'cache-tag': `short, group-${i % 4}` }, payload: 'v'
      })
      t.equal(res.statusCode, 201)
    }
    t.ok(await tagRecords(app) >= 5, 'the tags are recorded while their entries live')
    await sleep(2100)
    t.equal(await tagRecords(app), 0, 'no tag record remains once every entry has expired')
    t.same((await invalidate(app, 'short')).json(), { removed: 0, markedStale: 0 })
  })

  t.test('an entry served stale still carries its tags, until its stale window ends', async (t) => {
    const app = await makeApp(t)
    const res = await app.inject({
      method: 'PUT', url: '/cache/stale-tagged?ttl=1&stale=30', headers: { 'cache-tag': 'stale-tag' }, payload: 'v'
    })
    t.equal(res.statusCode, 201)
    await sleep(1100)
    t.match((await app.inject({ method: 'GET', url: '/cache/stale-tagged' })).headers['cache-status'], /detail=stale/)
    t.same((await invalidate(app, 'stale-tag')).json(), { removed: 1, markedStale: 0 },
      'the stale entry is found by its tag')
    t.equal(await status(app, 'stale-tagged'), 404)
  })

  t.test('one caller\'s invalidation never touches another caller\'s entries', async (t) => {
    const app = await makeApp(t, ISOLATED_CALLERS_ENV)
    await put(app, 'shared-name', 'team', bearer(WRITER_A))
    await put(app, 'shared-name', 'team', bearer(WRITER_B))
    await put(app, 'b-only', 'team', bearer(WRITER_B))
    t.same((await invalidate(app, 'team', bearer(WRITER_A))).json(), { removed: 1, markedStale: 0 })
    t.equal(await status(app, 'shared-name', bearer(WRITER_A)), 404)
    t.equal(await status(app, 'shared-name', bearer(WRITER_B)), 200, 'the same key and tag of another caller stays')
    t.equal(await status(app, 'b-only', bearer(WRITER_B)), 200)
    t.same((await invalidate(app, 'team', bearer(WRITER_B))).json(), { removed: 2, markedStale: 0 })
  })

  t.test('entries written while invalidations run are removed or survive tagged, never half of each', async (t) => {
    const app = await makeApp(t)
    const KEYS = 300
    const writes = Array.from({ length: KEYS }, async (_, i) => {
      if (i % 50 === 0) await invalidate(app, 'racing')
      return await put(app, `racing-${i}`, 'racing')
    })
    const invalidations = Array.from({ length: 6 }, async (_, i) => {
      await sleep(i)
      return (await invalidate(app, 'racing')).json().removed as number
    })
    const written = await Promise.all(writes)
    t.ok(written.every((res) => res.statusCode === 201), 'every write was acknowledged')
    await Promise.all(invalidations)

    const before = await Promise.all(Array.from({ length: KEYS }, async (_, i) => await status(app, `racing-${i}`)))
    t.same(before.filter((code) => code !== 200 && code !== 404), [], 'every read found its entry or none')
    const alive = before.filter((code) => code === 200).length
    const final = (await invalidate(app, 'racing')).json().removed as number
    t.equal(final, alive, `each of the ${alive} surviving entries is still named by its tag`)
    const afterwards = await Promise.all(Array.from({ length: KEYS }, async (_, i) => await status(app, `racing-${i}`)))
    // Named with their statuses, so that a failure tells an entry left behind (200) from a read that failed.
    const left = afterwards.flatMap((code, i) => code === 404 ? [] : [`racing-${i}: ${code}`])
    t.same(left, [], 'and the last invalidation removed them all')
  })
}
