// A replica's first wait for a lease opens its pub/sub connection. A write announced while that connection is still
// opening reaches no subscriber, so the waiting reader must read again once it listens, not wait out its bound.
import { Redis } from 'ioredis'
import t from 'tap'
import { lookupWithLease } from '../../src/store/lease-lookup.js'
import { RedisCacheStore } from '../../src/store/redis-cache-store.js'
import { startRedis } from '../helpers/redis-server.js'
import { startTcpProxy } from '../helpers/tcp-proxy.js'

const CONNECT_DELAY_MS = 800
const WAIT_MS = 20_000

t.test('a value written while the subscriber connection opens reaches the waiting reader at once', async (t) => {
  const redis = await startRedis(t)
  const slowNetwork = await startTcpProxy(t, redis.port)
  slowNetwork.delayNewConnections(CONNECT_DELAY_MS)
  const clients: Redis[] = []
  const connect = (url: string) => {
    const client = new Redis(url)
    clients.push(client)
    return client
  }
  t.teardown(() => { for (const client of clients) client.disconnect() })
  const store = new RedisCacheStore(connect(redis.url), 'lease-wait:', () => connect(slowNetwork.url),
    { maxWaiters: 10, maxPerCaller: 10 })
  t.teardown(() => { store.endWaits() })

  const { lease } = await store.get('hot', { ttlMs: WAIT_MS })
  t.equal(lease?.state, 'granted')
  const started = performance.now()
  const waiting = lookupWithLease(store, 'hot', {
    lease: { ttlMs: WAIT_MS }, waitMs: WAIT_MS, waiter: { caller: 'reader' }
  })
  // The lease holder writes well before the subscriber connection is open, so its announcement reaches nobody.
  await new Promise((resolve) => setTimeout(resolve, CONNECT_DELAY_MS / 8))
  const written = await store.put('hot', {
    value: Buffer.from('computed'),
    contentType: 'text/plain',
    etag: '"c"',
    ttlSeconds: 60,
    staleSeconds: 0,
    staleIfErrorSeconds: 0,
    tags: [],
    leaseToken: lease?.state === 'granted' ? lease.token : undefined
  }, { ifMatch: undefined, ifNoneMatch: undefined })
  t.equal(written, 'created')

  const { entry, waited } = await waiting
  t.equal(entry?.value.toString(), 'computed', 'the reader gets the value')
  t.ok(waited, 'and says it waited')
  t.ok(performance.now() - started < WAIT_MS / 2, 'once it listens, not at the end of its wait')
})
