// The near cache's fresh reads against every store: memory, one redis-server, and a cluster whose entries live on
// three nodes.
import t from 'tap'
import { STORES, storeUnderTest } from '../helpers/store-under-test.js'
import { nearCacheContract } from './near-cache-contract.js'

for (const store of STORES) {
  t.test(store, async (t) => {
    nearCacheContract(t, await storeUnderTest(t, store))
  })
}
