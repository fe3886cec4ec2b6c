// Leases, waiting readers and stale-while-revalidate against every store: memory, one redis-server, and a cluster
// (where lease announcements cross nodes).
import t from 'tap'
import { STORES, storeUnderTest } from '../helpers/store-under-test.js'
import { cacheLeaseContract } from './cache-lease-contract.js'

for (const store of STORES) {
  t.test(store, async (t) => {
    cacheLeaseContract(t, await storeUnderTest(t, store))
  })
}
