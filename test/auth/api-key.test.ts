// AUTH_MODE=api-key: hashed keys with names and scopes, several at once so keys rotate without downtime, and
// per-caller isolation of cache keys.
import { randomBytes } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import t from 'tap'
import { hashApiKey } from '../../src/auth/api-keys.js'
import { buildTestApp } from '../helpers/app.js'

const ordersKey = randomBytes(32).toString('base64url')
const ordersNextKey = randomBytes(32).toString('base64url')
const billingKey = randomBytes(32).toString('base64url')
const readerKey = randomBytes(32).toString('base64url')
const API_KEYS = JSON.stringify([
  { name: 'orders', sha256: hashApiKey(ordersKey), scopes: ['cache:read', 'cache:write', 'sessions:write'] },
  { name: 'orders', sha256: hashApiKey(ordersNextKey), scopes: ['cache:read', 'cache:write', 'sessions:write'] },
  { name: 'billing', sha256: hashApiKey(billingKey), scopes: ['cache:read', 'cache:write'] },
  { name: 'reader', sha256: hashApiKey(readerKey), scopes: ['cache:read'] }
])
const bearer = (key: string) => ({ authorization: `Bearer ${key}` })
const put = async (app: FastifyInstance, key: string, payload: string, as: string) =>
  await app.inject({ method: 'PUT', url: `/cache/${key}`, payload, headers: bearer(as) })
const get = async (app: FastifyInstance, key: string, as: string) =>
  await app.inject({ method: 'GET', url: `/cache/${key}`, headers: bearer(as) })
const del = async (app: FastifyInstance, key: string, as: string) =>
  await app.inject({ method: 'DELETE', url: `/cache/${key}`, headers: bearer(as) })

t.test('a configured key gets in with its scopes; others do not', async (t) => {
  const app = await buildTestApp(t, { env: { AUTH_MODE: 'api-key', API_KEYS } })
  t.equal((await put(app, 'k', 'v', ordersKey)).statusCode, 201)
  t.equal((await get(app, 'k', readerKey)).statusCode, 200)
  const denied = await put(app, 'k', 'v', readerKey)
  t.equal(denied.statusCode, 403, 'the reader may not write')
  t.match(denied.json(), {
    type: 'urn:cache-service:problem:forbidden', detail: 'This operation needs the scope cache:write'
  })

  for (const [name, headers] of [
    ['no header', {}],
    ['an unknown key', bearer(randomBytes(32).toString('base64url'))],
    ['a key one character off', bearer(`${ordersKey.slice(0, -1)}x`)],
    ['the key\'s hash itself', bearer(hashApiKey(ordersKey))],
    ['another scheme', { authorization: `Basic ${ordersKey}` }]
  ] as const) {
    const res = await app.inject({ method: 'GET', url: '/cache/k', headers })
    t.equal(res.statusCode, 401, name)
    t.match(res.headers['www-authenticate'], /^Bearer realm="cache-service"/)
  }
})

t.test('two keys for one caller: rotate by adding the new key, moving callers, then removing the old', async (t) => {
  const app = await buildTestApp(t, { env: { AUTH_MODE: 'api-key', API_KEYS, KEY_ISOLATION: 'caller' } })
  t.equal((await put(app, 'k', 'v', ordersKey)).statusCode, 201)
  const read = await get(app, 'k', ordersNextKey)
  t.equal(read.body, 'v', 'both keys are the same caller, with the same namespace')
})

t.test('KEY_ISOLATION=caller: one caller cannot see, overwrite or delete another\'s entries', async (t) => {
  const app = await buildTestApp(t, { env: { AUTH_MODE: 'api-key', API_KEYS, KEY_ISOLATION: 'caller' } })
  await put(app, 'shared-name', 'orders data', ordersKey)
  t.equal((await get(app, 'shared-name', billingKey)).statusCode, 404)
  t.equal((await del(app, 'shared-name', billingKey)).statusCode, 404)
  const billing = await put(app, 'shared-name', 'billing data', billingKey)
  t.equal(billing.statusCode, 201, 'billing creates its own entry under the same name')
  t.equal((await get(app, 'shared-name', ordersKey)).body, 'orders data')
  t.equal((await get(app, 'shared-name', billingKey)).body, 'billing data')

  const shared = await buildTestApp(t, { env: { AUTH_MODE: 'api-key', API_KEYS } })
  await put(shared, 'shared-name', 'orders data', ordersKey)
  t.equal((await get(shared, 'shared-name', billingKey)).body,
    'orders data', 'without isolation, keys are shared')
})
