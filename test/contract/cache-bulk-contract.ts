// Bulk reads, writes and deletes (/cache-bulk) as every store must give them. Run by cache-bulk-stores.test.ts
// against the memory store, one redis-server and a cluster of three, where the keys of one request span every slot.
import type { FastifyInstance } from 'fastify'
import type { Test } from 'tap'
import { bearer, ISOLATED_CALLERS_ENV, READER, WRITER_A, WRITER_B } from '../helpers/api-keys.js'
import type { AppFactory } from './cache-contract.js'

const PROBLEM = /^application\/problem\+json/
const b64 = (text: string | Buffer) => Buffer.from(text).toString('base64')

const bulk = async (app: FastifyInstance, operation: 'get' | 'put' | 'delete', payload: unknown,
  headers: Record<string, string> = {}) =>
  await app.inject({ method: 'POST', url: `/cache-bulk/${operation}`, headers, payload: payload as object })

export function cacheBulkContract (t: Test, makeApp: AppFactory): void {
  t.test('a bulk write stores each entry with its own type and TTL; a bulk read answers every key in order',
    async (t) => {
      const app = await makeApp(t)
      const everyByte = Buffer.from(Array.from({ length: 256 }, (_, i) => i))
      const written = await bulk(app, 'put', {
        entries: [
          { key: 'user:1', value: b64('{"name":"Ada"}'), contentType: 'application/json', ttlSeconds: 60 },
          { key: 'blob', value: everyByte.toString('base64') },
          { key: 'ключ/é', value: b64(''), contentType: 'text/plain' },
          ...Array.from({ length: 47 }, (_, i) => ({ key: `many-${i}`, value: b64(`value ${i}`) }))
        ]
      })
      t.equal(written.statusCode, 200)
      const results = written.json().results as Array<{ key: string, outcome: string, etag: string }>
      t.equal(results.length, 50)
      t.ok(results.every(({ outcome }) => outcome === 'created'), 'every entry created')
      t.same(results.slice(0, 3).map(({ key }) => key), ['user:1', 'blob', 'ключ/é'], 'in the order sent')

      const single = await app.inject({ method: 'GET', url: '/cache/user%3A1' })
      t.equal(single.body, '{"name":"Ada"}')
      t.equal(single.headers['content-type'], 'application/json')
      t.equal(single.headers.etag, results[0]!.etag, 'the ETag answered is the one GET gives')
      t.match(single.headers['cache-control'], /^max-age=(59|60)$/)

      const read = await bulk(app, 'get', { keys: ['blob', 'absent', 'user:1', 'ключ/é', 'many-46'] })
      t.equal(read.statusCode, 200)
      const [blob, absent, user, empty, last] = read.json().entries
      t.same(absent, { key: 'absent', found: false })
      t.same(user, {
        key: 'user:1',
        found: true,
        value: b64('{"name":"Ada"}'),
        contentType: 'application/json',
        etag: results[0]!.etag,
        ttlSeconds: user.ttlSeconds,
        stale: false
      })
      t.ok(user.ttlSeconds === 59 || user.ttlSeconds === 60, 'the TTL left, rounded down')
      t.ok(Buffer.from(blob.value, 'base64').equals(everyByte), 'binary bytes round-trip')
      t.equal(blob.contentType, 'application/octet-stream', 'the default media type')
      t.equal(blob.ttlSeconds >= 3599, true, 'the default TTL')
      t.same([empty.found, empty.value, last.value], [true, '', b64('value 46')])
    })

  t.test('each entry has its own preconditions and outcome: no all-or-nothing surprise', async (t) => {
    const app = await makeApp(t)
    const first = await app.inject({ method: 'PUT', url: '/cache/existing', payload: 'v1' })
    const written = await bulk(app, 'put', {
      entries: [
        { key: 'existing', value: b64('v2'), ifNoneMatch: '*' },
        { key: 'fresh', value: b64('new'), ifNoneMatch: '*' },
        { key: 'matching', value: b64('x'), ifMatch: '"nope"' },
        { key: 'existing-2', value: b64('y') }
      ]
    })
    t.same(written.json().results.map((r: { outcome: string }) => r.outcome),
      ['precondition-failed', 'created', 'precondition-failed', 'created'])
    t.notOk('etag' in written.json().results[0], 'no ETag for an entry that was not stored')
    t.equal((await app.inject({ method: 'GET', url: '/cache/existing' })).body, 'v1', 'the refused entry is intact')

    const replaced = await bulk(app, 'put', {
      entries: [{ key: 'existing', value: b64('v3'), ifMatch: first.headers.etag as string }]
    })
    t.same(replaced.json().results[0].outcome, 'replaced')
    t.equal((await app.inject({ method: 'GET', url: '/cache/existing' })).body, 'v3')
  })

  t.test('a bulk delete removes each key and says which were there', async (t) => {
    const app = await makeApp(t)
    await bulk(app, 'put', { entries: [{ key: 'a', value: b64('1') }, { key: 'b', value: b64('2') }] })
    const deleted = await bulk(app, 'delete', { keys: ['a', 'missing', 'b'] })
    t.equal(deleted.statusCode, 200)
    t.same(deleted.json(), {
      results: [
        { key: 'a', outcome: 'deleted' }, { key: 'missing', outcome: 'not-found' }, { key: 'b', outcome: 'deleted' }
      ]
    })
    t.same((await bulk(app, 'get', { keys: ['a', 'b'] })).json().entries.map((e: { found: boolean }) => e.found),
      [false, false])
  })

  t.test('bulk writes carry tags that an invalidation finds', async (t) => {
    const app = await makeApp(t)
    await bulk(app, 'put', {
      entries: [
        { key: 'p1', value: b64('1'), tags: ['user:9', 'pages'] },
        { key: 'p2', value: b64('2'), tags: ['user:9'] },
        { key: 'p3', value: b64('3'), tags: ['pages'] }
      ]
    })
    t.same((await app.inject({ method: 'DELETE', url: '/cache?tag=user%3A9' })).json(), { removed: 2, markedStale: 0 })
    t.same((await bulk(app, 'get', { keys: ['p1', 'p2', 'p3'] })).json().entries.map((e: { found: boolean }) =>
      e.found), [false, false, true])
  })

  t.test('bad bulk requests get a 4xx problem and change nothing', async (t) => {
    const app = await makeApp(t, { CACHE_BULK_MAX_KEYS: '3', CACHE_MAX_VALUE_BYTES: '8' })
    const refusals: Array<[string, 'get' | 'put' | 'delete', unknown, number]> = [
      ['more keys than CACHE_BULK_MAX_KEYS', 'get', { keys: ['a', 'b', 'c', 'd'] }, 400],
      ['no keys', 'delete', { keys: [] }, 400],
      ['a key twice', 'get', { keys: ['a', 'a'] }, 400],
      ['an invalid key', 'get', { keys: ['ok', ''] }, 400],
      ['a control character in a key', 'delete', { keys: ['a\u0000b'] }, 400],
      ['an unknown member', 'get', { keys: ['a'], extra: true }, 400],
      ['more entries than the limit', 'put', { entries: ['a', 'b', 'c', 'd'].map((key) => ({ key, value: '' })) }, 400],
      ['an entry twice', 'put', { entries: [{ key: 'x', value: '' }, { key: 'x', value: '' }] }, 400],
      ['a value that is not base64', 'put',
        { entries: [{ key: 'x', value: b64('1') }, { key: 'y', value: 'a*b' }] }, 400],
      ['a negative TTL', 'put', { entries: [{ key: 'x', value: '', ttlSeconds: -1 }] }, 400],
      ['a bad tag', 'put', { entries: [{ key: 'x', value: '', tags: ['a b'] }] }, 400],
      ['a malformed If-Match', 'put', { entries: [{ key: 'x', value: '', ifMatch: 'abc' }] }, 400],
      ['a value over CACHE_MAX_VALUE_BYTES', 'put',
        { entries: [{ key: 'x', value: b64('small') }, { key: 'y', value: b64('123456789') }] }, 413]
    ]
    for (const [label, operation, payload, status] of refusals) {
      const res = await bulk(app, operation, payload)
      t.equal(res.statusCode, status, label)
      t.match(res.headers['content-type'], PROBLEM, `${label}: a problem`)
    }
    const text = await app.inject({
      method: 'POST', url: '/cache-bulk/get', headers: { 'content-type': 'text/plain' }, payload: 'a'
    })
    t.equal(text.statusCode, 415, 'a body that is not JSON')
    t.same((await bulk(app, 'get', { keys: ['x', 'y'] })).json().entries.map((e: { found: boolean }) => e.found),
      [false, false], 'nothing of a refused write was stored')
  })

  t.test('isolation and scopes apply to each key as they do one by one', async (t) => {
    const app = await makeApp(t, ISOLATED_CALLERS_ENV)
    const entries = [{ key: 'shared', value: b64('from A') }]
    t.equal((await bulk(app, 'put', { entries }, bearer(WRITER_A))).statusCode, 200)
    const fromB = await bulk(app, 'get', { keys: ['shared'] }, bearer(WRITER_B))
    t.same(fromB.json().entries, [{ key: 'shared', found: false }], 'B does not see A\'s entry')
    t.same((await bulk(app, 'delete', { keys: ['shared'] }, bearer(WRITER_B))).json().results[0].outcome, 'not-found')
    t.equal((await bulk(app, 'get', { keys: ['shared'] }, bearer(WRITER_A))).json().entries[0].found, true)

    t.equal((await bulk(app, 'get', { keys: ['shared'] }, bearer(READER))).statusCode, 200, 'a reader may read')
    for (const operation of ['put', 'delete'] as const) {
      const payload = operation === 'put' ? { entries } : { keys: ['shared'] }
      const denied = await bulk(app, operation, payload, bearer(READER))
      t.equal(denied.statusCode, 403, `a reader may not bulk ${operation}`)
    }
    t.equal((await bulk(app, 'get', { keys: ['shared'] })).statusCode, 401, 'no credential, no answer')
  })

  t.test('a bulk write refuses every media type a PUT refuses, and stores nothing of the request', async (t) => {
    const app = await makeApp(t)
    for (const contentType of ['text/plain;\u0007', 'text/plain\u0000', 'text/\u0100', '*/*', 'text/*', 'text', '',
      `text/${'x'.repeat(300)}`]) {
      const res = await bulk(app, 'put', {
        entries: [{ key: 'fine', value: b64('v') }, { key: 'bad-type', value: b64('v'), contentType }]
      })
      t.equal(res.statusCode, 400, JSON.stringify(contentType))
      t.match(res.headers['content-type'], PROBLEM)
      const single = await app.inject({
        method: 'PUT', url: '/cache/bad-type', headers: { 'content-type': contentType }, payload: 'v'
      })
      t.ok([400, 415].includes(single.statusCode), `PUT with ${JSON.stringify(contentType)}: ${single.statusCode}`)
    }
    t.same((await bulk(app, 'get', { keys: ['fine', 'bad-type'] })).json().entries.map(({ found }: any) => found),
      [false, false], 'nothing was stored')
    const fine = await bulk(app, 'put', {
      entries: [{ key: 'typed', value: b64('v'), contentType: 'text/plain; charset="utf-8"' }]
    })
    t.equal(fine.json().results[0].outcome, 'created')
    t.equal((await app.inject({ method: 'GET', url: '/cache/typed' })).headers['content-type'],
      'text/plain; charset="utf-8"', 'the same type a PUT would store, served back')
  })

  t.test('a bulk read marks a stale entry as GET does, and counts it as stale', async (t) => {
    const app = await makeApp(t)
    await bulk(app, 'put', { entries: [{ key: 'ageing', value: b64('v'), ttlSeconds: 1, staleSeconds: 30 }] })
    await new Promise((resolve) => setTimeout(resolve, 1100))
    const [entry] = (await bulk(app, 'get', { keys: ['ageing'] })).json().entries
    t.match(entry, { found: true, value: b64('v'), ttlSeconds: 0, stale: true })
    const metrics = await app.metrics.registry.getSingleMetricAsString('cache_lookups_total')
    t.match(metrics, /result="stale"\} 1/, 'counted as a stale read, as GET counts it')
  })

  t.test('a bulk read answers within its size limit, and names the entries to read alone', async (t) => {
    const app = await makeApp(t, { CACHE_BULK_MAX_RESPONSE_BYTES: '8192' })
    const big = (c: string) => b64(c.repeat(3000))
    await bulk(app, 'put', {
      entries: [{ key: 'a', value: big('a') }, { key: 'b', value: big('b') }, { key: 'c', value: big('c') },
        { key: 'd', value: b64('small') }]
    })
    const read = await bulk(app, 'get', { keys: ['a', 'b', 'c', 'd', 'none'] })
    t.equal(read.statusCode, 200)
    const entries = read.json().entries
    t.same(entries.map(({ key, found, tooLarge }: any) => [key, found, tooLarge === true]),
      [['a', true, false], ['b', true, false], ['c', true, true], ['d', true, false], ['none', false, false]],
      'what fits is answered in the order asked; the rest is named, not dropped')
    t.same(entries[2], { key: 'c', found: true, tooLarge: true })
    const valueBytes = entries.reduce((sum: number, { value }: any) =>
      sum + Buffer.from(value ?? '', 'base64').length, 0)
    t.ok(valueBytes <= 8192, `${valueBytes} value bytes answered`)
    const alone = await app.inject({ method: 'GET', url: '/cache/c' })
    t.equal(alone.body, 'c'.repeat(3000), 'and the one left out reads alone')
  })
}
