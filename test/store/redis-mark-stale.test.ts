// Marking an entry stale keeps it for its stale window, measured exactly. The window was once computed from the
// key's PTTL and Redis's TIME, two clocks a script reads a moment apart: when a millisecond ticked between them, an
// entry written with no stale window got one of a millisecond and was kept (seen in CI under load). The contract
// suites show the behaviour once; here it is repeated until a tick between the two readings is all but certain.
import t from 'tap'
import { buildTestApp } from '../helpers/app.js'
import { startRedis } from '../helpers/redis-server.js'

const ROUNDS = 1000
const redis = await startRedis(t)
const app = await buildTestApp(t, { env: { REDIS_URL: redis.url, KEY_PREFIX: 'mark:', RATE_LIMIT_MAX: '0' } })
const admin = redis.admin()

t.test('an entry with no stale window is always removed, by key and by tag', async (t) => {
  let kept = 0
  let keptByTag = 0
  for (let i = 0; i < ROUNDS; i++) {
    await app.inject({ method: 'PUT', url: `/cache/k${i}?ttl=60`, payload: 'v' })
    await app.inject({ method: 'DELETE', url: `/cache/k${i}?mode=stale` })
    kept += await admin.exists(`mark:cache:k${i}`)

    await app.inject({ method: 'PUT', url: `/cache/t${i}?ttl=60`, headers: { 'cache-tag': `tag${i}` }, payload: 'v' })
    const res = await app.inject({ method: 'DELETE', url: `/cache?tag=tag${i}&mode=stale` })
    if (res.json().removed !== 1) keptByTag++
  }
  t.equal(kept, 0, `removed by key in ${ROUNDS} of ${ROUNDS} rounds`)
  t.equal(keptByTag, 0, `removed by tag in ${ROUNDS} of ${ROUNDS} rounds`)
})

t.test('an entry with a stale window keeps it whole, never more', async (t) => {
  let wrong = 0
  for (let i = 0; i < ROUNDS / 4; i++) {
    await app.inject({ method: 'PUT', url: `/cache/w${i}?ttl=60&stale=7`, payload: 'v' })
    await app.inject({ method: 'DELETE', url: `/cache/w${i}?mode=stale` })
    const [freshUntil, expiresAt] = await Promise.all([
      admin.hget(`mark:cache:w${i}`, 'f'), admin.call('PEXPIRETIME', `mark:cache:w${i}`)
    ])
    if (Number(expiresAt) - Number(freshUntil) !== 7000) wrong++
  }
  t.equal(wrong, 0, 'stale for 7 s from the mark, to the millisecond')
})
