// Random tokens (session ids, entity tags, lease tokens) from the operating system's CSPRNG, drawn from a pool filled
// a few kilobytes at a time. crypto.randomBytes costs about 5 µs a call whatever its size (one call into OpenSSL
// each), a tenth of a request; a slice of the pool costs a tenth of a microsecond. It is what crypto.randomUUID does
// with its own cache. Every byte is handed out once, so a token is as unguessable as one of its own call.
import { randomFillSync } from 'node:crypto'

const POOL_BYTES = 4096
const pool = Buffer.alloc(POOL_BYTES)
let used = POOL_BYTES

/** `bytes` random bytes (at most the pool's size), base64url. */
export function randomToken (bytes: number): string {
  if (used + bytes > POOL_BYTES) {
    randomFillSync(pool)
    used = 0
  }
  const token = pool.toString('base64url', used, used + bytes)
  used += bytes
  return token
}
