// npm run bench: the production build as its own process, under load from wrk in another process, against the
// framework's ceiling (a bare Fastify route answering 1 KiB) measured in the same run. Prints a table and writes
// it to BENCHMARKS.md. Ratios, not absolute numbers, are what carry from one machine to another.
import { spawnSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { cpus, totalmem } from 'node:os'
import { hashApiKey } from '../dist/auth/api-keys.js'
import { startCeiling, startProxy, startRedis, startService, withProcessUsage } from './processes.js'
import { herd } from './herd.js'
import { luaScript, wrk } from './wrk.js'

const CONNECTIONS = 50
const WARM_UP_S = 2
const MEASURE_S = Number(process.env.BENCH_SECONDS ?? 8)
const KIB = { char: 'v', bytes: 1024 }
const API_KEY = 'bench-api-key-0123456789abcdef'
/** Keys one bulk read asks for, against as many single GETs. */
const BULK_KEYS = Array.from({ length: 50 }, (_, i) => `bulk-${i}`)

/** What each scenario must reach, as a ratio of the ceiling's requests per second in the same run. */
const TARGETS = {
  'GET /cache hit 1 KiB': 0.75,
  'PUT /cache 1 KiB, ttl': 0.65,
  'GET /sessions (sliding)': 0.65,
  'GET /cache, api-key + shared rate limit': 0.65
}
const P99_TARGET = 3
const RSS_TARGET_MIB = 150
/** wrk's share of one core past which a row is the load generator's pace, not the service's. */
const LOAD_GENERATOR_SATURATED = 0.9

async function prepare (base, headers = {}) {
  const put = async (key, bytes) => fetch(`${base}/cache/${key}?ttl=3600`, {
    method: 'PUT', headers, body: Buffer.alloc(bytes, 'v')
  })
  await put('hot', 1024)
  await put('large-64k', 64 * 1024)
  await put('large-1m', 1024 * 1024)
  const value = Buffer.alloc(1024, 'v').toString('base64')
  await fetch(`${base}/cache-bulk/put`, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/json' },
    body: JSON.stringify({ entries: BULK_KEYS.map((key) => ({ key, value, ttlSeconds: 3600 })) })
  })
  const etag = (await fetch(`${base}/cache/hot`, { headers })).headers.get('etag')
  const created = await fetch(`${base}/sessions`, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/json' },
    body: JSON.stringify({ data: { user: 'bench', roles: ['reader'], cart: { items: 3 } } })
  })
  return { etag, session: (await created.json()).id }
}

function scenarios ({ etag, session }) {
  return [
    // bytes: the value's size, for a MiB/s figure (wrk's own counts only what it reads, not what a PUT sends).
    { name: 'GET /cache hit 1 KiB', requests: [{ path: '/cache/hot' }] },
    { name: 'GET /cache miss', requests: [{ path: '/cache/absent' }], expect: 404 },
    { name: 'GET /cache 304', requests: [{ path: '/cache/hot', headers: { 'If-None-Match': etag } }] },
    { name: 'PUT /cache 1 KiB, ttl', requests: [{ method: 'PUT', path: '/cache/written?ttl=60', body: KIB }] },
    {
      name: '90 % GET, 10 % PUT',
      requests: [{ path: '/cache/hot', weight: 9 }, { method: 'PUT', path: '/cache/mixed?ttl=60', body: KIB }]
    },
    { name: 'GET /cache 64 KiB', requests: [{ path: '/cache/large-64k' }], bytes: 64 * 1024 },
    {
      name: 'PUT /cache 64 KiB',
      requests: [{ method: 'PUT', path: '/cache/w64k?ttl=60', body: { char: 'v', bytes: 64 * 1024 } }],
      bytes: 64 * 1024
    },
    { name: 'GET /cache 1 MiB', requests: [{ path: '/cache/large-1m' }], bytes: 1024 * 1024 },
    {
      name: 'PUT /cache 1 MiB',
      requests: [{ method: 'PUT', path: '/cache/w1m?ttl=60', body: { char: 'v', bytes: 1024 * 1024 } }],
      bytes: 1024 * 1024
    },
    { name: 'GET /sessions (sliding)', requests: [{ path: `/sessions/${session}` }] },
    {
      name: 'PATCH /sessions',
      requests: [{
        method: 'PATCH',
        path: `/sessions/${session}`,
        headers: { 'Content-Type': 'application/merge-patch+json' },
        body: '{"cart":{"items":4},"seen":true}'
      }]
    },
    { name: 'GET /cache hit, 500 connections', requests: [{ path: '/cache/hot' }], connections: 500 },
    {
      name: `POST /cache-bulk/get, ${BULK_KEYS.length} × 1 KiB`,
      requests: [{
        method: 'POST',
        path: '/cache-bulk/get',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ keys: BULK_KEYS })
      }],
      entries: BULK_KEYS.length
    }
  ]
}

async function measure (target, scenario, headers = {}) {
  const requests = scenario.requests.map((request) => ({ ...request, headers: { ...headers, ...request.headers } }))
  const script = luaScript(scenario.name.replace(/\W+/g, '-'), requests)
  const connections = scenario.connections ?? CONNECTIONS
  const options = { base: target.base, script, connections, expect: scenario.expect }
  await wrk({ ...options, seconds: WARM_UP_S })
  return await withProcessUsage(target.pid, () => wrk({ ...options, seconds: MEASURE_S }))
}

/**
 * The references, each in its own process: the bare route (the ceiling every ratio is taken against), the same
 * route sending the service's response headers, and a bare Fastify + ioredis GET proxy on the same Redis. Between
 * them they price the headers and the Redis round trip apart from the rest of the service's work.
 */
async function measureReferences (redisUrl) {
  const references = [
    { name: 'ceiling: bare Fastify, 1 KiB', start: () => startCeiling(), path: '/value' },
    {
      name: 'reference: bare Fastify, 1 KiB with the service\'s response headers',
      start: () => startCeiling({ serviceHeaders: true }),
      path: '/value'
    },
    {
      name: 'reference: bare Fastify + ioredis GET proxy, 1 KiB',
      start: () => startProxy(redisUrl),
      path: '/value/hot'
    }
  ]
  const rows = []
  for (const { name, start, path } of references) {
    const target = await start()
    rows.push({ name, reference: true, ...await measure(target, { name, requests: [{ path }] }) })
    await target.stop()
  }
  return rows
}

if (spawnSync('wrk', ['--version']).error !== undefined) {
  console.error('npm run bench needs wrk, the load generator (Debian: apt-get install wrk)')
  process.exit(1)
}

const redis = await startRedis()
const rows = []
let herdRows
try {
  rows.push(...await measureReferences(redis.url))

  const onRedis = await startService({ REDIS_URL: redis.url, AUTH_MODE: 'none', RATE_LIMIT_MAX: '0' })
  const state = await prepare(onRedis.base)
  for (const scenario of scenarios(state)) {
    const { name, bytes, entries } = scenario
    rows.push({ name, bytes, entries, ...await measure(onRedis, scenario) })
  }
  herdRows = await herd(onRedis.base, MEASURE_S)
  await onRedis.stop()

  const keys = JSON.stringify([{ name: 'bench', sha256: hashApiKey(API_KEY), scopes: ['admin'] }])
  // The limit is on, with its counter in Redis, but high enough never to refuse: the default (100,000 a minute)
  // is reached within seconds at this rate, and what is measured is the cost of the limit, not its 429s.
  const withAuth = await startService({
    REDIS_URL: redis.url, AUTH_MODE: 'api-key', API_KEYS: keys, RATE_LIMIT_MAX: '1000000000'
  })
  const authorization = { Authorization: `Bearer ${API_KEY}` }
  await prepare(withAuth.base, authorization)
  rows.push({
    name: 'GET /cache, api-key + shared rate limit',
    ...await measure(withAuth, { name: 'api-key', requests: [{ path: '/cache/hot' }] }, authorization)
  })
  await withAuth.stop()

  const inMemory = await startService({ AUTH_MODE: 'none' })
  await prepare(inMemory.base)
  const memoryScenario = { name: 'memory', requests: [{ path: '/cache/hot' }] }
  rows.push({ name: 'GET /cache, memory store', ...await measure(inMemory, memoryScenario) })
  await inMemory.stop()
} finally {
  redis.stop()
}

report(rows)

function report (rows) {
  const [ceiling] = rows
  const lines = [
    '| scenario | req/s | ÷ ceiling | p50 ms | p99 ms | p99 ÷ ceiling | value MiB/s | peak RSS MiB | CPU µs/req | ' +
      'wrk CPU | unexpected |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|'
  ]
  const misses = []
  for (const row of rows) {
    const ratio = row.requestsPerSecond / ceiling.requestsPerSecond
    const p99Ratio = row.p99Ms / ceiling.p99Ms
    const mibPerSecond = row.bytes ? (row.requestsPerSecond * row.bytes / 2 ** 20).toFixed(0) : ''
    const cells = [row.name, Math.round(row.requestsPerSecond), ratio.toFixed(2), row.p50Ms.toFixed(2),
      row.p99Ms.toFixed(2), p99Ratio.toFixed(1), mibPerSecond, row.peakRssMiB.toFixed(0),
      (row.cpuSeconds / (row.requestsPerSecond * MEASURE_S) * 1e6).toFixed(0),
      `${(row.loadGeneratorCpuShare * 100).toFixed(0)} %`, row.unexpected]
    lines.push(`| ${cells.join(' | ')} |`)
    if (row.loadGeneratorCpuShare >= LOAD_GENERATOR_SATURATED) {
      misses.push(`${row.name}: wrk used ${(row.loadGeneratorCpuShare * 100).toFixed(0)} % of its core, so this ` +
        'row measures the load generator, not the service')
    }
    if (row.reference) continue
    const target = TARGETS[row.name]
    if (target !== undefined && ratio < target) {
      misses.push(`${row.name}: ${ratio.toFixed(2)} of the ceiling (target ${target})`)
    }
    // Latency is compared like for like: 1 KiB answers at 50 connections.
    if (!row.bytes && !row.entries && !row.name.includes('500') && p99Ratio > P99_TARGET) {
      misses.push(`${row.name}: p99 ${p99Ratio.toFixed(1)}× the ceiling's (target ≤ ${P99_TARGET})`)
    }
    if (row.peakRssMiB > RSS_TARGET_MIB) {
      misses.push(`${row.name}: peak RSS ${row.peakRssMiB.toFixed(0)} MiB (target ≤ ${RSS_TARGET_MIB})`)
    }
    if (row.unexpected > 0) misses.push(`${row.name}: ${row.unexpected} unexpected answers or errors`)
  }
  // Entries read per second: a bulk read of many keys against single GETs of one key each, in the same run.
  const single = rows.find((row) => row.name === 'GET /cache hit 1 KiB')
  const bulk = rows.find((row) => row.entries !== undefined)
  const bulkLine = `Bulk read: ${Math.round(bulk.requestsPerSecond * bulk.entries)} entries/s in requests of ` +
    `${bulk.entries} keys, against ${Math.round(single.requestsPerSecond)} entries/s from single GETs: ` +
    `${(bulk.requestsPerSecond * bulk.entries / single.requestsPerSecond).toFixed(1)}×.`
  const herdLines = herdRows.map(({ withLeases, computations, reads, failed, perExpiry }) =>
    `| ${withLeases ? 'with leases and Prefer: wait' : 'without leases'} | ${reads} | ${computations} | ` +
    `${perExpiry.toFixed(1)} | ${failed} |`)
  const herdTable = ['| hot key expiring every second, 200 callers | reads | computations | per expiry | failed |',
    '|---|---:|---:|---:|---:|', ...herdLines].join('\n')
  const table = lines.join('\n')
  // wrk --version prints its version and usage, and exits 1.
  const wrkVersion = spawnSync('wrk', ['--version'], { encoding: 'utf8' }).stdout.split('\n')[0].split(' [')[0]
  const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, ${Math.round(totalmem() / 2 ** 30)} GiB, ` +
    `Node ${process.version}, ${wrkVersion}`
  console.log(table)
  console.log(`\n${bulkLine}\n\n${herdTable}`)
  console.log(misses.length === 0 ? '\nevery target met' : `\ntargets missed:\n- ${misses.join('\n- ')}`)
  writeFileSync(new URL('../BENCHMARKS.md', import.meta.url), `# Benchmarks

The latest \`npm run bench\`, on ${new Date().toISOString().slice(0, 10)}: ${machine}.

Each scenario: the production build (\`node dist/server.js\`, JSON logs at info, metrics on) as its own process
on a private redis-server, ${CONNECTIONS} connections from wrk in another process (one thread) unless the
scenario says otherwise, ${WARM_UP_S} s of warm-up, then ${MEASURE_S} s measured. The ceiling is a bare Fastify 5
route answering a constant 1 KiB, in its own process, in the same run. Two more references price parts of the
service's work apart: the same route sending the service's response headers, and a bare Fastify + ioredis GET
proxy on the same Redis (no validation, headers, metrics or logs). CPU µs/req is the measured process's own CPU
time (user and system, from /proc) over the requests it answered. Load generator, service and Redis share the
machine's cores. A scenario of one request is wrk's static request (no Lua per request, as a plain \`wrk <url>\`);
wrk CPU is its one thread's share of a core, and a row where it passes ${LOAD_GENERATOR_SATURATED * 100} % is
listed below as measuring wrk rather than the service.

${table}

${bulkLine}

The herd: 200 callers read one key cache-aside (a miss computes for 50 ms, then PUTs it with a 1 s TTL) for
${MEASURE_S} s; how many times the value was computed, without and with leases.

${herdTable}

${misses.length === 0 ? 'Every target met.' : `Targets missed:\n- ${misses.join('\n- ')}`}
`)
  process.exitCode = misses.length === 0 ? 0 : 1
}
