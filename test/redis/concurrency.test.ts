// Two replicas of the service sharing one Redis, racing: reads see the writes before them, conditional updates have
// exactly one winner per entity tag, and concurrent merge patches all land.
import t from 'tap'
import { buildTestApp } from '../helpers/app.js'
import { startRedis } from '../helpers/redis-server.js'

const redis = await startRedis(t)
// A thousand requests injected at once can hold the event loop for over a second on a busy machine (a CI run with
// coverage): load shedding would refuse them, and the command timeout would fire before the loop reads replies that
// have long arrived. What is tested here is the store's atomicity, so neither may interfere.
const env = { REDIS_URL: redis.url, MAX_EVENT_LOOP_DELAY_MS: '0', REDIS_COMMAND_TIMEOUT_MS: '30000' }
const replicas = [await buildTestApp(t, { env }), await buildTestApp(t, { env })]
const other = (i: number) => replicas[(i + 1) % 2]!
const replica = (i: number) => replicas[i % 2]!

t.test('read-after-write holds across replicas', async (t) => {
  const reads = await Promise.all(Array.from({ length: 100 }, async (_, i) => {
    const written = await replica(i).inject({ method: 'PUT', url: `/cache/raw-${i}`, payload: `value ${i}` })
    const read = await other(i).inject({ method: 'GET', url: `/cache/raw-${i}` })
    return written.statusCode === 201 && read.statusCode === 200 && read.body === `value ${i}` &&
      read.headers.etag === written.headers.etag
  }))
  t.equal(reads.filter(Boolean).length, 100, 'every write was read back, with its ETag, from the other replica')
})

t.test('1000 conditional updates of one key: one winner per ETag, and the final value is a winner\'s', async (t) => {
  const first = await replicas[0]!.inject({ method: 'PUT', url: '/cache/contested', payload: 'initial' })
  const initial = first.headers.etag as string

  // All at once against the same tag: exactly one may win.
  const racers = await Promise.all(Array.from({ length: 1000 }, async (_, i) => await replica(i).inject({
    method: 'PUT', url: '/cache/contested', headers: { 'if-match': initial }, payload: `racer ${i}`
  })))
  const winners = racers.flatMap((res, i) => (res.statusCode === 204 ? [i] : []))
  t.equal(winners.length, 1, 'one winner')
  t.same(racers.filter((res) => res.statusCode !== 412 && res.statusCode !== 204).map((res) => res.statusCode), [],
    'every other one got 412')
  t.equal((await replicas[1]!.inject({ method: 'GET', url: '/cache/contested' })).body, `racer ${winners[0]}`)

  // Optimistic read-modify-write loops on both replicas: each tag is won at most once, and the last win stays.
  const wins = new Map<string, string[]>()
  let attempts = 0
  await Promise.all(Array.from({ length: 20 }, async (_, worker) => {
    for (let round = 0; round < 5; round++) {
      for (;;) {
        attempts++
        const current = await replica(worker).inject({ method: 'GET', url: '/cache/contested' })
        t.equal(current.statusCode, 200)
        const value = `worker ${worker} round ${round}`
        const put = await other(worker).inject({
          method: 'PUT', url: '/cache/contested', headers: { 'if-match': current.headers.etag }, payload: value
        })
        if (put.statusCode === 412) continue
        t.equal(put.statusCode, 204)
        wins.set(current.headers.etag as string, [...wins.get(current.headers.etag as string) ?? [], value])
        break
      }
    }
  }))
  t.equal([...wins.values()].flat().length, 100, `100 updates won in ${attempts} attempts`)
  t.same([...wins.values()].filter((won) => won.length > 1), [], 'no ETag was won twice')
  const final = (await replicas[0]!.inject({ method: 'GET', url: '/cache/contested' })).body
  t.ok([...wins.values()].flat().includes(final), `the final value (${final}) is one a winner wrote`)
})

t.test('200 concurrent merge patches of one session from two replicas: every member lands', async (t) => {
  const created = await replicas[0]!.inject({
    method: 'POST', url: '/sessions', headers: { 'content-type': 'application/json' }, payload: { data: {} }
  })
  const { id } = created.json() as { id: string }
  const patches = await Promise.all(Array.from({ length: 200 }, async (_, i) => await replica(i).inject({
    method: 'PATCH',
    url: `/sessions/${id}`,
    headers: { 'content-type': 'application/merge-patch+json' },
    payload: { [`member-${i}`]: i }
  })))
  t.same(patches.filter((res) => res.statusCode !== 200).map((res) => res.body), [], 'every patch was applied')
  const { data } = (await replicas[1]!.inject({ method: 'GET', url: `/sessions/${id}` })).json() as
    { data: Record<string, number> }
  t.same(data, Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`member-${i}`, i])))
  const tags = new Set(patches.map((res) => res.headers.etag))
  t.equal(tags.size, 200, 'each patch produced a version of its own')
})
