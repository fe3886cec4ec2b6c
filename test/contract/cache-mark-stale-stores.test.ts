// Mark-stale invalidation against every store: memory, one redis-server, and a cluster whose tags and entries hash
// to different slots.
import t from 'tap'
import { STORES, storeUnderTest } from '../helpers/store-under-test.js'
import { cacheMarkStaleContract } from './cache-mark-stale-contract.js'

for (const store of STORES) {
  t.test(store, async (t) => {
    cacheMarkStaleContract(t, await storeUnderTest(t, store))
  })
}
