// Random tokens come from a pool of the CSPRNG's bytes: each byte handed out once, across refills.
import t from 'tap'
import { randomToken } from '../src/random-token.js'

t.test('tokens have the asked length and never repeat, across many refills of the pool', async (t) => {
  // 10,000 tokens of 32 and 16 bytes: the 4 KiB pool refilled about sixty times, with tokens asked where it ran out.
  const tokens = Array.from({ length: 10_000 }, (_, i) => randomToken(i % 2 === 0 ? 32 : 16))
  const wrongLength = tokens.filter((token, i) => Buffer.from(token, 'base64url').length !== (i % 2 === 0 ? 32 : 16))
  t.same(wrongLength, [])
  t.equal(new Set(tokens).size, 10_000)
})

t.test('the bytes are spread as random bytes are', async (t) => {
  const counts = new Array<number>(256).fill(0)
  for (let i = 0; i < 4096; i++) for (const byte of Buffer.from(randomToken(16), 'base64url')) counts[byte]!++
  // 65,536 bytes: 256 expected of each value; a byte never drawn, or drawn twice as often, would be a broken pool.
  const [least, most] = [Math.min(...counts), Math.max(...counts)]
  t.ok(least > 128 && most < 512, `each byte value drawn ${least} to ${most} times`)
})
