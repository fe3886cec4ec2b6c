// Session bodies are JSON that must arrive unchanged: numbers a double cannot carry are refused, never rounded or
// turned into null; malformed JSON gets the validation problem with a true detail; nothing is stored either way.
import t from 'tap'
import { firstInexactNumber } from '../../src/http/exact-json.js'
import { buildTestApp } from '../helpers/app.js'
import { startRedis } from '../helpers/redis-server.js'

const redis = await startRedis(t)
const JSON_TYPE = { 'content-type': 'application/json' }
const PATCH_TYPE = { 'content-type': 'application/merge-patch+json' }

for (const store of ['memory', 'redis'] as const) {
  t.test(`${store}: numbers JSON cannot carry are refused, and change nothing`, async (t) => {
    const app = await buildTestApp(t, { env: store === 'redis' ? { REDIS_URL: redis.url } : {} })
    const created = await app.inject({
      method: 'POST', url: '/sessions', headers: JSON_TYPE, payload: '{"data":{"keep":1,"big":"x"}}'
    })
    const { id } = created.json() as { id: string }
    const etag = created.headers.etag

    // 2^60 is a double exactly, but would be written back as 1152921504606847000: its text would change.
    for (const number of ['1e999', '-1e999', '12345678901234567890', '1e-400', '0.10000000000000000000001',
      '1152921504606846976']) {
      const patch = await app.inject({
        method: 'PATCH', url: `/sessions/${id}`, headers: PATCH_TYPE, payload: `{"keep":${number}}`
      })
      t.equal(patch.statusCode, 400, `PATCH with ${number}`)
      t.match(patch.json(), {
        type: 'urn:cache-service:problem:validation-failed',
        detail: /holds a number that cannot be stored exactly/
      })
      const put = await app.inject({
        method: 'PUT', url: `/sessions/${id}`, headers: JSON_TYPE, payload: `{"data":{"n":${number}}}`
      })
      t.equal(put.statusCode, 400, `PUT with ${number}`)
    }
    const after = await app.inject({ method: 'GET', url: `/sessions/${id}?touch=false` })
    t.same(after.json().data, { keep: 1, big: 'x' }, 'the session is as it was')
    t.equal(after.headers.etag, etag)
  })

  t.test(`${store}: numbers a double carries exactly are kept as they are`, async (t) => {
    const app = await buildTestApp(t, { env: store === 'redis' ? { REDIS_URL: redis.url } : {} })
    const payload = '{"data":{"a":9007199254740993e-16,"b":1.5e300,"c":-0.25,"d":9007199254740991,"e":5e-324,' +
      '"f":100,"g":1.0,"s":"12345678901234567890 and 1e999 in a string are text"}}'
    const created = await app.inject({ method: 'POST', url: '/sessions', headers: JSON_TYPE, payload })
    t.equal(created.statusCode, 201)
    t.same(created.json().data, {
      a: 0.9007199254740993,
      b: 1.5e300,
      c: -0.25,
      d: 9007199254740991,
      e: 5e-324,
      f: 100,
      g: 1,
      s: '12345678901234567890 and 1e999 in a string are text'
    })
  })

  t.test(`${store}: malformed JSON gets the validation problem, and a true detail`, async (t) => {
    const app = await buildTestApp(t, { env: store === 'redis' ? { REDIS_URL: redis.url } : {} })
    const created = await app.inject({ method: 'POST', url: '/sessions', headers: JSON_TYPE, payload: '{"data":{}}' })
    const { id } = created.json() as { id: string }
    const cases: Array<[string, Record<string, string>, string]> = [
      ['POST', JSON_TYPE, '{"data":'],
      ['PUT', JSON_TYPE, '{"data":{}} trailing'],
      ['PATCH', PATCH_TYPE, '{"a":}'],
      ['PATCH', PATCH_TYPE, '']
    ]
    for (const [method, headers, payload] of cases) {
      const url = method === 'POST' ? '/sessions' : `/sessions/${id}`
      const res = await app.inject({ method: method as 'POST', url, headers, payload })
      t.equal(res.statusCode, 400, `${method} ${JSON.stringify(payload)}`)
      t.same(res.json(), {
        type: 'urn:cache-service:problem:validation-failed',
        title: 'The request is not valid',
        status: 400,
        detail: 'The request body is not valid JSON'
      })
      t.notOk(res.body.includes('application/json'), 'the detail names no media type the route may not take')
    }
    const poisoned = await app.inject({
      method: 'PATCH', url: `/sessions/${id}`, headers: PATCH_TYPE, payload: '{"__proto__":{"admin":true}}'
    })
    t.equal(poisoned.statusCode, 400, 'a prototype-poisoning member is refused, as Fastify does')
    t.match(poisoned.json().detail, /not allowed/)
    t.same((await app.inject({ method: 'GET', url: `/sessions/${id}` })).json().data, {}, 'nothing was changed')
  })
}

t.test('the number scanner skips strings and escapes, and reads every number form', async (t) => {
  t.equal(firstInexactNumber('{"a":"1e999 \\" 1e999","b":[1,2.5,-3e2]}'), undefined)
  t.equal(firstInexactNumber('[0, -0, 1E+2, 1e-2]'), undefined)
  t.equal(firstInexactNumber('{"a\\\\":1e999}'), '1e999', 'an escaped backslash ends before the quote')
  t.equal(firstInexactNumber('[1, 2, 18446744073709551617]'), '18446744073709551617')
})
