// Bulk operations against every store: memory, one redis-server, and a cluster where one request's keys span every
// slot range.
import t from 'tap'
import { STORES, storeUnderTest } from '../helpers/store-under-test.js'
import { cacheBulkContract } from './cache-bulk-contract.js'

for (const store of STORES) {
  t.test(store, async (t) => {
    const { makeApp } = await storeUnderTest(t, store)
    cacheBulkContract(t, makeApp)
  })
}
