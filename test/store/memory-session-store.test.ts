// The embedded session store reports exactly the expiry it stored: found under Node 26, where the clock ticked
// between the two readings the old code took, and a touch=false read disagreed with the slide before it.
import t from 'tap'
import { MemorySessionStore } from '../../src/store/memory-session-store.js'

t.test('a read without touch reports the expiry the last slide stored, however the clock moves', async (t) => {
  const store = new MemorySessionStore({ maxEvents: 1, namespaceOf: () => '' })
  t.teardown(() => store.close())
  const realNow = Date.now
  let now = realNow()
  // Every reading of the clock is a millisecond later: the worst case of a busy machine, made certain.
  Date.now = () => ++now
  t.teardown(() => { Date.now = realNow })

  await store.put('session-id-0000000000000001', {
    data: '{}', idleTtlSeconds: 100, absoluteTtlSeconds: 1000, etag: '"a"'
  }, {}, { maxSessions: 1, policy: 'refuse' })
  const touched = await store.get('session-id-0000000000000001', { touch: true })
  const after = await store.get('session-id-0000000000000001', { touch: false })
  t.equal(after?.expiresAt, touched?.expiresAt)
  const again = await store.get('session-id-0000000000000001', { touch: false })
  t.equal(again?.expiresAt, touched?.expiresAt, 'and stays so on every read')
})
