// The near cache's fresh reads (NEAR_CACHE_FRESH_READS), as every store must give them: a replica answers a hot key
// from memory, yet never hides a change, its own at once and another replica's within the channel's delay. Run by
// near-cache-stores.test.ts against the memory store (one process: the store is the near cache, and "another
// replica" is the same one), one redis-server and a cluster.
import { setTimeout as sleep } from 'node:timers/promises'
import type { FastifyInstance } from 'fastify'
import type { Test } from 'tap'
import { TRUSTED_FOR_MS } from '../../src/store/redis-near-cache.js'
import type { StoreUnderTest } from '../helpers/store-under-test.js'
import { until } from '../helpers/until.js'

const FRESH_READS = { NEAR_CACHE_FRESH_READS: 'true' }
const FROM_MEMORY = /^cache-service; hit; ttl=\d+; detail=near-cache$/
const FROM_STORE = /^cache-service; hit; ttl=\d+$/

const get = async (app: FastifyInstance, key: string, headers: Record<string, string> = {}) =>
  await app.inject({ method: 'GET', url: `/cache/${key}`, headers })
const put = async (app: FastifyInstance, key: string, value: string, query = '?ttl=60',
  headers: Record<string, string> = {}) =>
  await app.inject({ method: 'PUT', url: `/cache/${key}${query}`, headers, payload: value })
const remove = async (app: FastifyInstance, url: string) => await app.inject({ method: 'DELETE', url })

export function nearCacheContract (t: Test, { makeApp, shared }: StoreUnderTest): void {
  /** Two replicas of one store with fresh reads on, once the first answers from memory (it hears the channel). */
  async function replicas (t: Test, prefix: string): Promise<[FastifyInstance, FastifyInstance]> {
    const reader = await makeApp(t, { ...FRESH_READS, KEY_PREFIX: prefix })
    const writer = shared ? await makeApp(t, { ...FRESH_READS, KEY_PREFIX: prefix }) : reader
    await put(writer, 'probe', 'p')
    await until(async () => !shared || FROM_MEMORY.test(String((await get(reader, 'probe')).headers['cache-status'])),
      'the reader answers from its near cache')
    return [reader, writer]
  }

  /** Reads `key` until it is `value`, and then never anything else: how long the old value was still served. */
  async function settlesOn (app: FastifyInstance, key: string, status: number, body?: string): Promise<number> {
    const started = performance.now()
    await until(async () => {
      const res = await get(app, key)
      return res.statusCode === status && (body === undefined || res.body === body)
    }, `${key} answered ${status} ${body ?? ''}`, { everyMs: 1 })
    return performance.now() - started
  }

  t.test('a hot key is answered from memory, same bytes, ETag and lifetime, and never past its TTL', async (t) => {
    const [app] = await replicas(t, 'hot:')
    // Fresh for 3 s, time enough on a busy machine for the reads below, which must come while it is fresh.
    const written = await put(app, 'k', 'hot value', '?ttl=3&stale=60')
    const first = await get(app, 'k')
    t.match(first.headers['cache-status'], FROM_STORE, 'the first read asks the store')
    // The write's own announcement comes back a moment later, and may drop the copy of a read made before it did.
    let second = await get(app, 'k')
    if (shared) {
      await until(async () => FROM_MEMORY.test(String((second = await get(app, 'k')).headers['cache-status'])),
        'a read from memory', { everyMs: 1 })
    }
    t.equal(second.body, 'hot value')
    t.equal(second.headers.etag, written.headers.etag)
    t.match(second.headers['cache-status'], shared ? FROM_MEMORY : FROM_STORE, 'later ones come from memory')
    t.match(second.headers['cache-control'], /^max-age=[0-3]$/)
    t.match(second.headers.age, /^\d+$/)
    const leased = await get(app, 'k', { 'cache-lease': 'acquire' })
    t.match(leased.headers['cache-status'], FROM_STORE, 'a read that would take a lease asks the store')
    for (const directives of ['no-cache', 'max-age=0, No-Cache', 'stale-if-error=60,no-cache']) {
      const uncached = await get(app, 'k', { 'cache-control': directives })
      t.match(uncached.headers['cache-status'], FROM_STORE, `so does one that says ${directives}`)
    }
    const bulk = await app.inject({ method: 'POST', url: '/cache-bulk/get', payload: { keys: ['k'] } })
    t.equal(bulk.json().entries[0].value, Buffer.from('hot value').toString('base64'), 'a bulk read, from memory too')

    await sleep(3050)
    const stale = await get(app, 'k')
    t.equal(stale.statusCode, 200)
    t.match(stale.headers['cache-status'], /detail=stale$/, 'past its TTL it is the store\'s stale entry')
    t.equal(stale.headers['cache-control'], 'max-age=0')
  })

  t.test('a replica\'s own writes, deletes and invalidations are never hidden by its near cache', async (t) => {
    const [app] = await replicas(t, 'own:')
    await put(app, 'k', 'v1', '?ttl=60&stale=60', { 'cache-tag': 'x' })
    await get(app, 'k')
    await get(app, 'k')
    await put(app, 'k', 'v2', '?ttl=60&stale=60', { 'cache-tag': 'x' })
    t.equal((await get(app, 'k')).body, 'v2', 'a write')
    await get(app, 'k')
    await remove(app, '/cache/k?mode=stale')
    t.match((await get(app, 'k')).headers['cache-status'], /detail=stale$/, 'a mark-stale')
    await put(app, 'k', 'v3', '?ttl=60', { 'cache-tag': 'x' })
    await get(app, 'k')
    t.equal((await get(app, 'k')).body, 'v3')
    t.same((await remove(app, '/cache?tag=x')).json(), { removed: 1, markedStale: 0 })
    t.equal((await get(app, 'k')).statusCode, 404, 'a tag invalidation')
    await put(app, 'k', 'v4')
    await get(app, 'k')
    await remove(app, '/cache/k')
    t.equal((await get(app, 'k')).statusCode, 404, 'a delete')
  })

  t.test('another replica\'s change stops the old value within the channel\'s delay', async (t) => {
    const [reader, writer] = await replicas(t, 'other:')
    const delays: number[] = []
    const warm = async (key: string, value: string, query = '?ttl=60') => {
      await put(writer, key, value, query, { 'cache-tag': key })
      await settlesOn(reader, key, 200, value)
      await get(reader, key)
    }
    for (let i = 0; i < 20; i++) {
      await warm('w', `old ${i}`)
      await put(writer, 'w', `new ${i}`)
      delays.push(await settlesOn(reader, 'w', 200, `new ${i}`))
    }
    await warm('d', 'v')
    await remove(writer, '/cache/d')
    delays.push(await settlesOn(reader, 'd', 404))
    await warm('s', 'v', '?ttl=60&stale=60')
    await remove(writer, '/cache/s?mode=stale')
    const started = performance.now()
    await until(async () => /detail=stale$/.test(String((await get(reader, 's')).headers['cache-status'])),
      'the mark seen', { everyMs: 1 })
    delays.push(performance.now() - started)
    await warm('tagged', 'v')
    await remove(writer, '/cache?tag=tagged')
    delays.push(await settlesOn(reader, 'tagged', 404))

    const worst = Math.max(...delays)
    t.ok(worst < TRUSTED_FOR_MS, `every change seen within ${TRUSTED_FOR_MS} ms (the worst: ${worst.toFixed(1)} ms)`)
    t.comment(`delays after the writer's answer: ${delays.map((ms) => ms.toFixed(1)).join(', ')} ms`)
  })
}
