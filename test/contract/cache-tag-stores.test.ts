// Invalidation by tag against every store: memory, one redis-server, and a cluster whose tags and entries hash to
// different slots.
import t from 'tap'
import type { MemoryCacheStore } from '../../src/store/memory-cache-store.js'
import { STORES, storeUnderTest } from '../helpers/store-under-test.js'
import { cacheTagContract } from './cache-tag-contract.js'

for (const store of STORES) {
  t.test(store, async (t) => {
    const { makeApp, countKeys, countTagMembers } = await storeUnderTest(t, store)
    cacheTagContract(t, makeApp, {
      records: store === 'memory'
        ? async (app) => (app.cacheStore as MemoryCacheStore).tagCount
        : async (app) => await countKeys(app, 'tag:'),
      members: countTagMembers
    })
  })
}
