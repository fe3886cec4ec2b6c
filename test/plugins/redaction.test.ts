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
