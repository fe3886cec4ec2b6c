// Redis's clock as a replica reads it (redis/clock.ts), against a real Redis: ahead of Redis's TIME, never behind it,
// and trusted soon after start even when the first TIME waited for a slow connection to open.
import t from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import { RedisClock } from '../../src/redis/clock.js'
import { startRedis } from '../helpers/redis-server.js'

const redis = await startRedis(t)
const admin = redis.admin()

async function redisTimeMs (): Promise<number> {
  const [seconds, micros] = await admin.time()
  return Number(seconds) * 1000 + Number(micros) / 1000
}

t.test('a reading is never behind Redis\'s clock, and close to it', async (t) => {
  const clock = new RedisClock(redis.admin())
  await sleep(100)
  for (let i = 0; i < 20; i++) {
    const redisNow = await redisTimeMs()
    const reading = clock.now()
    t.ok(reading !== undefined && reading >= redisNow - 0.001, `reading ${i} is not behind Redis (TIME taken before)`)
    t.ok(reading !== undefined && reading - redisNow < 150, `reading ${i} is within a round trip of it`)
    await sleep(5)
  }
})

t.test('a first TIME slowed by the connection opening is asked again, so reads need not wait a second', async (t) => {
  // A hung server accepts the connection (the kernel does) but answers nothing: the first sample waits 300 ms.
  redis.pause()
  const clock = new RedisClock(redis.admin())
  await sleep(300)
  redis.resume()
  await sleep(200)
  const reading = clock.now()
  t.not(reading, undefined, 'trusted without another read having asked')
  t.ok(Math.abs(reading! - await redisTimeMs()) < 150, 'and right')
})
