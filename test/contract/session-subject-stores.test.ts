// Sessions per subject against every store: memory, one redis-server, a cluster where a subject's index and its
// sessions hash to different slots, and the Enterprise proxy's stand-in.
import t from 'tap'
import type { MemorySessionStore } from '../../src/store/memory-session-store.js'
import { STORES, storeUnderTest } from '../helpers/store-under-test.js'
import { sessionSubjectContract } from './session-subject-contract.js'

// About two minutes beside the rest of a CI run (the sweeps' waits, on four stores): more than tap's 120 s per file.
t.setTimeout(300_000)
for (const store of STORES) {
  t.test(store, async (t) => {
    const { makeApp, countKeys, shared } = await storeUnderTest(t, store)
    sessionSubjectContract(t, makeApp, {
      shared,
      indexRecords: store === 'memory'
        ? async (app) => (app.sessionStore as MemorySessionStore).subjectEntryCount
        : async (app) => await countKeys(app, 'subject:') + await countKeys(app, '{session-due}')
    })
  })
}
