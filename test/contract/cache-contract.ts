// The behaviour of /cache/:key that every store must give identically. Run by cache-stores.test.ts on every
// store.
import { setTimeout as sleep } from 'node:timers/promises'
import type { FastifyInstance } from 'fastify'
import type { Test } from 'tap'

export type AppFactory = (t: Test, env?: Record<string, string>) => Promise<FastifyInstance>

const PROBLEM = /^application\/problem\+json/

export function cacheContract (t: Test, makeApp: AppFactory): void {
  t.test('PUT creates, a second PUT replaces, GET returns the bytes, type, ETag and lifetime', async (t) => {
    const app = await makeApp(t)
    const created = await app.inject({
      method: 'PUT',
      url: '/cache/user:42?ttl=60',
      headers: { 'content-type': 'application/json' },
      payload: '{"name":"Ada"}'
    })
    t.equal(created.statusCode, 201)
    t.match(created.headers.etag, /^"[\w-]+"$/, 'a strong ETag')
    t.equal(created.body, '')

    const read = await app.inject({ method: 'GET', url: '/cache/user:42' })
    t.equal(read.statusCode, 200)
    t.equal(read.body, '{"name":"Ada"}')
    t.equal(read.headers['content-type'], 'application/json')
    t.equal(read.headers.etag, created.headers.etag)
    t.match(read.headers['cache-control'], /^max-age=(59|60)$/)

    const replaced = await app.inject({
      method: 'PUT', url: '/cache/user:42', headers: { 'content-type': 'text/plain' }, payload: 'Grace'
    })
    t.equal(replaced.statusCode, 204)
    t.not(replaced.headers.etag, created.headers.etag, 'a new representation has a new ETag')
    const reread = await app.inject({ method: 'GET', url: '/cache/user:42' })
    t.equal(reread.body, 'Grace')
    t.equal(reread.headers['content-type'], 'text/plain')
    t.equal(reread.headers.etag, replaced.headers.etag)
    t.match(reread.headers['cache-control'], /^max-age=(3599|3600)$/, 'the default TTL applies to a PUT without ?ttl')
  })

  t.test('the same bytes and type give the same ETag, a different type a different one', async (t) => {
    const app = await makeApp(t)
    const a = await put(app, 'same-a', 'hello', 'text/plain')
    const b = await put(app, 'same-b', 'hello', 'text/plain')
    const c = await put(app, 'same-c', 'hello', 'text/html')
    t.equal(a.headers.etag, b.headers.etag)
    t.not(a.headers.etag, c.headers.etag)
  })

  t.test('without Content-Type the value is application/octet-stream; an empty body is a value', async (t) => {
    const app = await makeApp(t)
    t.equal((await app.inject({ method: 'PUT', url: '/cache/untyped', payload: Buffer.from('raw') })).statusCode, 201)
    const untyped = await app.inject({ method: 'GET', url: '/cache/untyped' })
    t.equal(untyped.headers['content-type'], 'application/octet-stream')
    t.equal(untyped.body, 'raw')

    t.equal((await app.inject({ method: 'PUT', url: '/cache/empty' })).statusCode, 201)
    const empty = await app.inject({ method: 'GET', url: '/cache/empty' })
    t.equal(empty.statusCode, 200)
    t.equal(empty.rawPayload.length, 0)
    t.equal(empty.headers['content-type'], 'application/octet-stream')

    t.equal((await put(app, 'empty-json', '', 'application/json')).statusCode, 201, 'even when typed as JSON')
    t.equal((await app.inject({ method: 'GET', url: '/cache/empty-json' })).rawPayload.length, 0)
  })

  t.test('Cache-Content-Type names the stored type, whatever the body was sent as (as generated clients send it)',
    async (t) => {
      const app = await makeApp(t)
      const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 255])
      const stored = await put(app, 'named', png, 'application/octet-stream', { 'cache-content-type': 'image/png' })
      t.equal(stored.statusCode, 201)
      const read = await app.inject({ method: 'GET', url: '/cache/named' })
      t.equal(read.headers['content-type'], 'image/png')
      t.same(read.rawPayload, png)
      const json = await put(app, 'named-json', '{"a": 1}', 'text/plain', { 'cache-content-type': 'application/json' })
      t.equal(json.statusCode, 201, 'over any Content-Type of the body')
      t.equal((await app.inject({ method: 'GET', url: '/cache/named-json' })).headers['content-type'],
        'application/json')
      t.equal(json.headers.etag, (await put(app, 'plain-json', '{"a": 1}', 'application/json')).headers.etag,
        'the ETag is that of the stored type')

      for (const type of ['*/*', 'image/*', 'png', 'text/plain; charset']) {
        const refused = await put(app, 'named-bad', 'x', 'application/octet-stream', { 'cache-content-type': type })
        t.equal(refused.statusCode, 400, `${type} is no media type`)
        t.match(refused.headers['content-type'], PROBLEM)
      }
      t.equal((await app.inject({ method: 'GET', url: '/cache/named-bad' })).statusCode, 404, 'and nothing was stored')
    })

  t.test('a binary value holding every byte value round-trips exactly', async (t) => {
    const app = await makeApp(t)
    const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i))
    const doubled = Buffer.concat([bytes, bytes.reverse()])
    t.equal((await put(app, 'binary', doubled, 'application/octet-stream')).statusCode, 201)
    const read = await app.inject({ method: 'GET', url: '/cache/binary' })
    t.same(read.rawPayload, doubled)
    t.equal(read.headers['content-length'], String(doubled.length))
  })

  t.test('keys are opaque: reserved, percent-encoded and unicode keys, up to 512 characters, round-trip', async (t) => {
    const app = await makeApp(t)
    const keys = ['a/b', 'a b?c#d&e=f+g%h', '../etc/passwd', 'ключ-✓-😀', ':', '*', 'x'.repeat(512), 'é'.repeat(512),
      '😀'.repeat(512)]
    for (const [i, key] of keys.entries()) {
      const url = `/cache/${encodeURIComponent(key)}`
      const res = await app.inject({ method: 'PUT', url, payload: `value ${i}` })
      t.equal(res.statusCode, 201, `PUT ${key.slice(0, 20)}`)
    }
    for (const [i, key] of keys.entries()) {
      const read = await app.inject({ method: 'GET', url: `/cache/${encodeURIComponent(key)}` })
      t.equal(read.body, `value ${i}`, `each key holds its own value: ${key.slice(0, 20)}`)
    }
    t.equal((await app.inject({ method: 'GET', url: '/cache/a' })).statusCode, 404, 'a/b is not a path to a')
  })

  t.test('keys that are too long, empty, hold control characters or bad encodings get 400', async (t) => {
    const app = await makeApp(t)
    for (const [name, url] of [
      ['513 characters', `/cache/${'x'.repeat(513)}`],
      ['513 characters of four bytes', `/cache/${encodeURIComponent('😀'.repeat(513))}`],
      ['C1 control', '/cache/a%C2%85b'],
      ['NUL', '/cache/a%00b'],
      ['newline', '/cache/a%0Ab'],
      ['DEL', '/cache/a%7Fb'],
      ['invalid UTF-8', '/cache/a%FFb'],
      ['truncated escape', '/cache/a%E2%82']
    ] as const) {
      const res = await app.inject({ method: 'PUT', url, payload: 'x' })
      t.equal(res.statusCode, 400, name)
      t.match(res.headers['content-type'], PROBLEM, name)
    }
  })

  t.test('entries expire after their TTL', async (t) => {
    const app = await makeApp(t)
    t.equal((await app.inject({ method: 'PUT', url: '/cache/short?ttl=1', payload: 'brief' })).statusCode, 201)
    const fresh = await app.inject({ method: 'GET', url: '/cache/short' })
    t.equal(fresh.statusCode, 200)
    t.match(fresh.headers['cache-control'], /^max-age=[01]$/)
    await sleep(1100)
    t.equal((await app.inject({ method: 'GET', url: '/cache/short' })).statusCode, 404)
    t.equal((await app.inject({ method: 'HEAD', url: '/cache/short' })).statusCode, 404)
    t.equal((await app.inject({ method: 'DELETE', url: '/cache/short' })).statusCode, 404)
    t.equal((await app.inject({ method: 'PUT', url: '/cache/short', payload: 'again' })).statusCode, 201,
      'a PUT after expiry creates anew')
  })

  t.test('a bad ?ttl is refused with 400 and changes nothing', async (t) => {
    const app = await makeApp(t, { CACHE_MAX_TTL_SECONDS: '100', CACHE_DEFAULT_TTL_SECONDS: '60' })
    await put(app, 'ttl', 'original', 'text/plain')
    for (const ttl of ['0', '-1', '1.5', 'abc', '', '101', '1e2', ' 5', '0x10', '99999999999']) {
      const url = `/cache/ttl?ttl=${encodeURIComponent(ttl)}`
      const res = await app.inject({ method: 'PUT', url, payload: 'changed' })
      t.equal(res.statusCode, 400, `ttl=${JSON.stringify(ttl)}`)
      t.match(res.json(), { status: 400, errors: [{ in: 'querystring', path: '/ttl' }] })
    }
    t.equal((await app.inject({ method: 'PUT', url: '/cache/ttl?ttl=100', payload: 'max' })).statusCode, 204)
    t.equal((await app.inject({ method: 'GET', url: '/cache/ttl' })).body, 'max')
  })

  t.test('a body over CACHE_MAX_VALUE_BYTES gets 413 and changes nothing; one at the limit is stored', async (t) => {
    const app = await makeApp(t, { CACHE_MAX_VALUE_BYTES: '1024' })
    await put(app, 'big', 'small', 'text/plain')
    const tooBig = await put(app, 'big', Buffer.alloc(1025, 1), 'application/octet-stream')
    t.equal(tooBig.statusCode, 413)
    t.match(tooBig.headers['content-type'], PROBLEM)
    t.match(tooBig.json(), { status: 413, type: 'urn:cache-service:problem:payload-too-large' })
    t.equal((await app.inject({ method: 'GET', url: '/cache/big' })).body, 'small')
    t.equal((await put(app, 'big', Buffer.alloc(1024, 1), 'application/octet-stream')).statusCode, 204)
  })

  t.test('HEAD gives the status and headers of GET, without a body', async (t) => {
    const app = await makeApp(t)
    await put(app, 'head', 'some bytes', 'text/plain')
    const get = await app.inject({ method: 'GET', url: '/cache/head' })
    const head = await app.inject({ method: 'HEAD', url: '/cache/head' })
    t.equal(head.statusCode, 200)
    t.equal(head.body, '')
    for (const name of ['etag', 'content-type', 'content-length']) {
      t.equal(head.headers[name], get.headers[name], name)
    }
    // The lifetime is counted down between the two requests, so it may have crossed a second.
    t.match(head.headers['cache-control'], /^max-age=(3599|3600)$/)
    t.equal((await app.inject({ method: 'HEAD', url: '/cache/absent' })).statusCode, 404)
  })

  t.test('DELETE removes an entry once: 204, then 404', async (t) => {
    const app = await makeApp(t)
    await put(app, 'gone', 'x', 'text/plain')
    t.equal((await app.inject({ method: 'DELETE', url: '/cache/gone' })).statusCode, 204)
    t.equal((await app.inject({ method: 'GET', url: '/cache/gone' })).statusCode, 404)
    const again = await app.inject({ method: 'DELETE', url: '/cache/gone' })
    t.equal(again.statusCode, 404)
    t.match(again.json(), { type: 'urn:cache-service:problem:not-found', title: String, status: 404, detail: String })
  })

  t.test('PUT preconditions: If-None-Match: * creates only; If-Match writes only on a match', async (t) => {
    const app = await makeApp(t)
    t.equal((await put(app, 'cond', 'v1', 'text/plain', { 'if-none-match': '*' })).statusCode, 201)
    const v1 = await app.inject({ method: 'GET', url: '/cache/cond' })
    const etag = v1.headers.etag as string

    const refused = [
      ['If-None-Match: * on an existing entry', { 'if-none-match': '*' }],
      ['If-None-Match with its ETag', { 'if-none-match': etag }],
      ['If-None-Match with its weak ETag', { 'if-none-match': `W/${etag}` }],
      ['If-Match with another ETag', { 'if-match': '"other"' }],
      ['If-Match with its weak ETag (strong comparison)', { 'if-match': `W/${etag}` }]
    ] as const
    for (const [name, headers] of refused) {
      const res = await put(app, 'cond', 'nope', 'text/plain', headers)
      t.equal(res.statusCode, 412, name)
      t.match(res.json(), { type: 'urn:cache-service:problem:precondition-failed', status: 412 }, name)
    }
    t.equal((await app.inject({ method: 'GET', url: '/cache/cond' })).body, 'v1', 'refused writes changed nothing')

    const listed = await put(app, 'cond', 'v2', 'text/plain', { 'if-match': `"other", ${etag}` })
    t.equal(listed.statusCode, 204, 'If-Match with a list that holds its ETag')
    t.equal((await put(app, 'cond', 'v3', 'text/plain', { 'if-match': '*' })).statusCode, 204, 'If-Match: *')
    t.equal((await put(app, 'cond', 'v4', 'text/plain', { 'if-none-match': '"other"' })).statusCode, 204,
      'If-None-Match with another ETag')
    t.equal((await put(app, 'absent', 'x', 'text/plain', { 'if-match': '*' })).statusCode, 412,
      'If-Match: * on an absent entry')
    t.equal((await app.inject({ method: 'GET', url: '/cache/absent' })).statusCode, 404, 'and it was not created')
  })

  t.test('concurrent If-None-Match: * creates: exactly one wins', async (t) => {
    const app = await makeApp(t)
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) =>
      put(app, 'race', `writer ${i}`, 'text/plain', { 'if-none-match': '*' })))
    const codes = results.map((res) => res.statusCode).sort()
    t.same(codes, [201, ...Array(19).fill(412)])
  })

  t.test('malformed conditional headers get 400 and change nothing', async (t) => {
    const app = await makeApp(t)
    await put(app, 'malformed', 'v1', 'text/plain')
    for (const value of ['abc', '"unterminated', '"a" "b"', 'W/abc', '*, "a"']) {
      const res = await put(app, 'malformed', 'v2', 'text/plain', { 'if-match': value })
      t.equal(res.statusCode, 400, `If-Match: ${value}`)
      t.match(res.json(), { errors: [{ in: 'headers', path: '/if-match' }] })
    }
    t.equal((await app.inject({ method: 'GET', url: '/cache/malformed' })).body, 'v1')
  })

  t.test('GET preconditions: a matching If-None-Match gets 304 with the ETag, If-Match a 412', async (t) => {
    const app = await makeApp(t)
    const { headers: { etag } } = await put(app, 'conditional-get', 'v1', 'text/plain')
    for (const value of [etag as string, `W/${etag}`, `"a", ${etag}`, '*']) {
      const res = await request(app, 'GET', 'conditional-get', { 'if-none-match': value })
      t.equal(res.statusCode, 304, `If-None-Match: ${value}`)
      t.equal(res.headers.etag, etag)
      t.match(res.headers['cache-control'], /^max-age=\d+$/)
      t.equal(res.body, '')
    }
    const other = await request(app, 'GET', 'conditional-get', { 'if-none-match': '"a"' })
    t.equal(other.statusCode, 200)
    t.equal(other.body, 'v1')
    const mismatch = await request(app, 'GET', 'conditional-get', { 'if-match': '"a"' })
    t.equal(mismatch.statusCode, 412)
  })

  t.test('DELETE preconditions: If-Match deletes only on a match', async (t) => {
    const app = await makeApp(t)
    const { headers: { etag } } = await put(app, 'cond-delete', 'v1', 'text/plain')
    const refused = await request(app, 'DELETE', 'cond-delete', { 'if-match': '"other"' })
    t.equal(refused.statusCode, 412)
    t.equal((await app.inject({ method: 'GET', url: '/cache/cond-delete' })).statusCode, 200, 'still there')
    const done = await request(app, 'DELETE', 'cond-delete', { 'if-match': etag as string })
    t.equal(done.statusCode, 204)
    const absent = await request(app, 'DELETE', 'cond-delete', { 'if-match': '*' })
    t.equal(absent.statusCode, 412, 'If-Match on an absent entry is a failed precondition (RFC 9110 §13.2.2)')
  })

  t.test('readiness answers while the store does', async (t) => {
    const app = await makeApp(t)
    const res = await app.inject({ method: 'GET', url: '/readyz' })
    t.equal(res.statusCode, 200)
    t.same(res.json(), { status: 'ready' })
  })
}

async function put (app: FastifyInstance, key: string, payload: string | Buffer, contentType: string,
  headers: Record<string, string> = {}) {
  return await app.inject({
    method: 'PUT',
    url: `/cache/${encodeURIComponent(key)}`,
    headers: { 'content-type': contentType, ...headers },
    payload
  })
}

async function request (app: FastifyInstance, method: 'GET' | 'DELETE', key: string, headers: Record<string, string>) {
  return await app.inject({ method, url: `/cache/${encodeURIComponent(key)}`, headers })
}
