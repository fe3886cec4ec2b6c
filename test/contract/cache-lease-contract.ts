// Leases, waiting readers and stale-while-revalidate on /cache/:key, as every store must give them. Run by
// cache-lease-stores.test.ts against the memory store, one redis-server and a cluster of three.
import { setTimeout as sleep } from 'node:timers/promises'
import type { FastifyInstance } from 'fastify'
import type { Test } from 'tap'
import { bearer, ISOLATED_CALLERS_ENV, READER, WRITER_A, WRITER_B } from '../helpers/api-keys.js'
import type { StoreUnderTest } from '../helpers/store-under-test.js'

const ACQUIRE = { 'cache-lease': 'acquire' }
type Headers = Record<string, string>

const get = async (app: FastifyInstance, key: string, headers: Headers = {}) =>
  await app.inject({ method: 'GET', url: `/cache/${key}`, headers })
const put = async (app: FastifyInstance, key: string, payload: string, headers: Headers = {}, query = '') =>
  await app.inject({ method: 'PUT', url: `/cache/${key}${query}`, headers, payload })
const tokenOf = (res: { headers: Record<string, unknown> }) => res.headers['cache-lease-token'] as string

export function cacheLeaseContract (t: Test, { makeApp, shared }: StoreUnderTest): void {
  t.test('one caller gets the lease on a miss, others are told it is held, its PUT stores and ends it', async (t) => {
    const app = await makeApp(t)
    const first = await get(app, 'k', ACQUIRE)
    t.equal(first.statusCode, 404)
    t.equal(first.headers['cache-status'], 'cache-service; fwd=miss')
    t.equal(first.headers['cache-lease'], 'granted; ttl=5', 'the default lifetime')
    t.match(tokenOf(first), /^[\w-]{22}$/)
    const second = await get(app, 'k', ACQUIRE)
    t.equal(second.statusCode, 404)
    t.match(second.headers['cache-lease'], /^held; ttl=[1-5]$/)
    t.equal(second.headers['cache-lease-token'], undefined, 'nobody else learns the token')
    t.equal((await get(app, 'k')).headers['cache-lease'], 'held; ttl=5', 'a plain miss is told too')

    const stored = await put(app, 'k', 'computed', { 'cache-lease-token': tokenOf(first) }, '?ttl=60')
    t.equal(stored.statusCode, 201)
    const hit = await get(app, 'k', ACQUIRE)
    t.equal(hit.statusCode, 200)
    t.equal(hit.body, 'computed')
    t.match(hit.headers['cache-status'], /^cache-service; hit; ttl=(59|60)$/)
    t.equal(hit.headers['cache-lease'], undefined, 'a fresh hit involves no lease')
    t.match(hit.headers.age, /^[01]$/)

    const again = await put(app, 'k', 'late', { 'cache-lease-token': tokenOf(first) })
    t.equal(again.statusCode, 412, 'the lease ended with its write')
    t.equal(again.json().detail, 'The lease is no longer current; nothing was stored')
    t.equal((await get(app, 'k')).body, 'computed')
  })

  t.test('the stale-set race: a value computed before a DELETE is never stored after it', async (t) => {
    const app = await makeApp(t)
    const leased = await get(app, 'race', ACQUIRE)
    t.equal((await app.inject({ method: 'DELETE', url: '/cache/race' })).statusCode, 404, 'nothing there to delete')
    const stale = await put(app, 'race', 'computed before the invalidation', { 'cache-lease-token': tokenOf(leased) })
    t.equal(stale.statusCode, 412)
    t.equal((await get(app, 'race')).statusCode, 404, 'nothing stored')
    const next = await get(app, 'race', ACQUIRE)
    t.equal(next.headers['cache-lease'], 'granted; ttl=5', 'the next miss may take a new lease')
    t.not(tokenOf(next), tokenOf(leased))
  })

  t.test('any write ends the lease; an unused lease expires; bad lease headers get 400', async (t) => {
    const app = await makeApp(t)
    const leased = await get(app, 'w', ACQUIRE)
    t.equal((await put(app, 'w', 'from someone else')).statusCode, 201)
    t.equal((await put(app, 'w', 'mine', { 'cache-lease-token': tokenOf(leased) })).statusCode, 412)
    t.equal((await get(app, 'w')).body, 'from someone else')

    const short = await get(app, 'short', { 'cache-lease': 'acquire; ttl=1' })
    t.equal(short.headers['cache-lease'], 'granted; ttl=1')
    await sleep(1100)
    t.equal((await get(app, 'short', ACQUIRE)).headers['cache-lease'], 'granted; ttl=5', 'expired, granted anew')
    t.equal((await put(app, 'short', 'x', { 'cache-lease-token': tokenOf(short) })).statusCode, 412)

    for (const [header, value] of [['cache-lease', 'acquire; ttl=61'], ['cache-lease', 'grab'],
      ['cache-lease', 'acquire; ttl=0']] as const) {
      const res = await get(app, 'bad', { [header]: value })
      t.equal(res.statusCode, 400, `${header}: ${value}`)
    }
    t.equal((await put(app, 'bad', 'x', { 'cache-lease-token': 'not a token' })).statusCode, 400)
    t.equal((await get(app, 'bad')).headers['cache-lease'], undefined, 'the refused requests took no lease')
    t.equal((await get(app, 'bad', { prefer: 'wait=abc, respond-async' })).statusCode, 404, 'odd preferences ignored')
  })

  t.test('stale-while-revalidate: served stale with Cache-Status and Age, one caller refreshes, then a miss',
    async (t) => {
      const app = await makeApp(t)
      t.equal((await put(app, 'swr', 'old', {}, '?ttl=1&stale=3')).statusCode, 201)
      await sleep(1100)
      const stale = await get(app, 'swr', ACQUIRE)
      t.equal(stale.statusCode, 200)
      t.equal(stale.body, 'old')
      t.match(stale.headers['cache-status'], /^cache-service; hit; ttl=-1; detail=stale$/)
      t.equal(stale.headers['cache-control'], 'max-age=0')
      t.ok(Number(stale.headers.age) >= 1, 'Age says how old it is')
      t.equal(stale.headers['cache-lease'], 'granted; ttl=5', 'the first stale reader refreshes it')
      const other = await get(app, 'swr', ACQUIRE)
      t.equal(other.body, 'old')
      t.match(other.headers['cache-lease'], /^held/, 'the others are served the stale value')
      t.equal((await put(app, 'swr', 'new', { 'cache-lease-token': tokenOf(stale) }, '?ttl=1&stale=1')).statusCode, 204)
      const fresh = await get(app, 'swr')
      t.equal(fresh.body, 'new')
      t.match(fresh.headers['cache-status'], /^cache-service; hit; ttl=[01]$/)

      await sleep(2100)
      const gone = await get(app, 'swr')
      t.equal(gone.statusCode, 404, 'past the stale window it is a miss')
      t.equal(gone.headers['cache-status'], 'cache-service; fwd=miss')
      t.equal((await put(app, 'swr', 'x', {}, '?stale=0')).statusCode, 400)
    })

  t.test('a waiting reader gets the value as soon as the lease holder writes it', async (t) => {
    const app = await makeApp(t)
    const leased = await get(app, 'slow', ACQUIRE)
    const started = Date.now()
    const waiting = get(app, 'slow', { prefer: 'wait=10' })
    await sleep(300)
    await put(app, 'slow', 'worth the wait', { 'cache-lease-token': tokenOf(leased) })
    const res = await waiting
    t.equal(res.statusCode, 200)
    t.equal(res.body, 'worth the wait')
    t.equal(res.headers['preference-applied'], 'wait=10')
    t.ok(Date.now() - started < 3000, `answered ${Date.now() - started} ms after it asked`)
  })

  t.test('a wait ends with the lease: a DELETE, or its expiry, which may grant the waiter a lease', async (t) => {
    const app = await makeApp(t)
    await get(app, 'deleted', ACQUIRE)
    const waiting = get(app, 'deleted', { prefer: 'wait=10' })
    await sleep(200)
    const started = Date.now()
    await app.inject({ method: 'DELETE', url: '/cache/deleted' })
    t.equal((await waiting).statusCode, 404)
    t.ok(Date.now() - started < 1000, 'a DELETE ends the wait at once')

    await get(app, 'abandoned', { 'cache-lease': 'acquire; ttl=1' })
    const waiters = await Promise.all([1, 2, 3].map(async () =>
      await get(app, 'abandoned', { ...ACQUIRE, prefer: 'wait=10' })))
    t.same(waiters.map((res) => res.statusCode), [404, 404, 404], 'the holder never wrote')
    t.equal(waiters.filter((res) => res.headers['cache-lease'] === 'granted; ttl=5').length, 1,
      'exactly one waiter takes over the lease')
  })

  // Over a real socket, as in production: the server's close waits for the request in flight, and the store stays
  // open until it has answered. (An injected request is in flight for nobody, so the store could close under it.)
  t.test('shutdown ends waits at once', async (t) => {
    const app = await makeApp(t)
    const base = await app.listen({ port: 0, host: '127.0.0.1' })
    await get(app, 'forever', { 'cache-lease': 'acquire; ttl=30' })
    const waiting = fetch(`${base}/cache/forever`, { headers: { prefer: 'wait=30' } })
    await sleep(200)
    const started = Date.now()
    await app.close()
    const answer = await waiting
    t.equal(answer.status, 404, 'the waiter is answered with what is there: still a miss')
    t.equal(answer.headers.get('cache-lease'), 'held; ttl=30')
    t.ok(Date.now() - started < 2000, `closed in ${Date.now() - started} ms`)
  })

  t.test('leases are per caller, like keys', async (t) => {
    const app = await makeApp(t, ISOLATED_CALLERS_ENV)
    const a = await get(app, 'same', { ...ACQUIRE, ...bearer(WRITER_A) })
    const b = await get(app, 'same', { ...ACQUIRE, ...bearer(WRITER_B) })
    t.equal(a.headers['cache-lease'], 'granted; ttl=5')
    t.equal(b.headers['cache-lease'], 'granted; ttl=5', 'another caller\'s lease on the same name is its own')
    const crossed = await put(app, 'same', 'x', { 'cache-lease-token': tokenOf(a), ...bearer(WRITER_B) })
    t.equal(crossed.statusCode, 412, 'a token is good only for its own caller\'s key')
  })

  t.test('a lease needs the right to write: a read-only caller is answered as if it had not asked', async (t) => {
    const app = await makeApp(t, { ...ISOLATED_CALLERS_ENV, KEY_ISOLATION: 'none' })
    const reader = await get(app, 'guarded', { ...ACQUIRE, ...bearer(READER) })
    t.equal(reader.statusCode, 404)
    t.equal(reader.headers['cache-lease'], undefined, 'no lease granted to a caller that could never write the value')
    t.equal(reader.headers['cache-lease-token'], undefined)
    const writer = await get(app, 'guarded', { ...ACQUIRE, ...bearer(WRITER_A) })
    t.equal(writer.headers['cache-lease'], 'granted; ttl=5', 'so a writer is not held off')
    const again = await get(app, 'guarded', { ...ACQUIRE, ...bearer(READER) })
    t.equal(again.headers['cache-lease'], 'held; ttl=5', 'the reader learns that a writer holds it')
    t.equal(again.headers['cache-lease-token'], undefined)
  })

  t.test('the herd: 200 concurrent misses across two replicas, one computation', async (t) => {
    const first = await makeApp(t, { KEY_PREFIX: 'herd:' })
    // The memory store lives in one process; two replicas need a shared store.
    const second = shared ? await makeApp(t, { KEY_PREFIX: 'herd:' }) : first
    const replicas = [first, second]

    // The longest lease there is: on a starved machine 200 requests can take longer than the default 5 s, and a lease
    // that ran out may rightly be granted again, which is not what is counted here.
    const acquire = { 'cache-lease': 'acquire; ttl=60' }
    const grants = await Promise.all(Array.from({ length: 200 }, async (_, i) =>
      (await get(replicas[i % 2]!, 'no-wait', acquire)).headers['cache-lease']))
    t.equal(grants.filter((lease) => lease === 'granted; ttl=60').length, 1, 'without waiting: one lease, 199 held')

    let computations = 0
    /** A cache-aside caller: on a miss it computes only with the lease, and otherwise waits for whoever has it. */
    const read = async (app: FastifyInstance): Promise<string> => {
      for (let attempt = 0; attempt < 10; attempt++) {
        const res = await get(app, 'hot', { ...acquire, prefer: 'wait=60' })
        if (res.statusCode === 200) return res.body
        if (res.headers['cache-lease']?.toString().startsWith('granted')) {
          computations++
          await sleep(200) // the database
          await put(app, 'hot', 'computed once', { 'cache-lease-token': tokenOf(res) }, '?ttl=60')
          return 'computed once'
        }
      }
      throw new Error('no value after ten tries')
    }
    const values = await Promise.all(Array.from({ length: 200 }, async (_, i) => await read(replicas[i % 2]!)))
    t.equal(computations, 1, 'exactly one caller computed the value')
    t.ok(values.every((value) => value === 'computed once'), 'and all 200 got it')
  })
}
