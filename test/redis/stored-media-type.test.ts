// A read never answers 5xx because of what was stored: an entry written before media types were checked (by a bulk
// write that took any string) holds a type no header can carry, and is served as the bytes it is.
import t from 'tap'
import { buildTestApp } from '../helpers/app.js'
import { startRedis } from '../helpers/redis-server.js'

t.test('an entry stored with a type no header can carry is served as application/octet-stream', async (t) => {
  const redis = await startRedis(t)
  const app = await buildTestApp(t, { env: { REDIS_URL: redis.url, KEY_PREFIX: 'legacy:' } })
  const admin = redis.admin()
  for (const [i, stored] of ['text/plain;\u0007', 'text/plain\u0000', 'text/\u0100', '*/*'].entries()) {
    t.equal((await app.inject({ method: 'PUT', url: `/cache/old-${i}`, payload: 'bytes' })).statusCode, 201)
    await admin.hset(`legacy:cache:old-${i}`, 't', stored)

    for (const method of ['GET', 'HEAD'] as const) {
      const res = await app.inject({ method, url: `/cache/old-${i}` })
      t.equal(res.statusCode, 200, `${method} of an entry stored as ${JSON.stringify(stored)}`)
      t.equal(res.headers['content-type'], 'application/octet-stream')
    }
    const bulk = await app.inject({ method: 'POST', url: '/cache-bulk/get', payload: { keys: [`old-${i}`] } })
    t.match(bulk.json().entries[0], { found: true, contentType: 'application/octet-stream' })
  }
})
