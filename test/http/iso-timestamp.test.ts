// The answers' timestamps are written as Date#toISOString writes them, which clients parse.
import t from 'tap'
import { isoTimestamp } from '../../src/http/iso-timestamp.js'

const DAY = 86_400_000

t.test('random instants of four-digit years are written as toISOString writes them', async (t) => {
  const differing: number[] = []
  for (let i = 0; i < 200_000; i++) {
    const ms = Math.floor(Math.random() * 253_402_300_800_000)
    if (isoTimestamp(ms) !== new Date(ms).toISOString()) differing.push(ms)
  }
  t.same(differing, [])
})

t.test('every edge of a day, of a month and of a leap year, and the ends of the range', async (t) => {
  const instants = [0, 1, 999, 1000, 59_999, 60_000, 3_599_999, 3_600_000, DAY - 1, DAY, DAY + 1,
    Date.UTC(2024, 1, 29, 23, 59, 59, 999), Date.UTC(2024, 2, 1), Date.UTC(2000, 1, 29, 12),
    Date.UTC(1999, 11, 31, 23, 59, 59, 999), Date.UTC(2100, 1, 28, 23, 59, 59, 999), Date.UTC(2100, 2, 1),
    253_402_300_799_999]
  for (const ms of instants) t.equal(isoTimestamp(ms), new Date(ms).toISOString(), String(ms))
})

t.test('instants outside four-digit years, and fractions of a millisecond, are toISOString\'s own', async (t) => {
  for (const ms of [-1, -DAY, 253_402_300_800_000, 8.64e15, 1.5, Date.now() + 0.25]) {
    t.equal(isoTimestamp(ms), new Date(ms).toISOString(), String(ms))
  }
  t.throws(() => isoTimestamp(Number.NaN), RangeError, 'an invalid instant throws, as toISOString does')
})

t.test('instants over more days than are kept, in turn and again, are still right', async (t) => {
  const start = Date.UTC(2026, 0, 1)
  const instants = Array.from({ length: 500 }, (_, day) => start + day * DAY + (day * 7919) % DAY)
  t.same([...instants, ...instants].filter((ms) => isoTimestamp(ms) !== new Date(ms).toISOString()), [])
})
