// When the refresher asks for tokens: early enough for Azure's 3-minute floor, never in a tight loop.
import t from 'tap'
import {
  AZURE_MARGIN_MS, cachedCopyRetryDelay, MIN_REFRESH_DELAY_MS, refreshDelay, retryDelay
} from '../../src/redis/token-schedule.js'

const MINUTE = 60_000
const NOW = Date.parse('2026-11-21T12:00:00Z')
const token = (lifetimeMs: number, refreshAfterMs?: number) => ({
  expiresOnTimestamp: NOW + lifetimeMs,
  refreshAfterTimestamp: refreshAfterMs === undefined ? undefined : NOW + refreshAfterMs
})

t.test('tokens of 60 to 90 minutes are refreshed at 75-80% of their lifetime', async (t) => {
  for (const minutes of [60, 75, 90]) {
    const lifetime = minutes * MINUTE
    t.equal(refreshDelay(token(lifetime), NOW, () => 0), lifetime * 0.75, `${minutes} min, least jitter`)
    t.equal(refreshDelay(token(lifetime), NOW, () => 1), lifetime * 0.8, `${minutes} min, most jitter`)
  }
})

t.test('long-lived managed-identity tokens follow the same fraction, far ahead of expiry', async (t) => {
  t.equal(refreshDelay(token(24 * 60 * MINUTE), NOW, () => 0), 18 * 60 * MINUTE)
})

t.test('short tokens are refreshed a fixed margin ahead, and never later than 3 minutes before expiry', async (t) => {
  t.equal(refreshDelay(token(10 * MINUTE), NOW, () => 0), 5 * MINUTE, '10 min: 5 min ahead rather than 2.5')
  t.equal(refreshDelay(token(4 * MINUTE), NOW, () => 0), 1 * MINUTE, '4 min: at Azure\'s 3-minute floor')
  for (let i = 0; i < 1000; i++) {
    const lifetime = 3.5 * MINUTE + Math.random() * 48 * 60 * MINUTE
    const delay = refreshDelay(token(lifetime), NOW)
    if (lifetime - delay < AZURE_MARGIN_MS) t.fail(`a ${lifetime} ms token refreshed ${lifetime - delay} ms ahead`)
  }
  t.pass('1000 random lifetimes from 3.5 min to 48 h keep the 3-minute floor')
})

t.test('tokens of seconds, as in tests, are refreshed at the fraction, but not sooner than the floor', async (t) => {
  t.equal(refreshDelay(token(2000), NOW, () => 0), 1500)
  t.equal(refreshDelay(token(200), NOW, () => 0), 150)
  t.equal(refreshDelay(token(100), NOW, () => 0), 75, 'a token about to expire is refreshed before it does')
  t.equal(refreshDelay(token(2001), NOW, () => 0), 1500, 'in whole milliseconds')
  t.ok(refreshDelay(token(1000), NOW) >= Math.min(MIN_REFRESH_DELAY_MS, 500))
})

t.test('refreshAfterTimestamp is honoured when it comes earlier', async (t) => {
  t.equal(refreshDelay(token(60 * MINUTE, 30 * MINUTE), NOW, () => 0), 30 * MINUTE, 'earlier: taken')
  t.equal(refreshDelay(token(60 * MINUTE, 50 * MINUTE), NOW, () => 0), 45 * MINUTE, 'later than the fraction: not')
  t.equal(refreshDelay(token(60 * MINUTE, -1), NOW, () => 0), 45 * MINUTE, 'in the past: ignored')
})

t.test('a cached copy is asked for again a few times before the floor, never in a tight loop', async (t) => {
  const current = token(60 * MINUTE)
  let now = NOW + 45 * MINUTE
  const waits: number[] = []
  while (now < current.expiresOnTimestamp - AZURE_MARGIN_MS) {
    const wait = cachedCopyRetryDelay(current, now)
    waits.push(wait)
    now += wait
  }
  t.ok(waits.length >= 3, `${waits.length} tries before the floor`)
  t.ok(waits.every((wait) => wait >= 1000), 'each at least a second apart')
  t.equal(waits[0], 4 * MINUTE, 'the first a third of the 12 minutes left before the floor')

  const short = token(2000)
  t.equal(cachedCopyRetryDelay(short, NOW + 1600), MIN_REFRESH_DELAY_MS, 'short tokens: a quarter of what is left')
  t.equal(cachedCopyRetryDelay(token(60 * MINUTE), NOW + 58 * MINUTE), 30_000, 'inside the floor: at most 30 s')
})

t.test('failed attempts back off exponentially, with jitter, up to the cap', async (t) => {
  const backoff = { baseDelayMs: 1000, maxDelayMs: 30_000 }
  t.same([1, 2, 3, 4, 5, 6, 7].map((attempt) => retryDelay(attempt, backoff, () => 1)),
    [1000, 2000, 4000, 8000, 16_000, 30_000, 30_000])
  t.equal(retryDelay(3, backoff, () => 0), 2000, 'jitter takes off up to half')
})
