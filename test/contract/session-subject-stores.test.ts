// Sessions per subject against every store: memory, one redis-server, and a cluster where a subject's index and its
// sessions hash to different slots.
import t from 'tap'
import type { MemorySessionStore } from '../../src/store/memory-session-store.js'
import { STORES, storeUnderTest } from '../helpers/store-under-test.js'
import { sessionSubjectContract } from './session-subject-contract.js'

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
