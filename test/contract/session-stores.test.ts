// The /sessions contract against every store: memory, one redis-server, a cluster, and the Enterprise proxy's
// stand-in.
import t from 'tap'
import { STORES, storeUnderTest } from '../helpers/store-under-test.js'
import { sessionContract } from './session-contract.js'

for (const store of STORES) {
  t.test(store, async (t) => {
    sessionContract(t, (await storeUnderTest(t, store)).makeApp)
  })
}
