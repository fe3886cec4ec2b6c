// Mark-stale invalidation (`?mode=stale` on DELETE /cache/:key and DELETE /cache?tag=), a soft purge, as every store
// must give it. Run by cache-mark-stale-stores.test.ts against the memory store, one redis-server and a cluster.
import { setTimeout as sleep } from 'node:timers/promises'
import type { FastifyInstance } from 'fastify'
import type { Test } from 'tap'
import { bearer, ISOLATED_CALLERS_ENV, WRITER_A, WRITER_B } from '../helpers/api-keys.js'
import type { StoreUnderTest } from '../helpers/store-under-test.js'

type Headers = Record<string, string>
const ACQUIRE = { 'cache-lease': 'acquire' }
const STALE = /^cache-service; hit; ttl=-?\d+; detail=stale$/
const FRESH = /^cache-service; hit; ttl=\d+$/

const get = async (app: FastifyInstance, key: string, headers: Headers = {}) =>
  await app.inject({ method: 'GET', url: `/cache/${key}`, headers })
const put = async (app: FastifyInstance, key: string, query: string, headers: Headers = {}) =>
  await app.inject({ method: 'PUT', url: `/cache/${key}${query}`, headers, payload: `value of ${key}` })
const markStale = async (app: FastifyInstance, key: string, headers: Headers = {}) =>
  await app.inject({ method: 'DELETE', url: `/cache/${key}?mode=stale`, headers })
const invalidate = async (app: FastifyInstance, tag: string, mode: string, headers: Headers = {}) =>
  await app.inject({ method: 'DELETE', url: `/cache?tag=${tag}&mode=${mode}`, headers })
const tokenOf = (res: { headers: Record<string, unknown> }) => res.headers['cache-lease-token'] as string

export function cacheMarkStaleContract (t: Test, { makeApp, countTagMembers }: StoreUnderTest): void {
  t.test('a marked entry is served as stale, same bytes and ETag, and one caller gets the lease to refresh it',
    async (t) => {
      const app = await makeApp(t)
      const written = await put(app, 'doc', '?ttl=60&stale=30')
      t.match((await get(app, 'doc')).headers['cache-status'], FRESH)
      t.equal((await markStale(app, 'doc')).statusCode, 204)

      const stale = await get(app, 'doc')
      t.equal(stale.statusCode, 200)
      t.equal(stale.body, 'value of doc')
      t.equal(stale.headers.etag, written.headers.etag, 'the same representation')
      t.match(stale.headers['cache-status'], STALE)
      t.equal(stale.headers['cache-control'], 'max-age=0')
      t.equal((await get(app, 'doc', { 'if-none-match': written.headers.etag as string })).statusCode, 304,
        'a caller holding the copy revalidates it as before')

      const first = await get(app, 'doc', ACQUIRE)
      t.equal(first.statusCode, 200, 'the stale value, while it is refreshed')
      t.equal(first.headers['cache-lease'], 'granted; ttl=5')
      const second = await get(app, 'doc', ACQUIRE)
      t.match(second.headers['cache-lease'], /^held; ttl=[1-5]$/, 'nobody else recomputes')
      t.equal(second.body, 'value of doc')

      const refreshed = await app.inject({
        method: 'PUT',
        url: '/cache/doc?ttl=60&stale=30',
        headers: { 'cache-lease-token': tokenOf(first) },
        payload: 'new'
      })
      t.equal(refreshed.statusCode, 204)
      const fresh = await get(app, 'doc')
      t.equal(fresh.body, 'new')
      t.match(fresh.headers['cache-status'], FRESH)
    })

  t.test('a marked entry lives out what was left of its stale window, and no longer', async (t) => {
    const app = await makeApp(t)
    await put(app, 'short', '?ttl=60&stale=1')
    t.equal((await markStale(app, 'short')).statusCode, 204)
    t.match((await get(app, 'short')).headers['cache-status'], STALE)
    await sleep(1200)
    t.equal((await get(app, 'short')).statusCode, 404, 'gone when its stale window ends')

    // Stale already: a second purge neither revives it nor stretches its window.
    await put(app, 'old', '?ttl=1&stale=2')
    await sleep(1100)
    t.equal((await markStale(app, 'old')).statusCode, 204)
    t.match((await get(app, 'old')).headers['cache-status'], STALE)
    await sleep(2000)
    t.equal((await get(app, 'old')).statusCode, 404)
  })

  t.test('an entry with no stale window cannot be served stale: it is removed', async (t) => {
    const app = await makeApp(t)
    await put(app, 'plain', '?ttl=60')
    t.equal((await markStale(app, 'plain')).statusCode, 204)
    t.equal((await get(app, 'plain')).statusCode, 404)
    t.equal((await markStale(app, 'plain')).statusCode, 404, 'and a purge of nothing is a 404, as a DELETE is')
  })

  t.test('preconditions are checked first, and a refused purge changes nothing', async (t) => {
    const app = await makeApp(t)
    const written = await put(app, 'cond', '?ttl=60&stale=30')
    t.equal((await markStale(app, 'cond', { 'if-match': '"other"' })).statusCode, 412)
    t.match((await get(app, 'cond')).headers['cache-status'], FRESH, 'still fresh')
    t.equal((await markStale(app, 'absent', { 'if-match': '*' })).statusCode, 412)
    t.equal((await markStale(app, 'cond', { 'if-match': written.headers.etag as string })).statusCode, 204)
    t.match((await get(app, 'cond')).headers['cache-status'], STALE)
  })

  t.test('a value computed under a lease taken before the purge is never stored after it', async (t) => {
    const app = await makeApp(t)
    await put(app, 'race', '?ttl=1&stale=60')
    await sleep(1100)
    const leased = await get(app, 'race', ACQUIRE)
    t.equal(leased.headers['cache-lease'], 'granted; ttl=5')
    t.equal((await markStale(app, 'race')).statusCode, 204)
    const late = await app.inject({
      method: 'PUT', url: '/cache/race?ttl=60', headers: { 'cache-lease-token': tokenOf(leased) }, payload: 'before'
    })
    t.equal(late.statusCode, 412, 'the lease ended with the purge')
    t.equal((await get(app, 'race')).body, 'value of race')
    t.equal((await get(app, 'race', ACQUIRE)).headers['cache-lease'], 'granted; ttl=5', 'a new refresher is chosen')

    // By tag too, and a miss's lease ends with a purge of its key even though there is no entry.
    await put(app, 'tagged', '?ttl=1&stale=60', { 'cache-tag': 'race' })
    await sleep(1100)
    const tagLease = await get(app, 'tagged', ACQUIRE)
    t.same((await invalidate(app, 'race', 'stale')).json(), { removed: 0, markedStale: 0 }, 'stale already')
    t.equal((await app.inject({
      method: 'PUT', url: '/cache/tagged?ttl=60', headers: { 'cache-lease-token': tokenOf(tagLease) }, payload: 'x'
    })).statusCode, 412)
    const missLease = await get(app, 'nothing', ACQUIRE)
    t.equal((await markStale(app, 'nothing')).statusCode, 404)
    t.equal((await app.inject({
      method: 'PUT', url: '/cache/nothing', headers: { 'cache-lease-token': tokenOf(missLease) }, payload: 'x'
    })).statusCode, 412)
  })

  t.test('by tag: fresh entries marked, those with no stale window removed, and the tags kept', async (t) => {
    const app = await makeApp(t)
    await put(app, 'a', '?ttl=60&stale=60', { 'cache-tag': 'soft, other' })
    await put(app, 'b', '?ttl=60&stale=60', { 'cache-tag': 'soft' })
    await put(app, 'c', '?ttl=60', { 'cache-tag': 'soft, other' })
    await put(app, 'd', '?ttl=60&stale=60', { 'cache-tag': 'other' })
    t.equal(await countTagMembers(app), 6)

    const res = await invalidate(app, 'soft', 'stale')
    t.equal(res.statusCode, 200)
    t.same(res.json(), { removed: 1, markedStale: 2 })
    for (const key of ['a', 'b']) t.match((await get(app, key)).headers['cache-status'], STALE, `${key} is stale`)
    t.equal((await get(app, 'c')).statusCode, 404, 'c had no stale window')
    t.match((await get(app, 'd')).headers['cache-status'], FRESH, 'd does not carry the tag')
    t.equal(await countTagMembers(app), 4, 'the marked entries keep their tags; the removed one\'s are forgotten')

    t.same((await invalidate(app, 'soft', 'stale')).json(), { removed: 0, markedStale: 0 }, 'nothing fresh is left')
    t.same((await invalidate(app, 'other', 'remove')).json(), { removed: 2, markedStale: 0 },
      'a later hard invalidation finds the marked entry by its other tag')
    t.same((await invalidate(app, 'soft', 'remove')).json(), { removed: 1, markedStale: 0 }, 'and b by this one')
    t.equal(await countTagMembers(app), 0, 'nothing of the index is left')
  })

  t.test('a bulk delete with mode=stale marks each key as DELETE /cache/:key does', async (t) => {
    const app = await makeApp(t)
    await put(app, 'a', '?ttl=60&stale=60')
    await put(app, 'b', '?ttl=60')
    const res = await app.inject({
      method: 'POST', url: '/cache-bulk/delete?mode=stale', payload: { keys: ['a', 'b', 'missing'] }
    })
    t.equal(res.statusCode, 200)
    t.same(res.json().results.map(({ outcome }: { outcome: string }) => outcome), ['deleted', 'deleted', 'not-found'])
    const a = await get(app, 'a')
    t.equal(a.body, 'value of a', 'a is still served')
    t.match(a.headers['cache-status'], STALE, 'as stale')
    t.equal((await get(app, 'b')).statusCode, 404, 'b had no stale window')
    t.equal((await app.inject({
      method: 'POST', url: '/cache-bulk/delete?mode=later', payload: { keys: ['a'] }
    })).statusCode, 400, 'an unknown mode is refused')
    t.match((await get(app, 'a')).headers['cache-status'], STALE, 'and changes nothing')
  })

  t.test('with key isolation, a caller marks only its own entries', async (t) => {
    const app = await makeApp(t, ISOLATED_CALLERS_ENV)
    const a = bearer(WRITER_A)
    const b = bearer(WRITER_B)
    await put(app, 'k', '?ttl=60&stale=60', { ...a, 'cache-tag': 'shared-name' })
    await put(app, 'k', '?ttl=60&stale=60', { ...b, 'cache-tag': 'shared-name' })
    t.same((await invalidate(app, 'shared-name', 'stale', a)).json(), { removed: 0, markedStale: 1 })
    t.match((await get(app, 'k', a)).headers['cache-status'], STALE)
    t.match((await get(app, 'k', b)).headers['cache-status'], FRESH, 'the other caller\'s entry is untouched')
    t.equal((await markStale(app, 'k', b)).statusCode, 204)
    t.match((await get(app, 'k', b)).headers['cache-status'], STALE)
  })

  t.test('a mode that is not one is refused with a problem, and changes nothing', async (t) => {
    const app = await makeApp(t)
    await put(app, 'm', '?ttl=60&stale=60', { 'cache-tag': 'm' })
    for (const url of ['/cache/m?mode=STALE', '/cache/m?mode=', '/cache/m?mode=soft', '/cache/m?mod=stale',
      '/cache?tag=m&mode=purge', '/cache/m?mode=stale&mode=remove']) {
      const res = await app.inject({ method: 'DELETE', url })
      t.equal(res.statusCode, 400, url)
      t.match(res.headers['content-type'], /^application\/problem\+json/)
    }
    t.match((await get(app, 'm')).headers['cache-status'], FRESH)
  })
}
