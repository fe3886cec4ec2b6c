// The table of error kinds: every kind is documented in the README, as fastify core checks its own errors, and
// every Fastify error a caller can cause is answered as one of them.
import { readFileSync } from 'node:fs'
import t from 'tap'
import { RESPONSE_HEADERS } from '../src/http/response-headers.js'
import { ERROR_KINDS, errorKindOf, FRAMEWORK_ERROR_KINDS, type ErrorCode } from '../src/errors.js'

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')
/** The README's error table: `| `CODE` | status | `type` | meaning |`. */
const documented = new Map([...readme.matchAll(/^\| `(CS_[A-Z_]+)` \| (\d{3}) \| `([a-z-]+)` \| (.+) \|$/gm)]
  .map(([, code, status, type, meaning]) => [code!, { status: Number(status), type, meaning }]))

t.test('every error kind is in the README, with its status, type and meaning', async (t) => {
  for (const [code, kind] of Object.entries(ERROR_KINDS)) {
    t.same(documented.get(code), { status: kind.status, type: kind.type, meaning: kind.description }, code)
  }
})

t.test('the README lists no kind the code does not have', async (t) => {
  t.same([...documented.keys()].filter((code) => !Object.hasOwn(ERROR_KINDS, code)), [])
})

t.test('codes and types are unique: a type names one kind', async (t) => {
  const types = Object.values(ERROR_KINDS).map((kind) => kind.type)
  t.equal(new Set(types).size, types.length)
})

t.test("Fastify's errors are answered as our kinds; an unknown code is no kind", async (t) => {
  for (const [fastifyCode, ours] of Object.entries(FRAMEWORK_ERROR_KINDS)) {
    t.equal(errorKindOf(fastifyCode)?.code, ours, fastifyCode)
  }
  t.equal(errorKindOf('CS_NOT_FOUND')?.status, 404)
  t.equal(errorKindOf('ERR_SOMETHING_ELSE'), undefined)
  t.equal(errorKindOf('toString'), undefined, 'nothing inherited from Object counts as a code')
  const code: ErrorCode = 'CS_STORE_UNAVAILABLE'
  t.equal(ERROR_KINDS[code].status, 503)
  t.ok(RESPONSE_HEADERS['Retry-After'].on.includes(code), 'its problems carry Retry-After (http/response-headers.ts)')
})
