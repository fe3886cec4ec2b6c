// TLS to Redis, as Azure requires it: a CA made for the test, the server name checked, and clear failures.
import t from 'tap'
import { buildTestApp } from '../helpers/app.js'
import { startRedis } from '../helpers/redis-server.js'
import { makeCertificates } from '../helpers/tls.js'

const certificates = makeCertificates(t)
const server = await startRedis(t, { tls: certificates, args: ['--requirepass', 'access-key-1'] })

t.test('rediss:// with a custom CA and server name serves requests', async (t) => {
  const app = await buildTestApp(t, {
    env: {
      REDIS_URL: server.url,
      REDIS_PASSWORD: 'access-key-1',
      REDIS_TLS_CA_FILE: certificates.caFile,
      REDIS_TLS_SERVERNAME: 'localhost'
    }
  })
  t.equal((await app.inject({ method: 'PUT', url: '/cache/over-tls', payload: 'secret' })).statusCode, 201)
  t.equal((await app.inject({ method: 'GET', url: '/cache/over-tls' })).body, 'secret')
  t.equal((await app.inject({ method: 'GET', url: '/readyz' })).statusCode, 200)
})

t.test('REDIS_HOST, REDIS_PORT and REDIS_TLS do the same, as for an Azure access key', async (t) => {
  const app = await buildTestApp(t, {
    env: {
      REDIS_HOST: '127.0.0.1',
      REDIS_PORT: String(server.port),
      REDIS_TLS: 'true',
      REDIS_PASSWORD: 'access-key-1',
      REDIS_TLS_CA_FILE: certificates.caFile,
      REDIS_TLS_SERVERNAME: 'localhost'
    }
  })
  t.equal((await app.inject({ method: 'PUT', url: '/cache/host-port', payload: 'x' })).statusCode, 201)
})

t.test('a certificate that does not verify fails startup at once, with a clear error', async (t) => {
  const base = { REDIS_URL: server.url, REDIS_PASSWORD: 'access-key-1' }
  await t.rejects(buildTestApp(t, { env: { ...base, REDIS_TLS_SERVERNAME: 'localhost' } }),
    /TLS certificate was not accepted/, 'without the CA')
  const otherName = { ...base, REDIS_TLS_CA_FILE: certificates.caFile, REDIS_TLS_SERVERNAME: 'cache.example' }
  await t.rejects(buildTestApp(t, { env: otherName }), /TLS certificate was not accepted/, 'with another server name')
})
