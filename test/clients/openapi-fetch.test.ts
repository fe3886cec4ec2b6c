// The scenario of issue 22 through the client this repository ships: types from openapi-typescript
// (npm run generate:client), requests by openapi-fetch (client/index.ts).
import t from 'tap'
import { createCacheServiceClient } from '../../client/index.js'
import { assertScenario, BINARY_MEDIA_TYPE, BINARY_VALUE, startScenarioService, type Observations } from './scenario.js'

const { baseUrl, apiKey } = await startScenarioService(t)
const client = createCacheServiceClient({ baseUrl, headers: { authorization: `Bearer ${apiKey}` } })

t.test('the scenario, through openapi-typescript and openapi-fetch', async (t) => {
  const key = { path: { key: 'scenario/binary ✓' } }
  const header = { 'cache-content-type': BINARY_MEDIA_TYPE, 'if-none-match': '*' }
  const created = await client.PUT('/cache/{key}', {
    params: { ...key, query: { ttl: 60 }, header }, body: BINARY_VALUE
  })
  const repeated = await client.PUT('/cache/{key}', { params: { ...key, header }, body: BINARY_VALUE })
  const read = await client.GET('/cache/{key}', { params: key, parseAs: 'arrayBuffer' })
  const etag = read.response.headers.get('etag')!
  const revalidated = await client.GET('/cache/{key}', { params: { ...key, header: { 'if-none-match': etag } } })

  const session = await client.POST('/sessions', { body: { data: { user: 'ada' } } })
  const id = { path: { id: session.data!.id } }
  const sessionRead = await client.GET('/sessions/{id}', { params: id })
  const patched = await client.PATCH('/sessions/{id}', {
    params: id, body: { cart: { sku: 2 } }, headers: { 'content-type': 'application/merge-patch+json' }
  })
  const deleted = await client.DELETE('/sessions/{id}', { params: id })
  const gone = await client.GET('/sessions/{id}', { params: id })

  const subject = 'ada@example.com'
  const login = await client.POST('/sessions', { body: { subject, data: {} } })
  await client.POST('/sessions', { body: { subject, data: {} } })
  const rotated = await client.POST('/sessions/{id}/rotate', { params: { path: { id: login.data!.id } } })
  const listed = await client.GET('/sessions', { params: { query: { subject } } })
  const revoked = await client.POST('/sessions/revoke', { body: { subject, exceptId: rotated.data!.id } })
  const left = await client.GET('/sessions', { params: { query: { subject, limit: 10 } } })
  const told = await client.GET('/sessions/events', {})
  const toldAfter = await client.GET('/sessions/events', { params: { query: { after: told.data!.next } } })

  const bulkPut = await client.POST('/cache-bulk/put', {
    body: {
      entries: [
        { key: 'bulk-1', value: Buffer.from('one').toString('base64'), contentType: 'text/plain' },
        { key: 'bulk-2', value: Buffer.from('two').toString('base64'), ttlSeconds: 60 }
      ]
    }
  })
  const bulkGet = await client.POST('/cache-bulk/get', { body: { keys: ['bulk-1', 'missing', 'bulk-2'] } })

  for (const tagged of ['tagged-1', 'tagged-2']) {
    await client.PUT('/cache/{key}', {
      params: { path: { key: tagged }, header: { 'cache-tag': 'scenario, other' } }, body: Buffer.from(tagged)
    })
  }
  const invalidated = await client.DELETE('/cache', { params: { query: { tag: 'scenario' } } })
  const afterTag = await client.GET('/cache/{key}', { params: { path: { key: 'tagged-1' } } })

  for (const soft of ['soft-1', 'soft-2']) {
    await client.PUT('/cache/{key}', {
      params: { path: { key: soft }, query: { ttl: 60, stale: 60 }, header: { 'cache-tag': 'soft' } },
      body: Buffer.from(soft)
    })
  }
  const softKey = await client.DELETE('/cache/{key}', { params: { path: { key: 'soft-1' }, query: { mode: 'stale' } } })
  const softTag = await client.DELETE('/cache', { params: { query: { tag: 'soft', mode: 'stale' } } })
  const afterSoft = await client.GET('/cache/{key}', { params: { path: { key: 'soft-1' } }, parseAs: 'text' })

  const leased = { path: { key: 'scenario/leased' } }
  const miss = await client.GET('/cache/{key}', { params: { ...leased, header: { 'cache-lease': 'acquire' } } })
  const token = miss.response.headers.get('cache-lease-token')
  const fulfilled = await client.PUT('/cache/{key}', {
    params: { ...leased, header: { 'cache-lease-token': token ?? '', 'cache-content-type': 'text/plain' } },
    body: Buffer.from('computed')
  })
  const leaseRead = await client.GET('/cache/{key}', { params: leased, parseAs: 'text' })

  const refused = await client.PUT('/cache/{key}', { params: { ...key, query: { ttl: 0 } }, body: BINARY_VALUE })
  // The error is typed as the document's Problem: these fields are read without a cast.
  const problem = refused.error

  const seen: Observations = {
    binary: {
      created: created.response.status,
      repeated: repeated.response.status,
      repeatedProblemType: repeated.error?.type ?? '',
      read: read.response.status,
      bytesHex: Buffer.from(read.data!).toString('hex'),
      contentType: read.response.headers.get('content-type') ?? '',
      cacheControl: read.response.headers.get('cache-control') ?? '',
      revalidated: revalidated.response.status
    },
    session: {
      created: session.response.status,
      read: sessionRead.data!.data,
      patched: patched.data!.data,
      deleted: deleted.response.status,
      gone: gone.response.status
    },
    subject: {
      rotated: rotated.response.status,
      newId: rotated.data!.id !== login.data!.id,
      listed: listed.data!.sessions.length,
      refLength: listed.data!.sessions[0]!.ref.length,
      idListed: JSON.stringify(listed.data).includes(rotated.data!.id),
      ended: revoked.data!.ended,
      left: left.data!.sessions.length,
      told: told.data!.events.map((event) => event.reason),
      missed: told.data!.missed,
      toldAfter: toldAfter.data!.events.length
    },
    bulk: {
      outcomes: bulkPut.data!.results.map((result) => result.outcome),
      found: bulkGet.data!.entries.map((entry) => entry.found),
      valueBase64: bulkGet.data!.entries[0]!.value!,
      contentType: bulkGet.data!.entries[0]!.contentType!
    },
    tag: { removed: invalidated.data!.removed, gone: afterTag.response.status },
    markStale: {
      key: softKey.response.status,
      markedStale: softTag.data!.markedStale,
      cacheStatus: afterSoft.response.headers.get('cache-status') ?? ''
    },
    lease: {
      miss: miss.response.status,
      lease: miss.response.headers.get('cache-lease') ?? '',
      hasToken: token !== null,
      fulfilled: fulfilled.response.status,
      read: leaseRead.data ?? ''
    },
    problem: {
      status: problem?.status ?? 0,
      type: problem?.type ?? '',
      paths: problem?.errors?.map((error) => error.path) ?? [],
      typed: problem !== undefined
    }
  }
  assertScenario(t, seen)
})
