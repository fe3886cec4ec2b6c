// No secret in the logs: API keys, bearer tokens, session ids, passwords; captured and searched.
import { randomBytes } from 'node:crypto'
import t from 'tap'
import { hashApiKey } from '../../src/auth/api-keys.js'
import { buildTestApp, captureLogs } from '../helpers/app.js'
import { startIdentityProvider } from '../helpers/identity-provider.js'

t.test('api-key mode: neither good nor bad keys, nor session ids, reach the log', async (t) => {
  const key = randomBytes(32).toString('base64url')
  const wrongKey = randomBytes(32).toString('base64url')
  const logs = captureLogs()
  const app = await buildTestApp(t, {
    env: {
      AUTH_MODE: 'api-key',
      API_KEYS: JSON.stringify([{ name: 'orders', sha256: hashApiKey(key), scopes: ['admin'] }])
    },
    logs
  })
  const json = { 'content-type': 'application/json', authorization: `Bearer ${key}` }
  const payload = '{"data":{"user":"ada"}}'
  const created = await app.inject({ method: 'POST', url: '/sessions', headers: json, payload })
  const id = created.json().id as string
  await app.inject({ method: 'GET', url: `/sessions/${id}`, headers: json })
  await app.inject({ method: 'GET', url: `/sessions/${id}`, headers: { authorization: `Bearer ${wrongKey}` } })
  await app.inject({ method: 'DELETE', url: `/sessions/${id}?x=1`, headers: json })
  await app.inject({ method: 'PUT', url: '/cache/k', headers: { authorization: `Bearer ${key}` }, payload: 'v' })

  const text = logs.text()
  t.match(text, /authentication failed/, 'the failure is logged')
  t.match(text, /"url":"\/sessions\/\[redacted\]\?x=1"/, 'with the id cut from the URL')
  for (const [name, secret] of [['the key', key], ['the wrong key', wrongKey], ['the session id', id]]) {
    t.notOk(text.includes(secret!), `${name} is not in the log`)
  }
})

t.test('jwt mode: no token, valid or not, reaches the log', async (t) => {
  const idp = await startIdentityProvider(t)
  const logs = captureLogs()
  const env = { AUTH_MODE: 'jwt', JWT_ISSUER: idp.issuer, JWT_AUDIENCE: idp.audience }
  const app = await buildTestApp(t, { env, logs })
  const read = async (token: string) =>
    await app.inject({ method: 'GET', url: '/cache/k', headers: { authorization: `Bearer ${token}` } })
  const good = idp.token({ roles: ['cache:read'] })
  const expired = idp.token({ roles: ['cache:read'], exp: Math.floor(Date.now() / 1000) - 3600 })
  t.equal((await read(good)).statusCode, 404)
  t.equal((await read(expired)).statusCode, 401)
  const text = logs.text()
  t.match(text, /authentication failed/)
  for (const token of [good, expired]) {
    for (const part of token.split('.')) t.notOk(text.includes(part), 'no part of a token is in the log')
  }
})

t.test('a session id never reaches the log or an error body, whatever form its path takes', async (t) => {
  const logs = captureLogs()
  const app = await buildTestApp(t, { logs })
  const created = await app.inject({
    method: 'POST', url: '/sessions', headers: { 'content-type': 'application/json' }, payload: '{"data":{}}'
  })
  const id = created.json().id as string
  const encodedFirst = `%${id.charCodeAt(0).toString(16)}${id.slice(1)}`
  const variants: Array<[string, number]> = [
    [`/%73essions/${id}`, 200], // the router decodes the path: this is GET /sessions/:id
    [`/sessions/${encodedFirst}`, 200], // an id partly percent-encoded is the same id
    [`//sessions/${id}`, 404],
    [`/sessions%2F${id}`, 404],
    [`/sessions/${id}/`, 404],
    [`/SESSIONS/${id}`, 404],
    [`/sessions/${id}?touch=maybe`, 400]
  ]
  for (const [url, status] of variants) {
    const res = await app.inject({ method: 'GET', url })
    t.equal(res.statusCode, status, url.replace(id.slice(1), '<id>'))
    // A 200 is the session itself, which names its id; an error never does.
    if (status >= 400) t.notOk(res.body.includes(id.slice(1)), 'the error does not echo the id')
  }
  const post = await app.inject({ method: 'POST', url: `/%73essions/${id}` })
  t.equal(post.statusCode, 405, 'a 405 on a session path')
  const text = logs.text()
  t.notOk(text.includes(id.slice(1)), 'no form of the id is in the log')
  t.match(text, /"url":"\/sessions\/\[redacted\]"/, 'a matched session route logs its template')
  t.match(text, /"url":"\[no matching route\]"/, 'an unmatched path is not logged at all')
})

t.test('cache keys are logged, decoded and re-encoded from the route', async (t) => {
  const logs = captureLogs()
  const app = await buildTestApp(t, { logs })
  await app.inject({ method: 'GET', url: '/%63ache/user%3A42?x=1' })
  t.match(logs.text(), /"url":"\/cache\/user%3A42\?x=1"/)
})
