// npm run bench: throughput and memory of the built service, as ratios measured in one run on this machine.
// It starts its own redis-server on a free port, listens on loopback only, and stops everything when done.
// Absolute numbers vary from machine to machine; the targets are ratios against a baseline in the same run.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { createServer } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import autocannon from 'autocannon'
import Fastify from 'fastify'
import { buildApp } from '../dist/app.js'
import { loadConfig } from '../dist/config.js'

const DURATION_S = 3
const CONNECTIONS = 16
const VALUE = Buffer.alloc(1024, 'v')

// The targets, as ratios: the service against a bare Fastify route sending the same bytes, Redis against memory.
// Security headers, metrics, auth and load-shedding hooks run on every request; the bare route has none of them.
const TARGETS = [
  { name: 'cache GET on memory vs bare Fastify', ratio: (r) => r.memory.cacheGet / r.baseline, atLeast: 0.4 },
  {
    // The shared rate limit costs a Redis round trip of its own per request.
    name: 'cache GET on Redis with the rate limit vs without',
    ratio: (r) => r.rateLimited.cacheGet / r.redis.cacheGet,
    atLeast: 0.5
  },
  { name: 'cache GET on Redis vs memory', ratio: (r) => r.redis.cacheGet / r.memory.cacheGet, atLeast: 0.25 },
  {
    name: 'session PATCH on Redis vs memory',
    ratio: (r) => r.redis.sessionPatch / r.memory.sessionPatch,
    atLeast: 0.2
  },
  { name: 'memory store KiB held per 1 KiB entry', ratio: (r) => r.heapPerEntryKiB, atMost: 2 }
]

async function freePort () {
  const server = createServer().listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address()
  server.close()
  return port
}

async function startRedis () {
  const port = await freePort()
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no']
  const child = spawn('redis-server', args)
  let output = ''
  child.stdout.on('data', (chunk) => { output += chunk })
  while (!output.includes('Ready to accept connections')) {
    if (child.exitCode !== null) throw new Error(`redis-server failed:\n${output}`)
    await sleep(20)
  }
  return { url: `redis://127.0.0.1:${port}`, stop: () => child.kill('SIGKILL') }
}

async function requestsPerSecond (url, options = {}) {
  const result = await autocannon({ url, connections: CONNECTIONS, duration: DURATION_S, ...options })
  const failed = result.errors + result.timeouts + result.non2xx
  if (failed > 0) throw new Error(`${options.method ?? 'GET'} ${url}: ${failed} failed requests`)
  return Math.round(result.requests.average)
}

async function measureService (env) {
  const app = await buildApp(loadConfig({ LOG_LEVEL: 'silent', AUTH_MODE: 'none', RATE_LIMIT_MAX: '0', ...env }))
  const base = await app.listen({ port: 0, host: '127.0.0.1' })
  try {
    await fetch(`${base}/cache/bench`, { method: 'PUT', body: VALUE })
    const created = await fetch(`${base}/sessions`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ data: { user: 'bench' } })
    })
    const session = `${base}/sessions/${(await created.json()).id}`
    return {
      cachePut: await requestsPerSecond(`${base}/cache/bench`, { method: 'PUT', body: VALUE }),
      cacheGet: await requestsPerSecond(`${base}/cache/bench`),
      sessionGet: await requestsPerSecond(session),
      sessionPatch: await requestsPerSecond(session, {
        method: 'PATCH',
        headers: { 'content-type': 'application/merge-patch+json' },
        body: JSON.stringify({ counter: 1, cart: { item: 'x' } })
      })
    }
  } finally {
    await app.close()
  }
}

async function measureBaseline () {
  const app = Fastify()
  app.get('/value', async (_request, reply) => reply.type('application/octet-stream').send(VALUE))
  const base = await app.listen({ port: 0, host: '127.0.0.1' })
  try {
    return await requestsPerSecond(`${base}/value`)
  } finally {
    await app.close()
  }
}

/** Buffers are freed by finalizers after a GC, so one gc() call is not enough to see what is really held. */
async function settledMemory () {
  for (let i = 0; i < 5; i++) {
    global.gc()
    await sleep(20)
  }
  return process.memoryUsage()
}

/** Heap and buffer memory held per 1 KiB entry in the memory store, filled through inject (no sockets). */
async function heapPerEntryKiB () {
  const entries = 20_000
  const app = await buildApp(loadConfig({ LOG_LEVEL: 'silent', RATE_LIMIT_MAX: '0' }))
  await app.ready()
  const before = await settledMemory()
  for (let i = 0; i < entries; i++) {
    await app.inject({ method: 'PUT', url: `/cache/entry-${i}`, payload: VALUE })
  }
  const after = await settledMemory()
  const held = (after.heapUsed + after.arrayBuffers) - (before.heapUsed + before.arrayBuffers)
  await app.close()
  return Math.round((held / entries / 1024) * 100) / 100
}

const redis = await startRedis()
try {
  const results = {
    baseline: await measureBaseline(),
    memory: await measureService({}),
    redis: await measureService({ REDIS_URL: redis.url }),
    rateLimited: await measureService({ REDIS_URL: redis.url, RATE_LIMIT_MAX: '1000000000' }),
    heapPerEntryKiB: await heapPerEntryKiB()
  }
  console.log(`requests per second (${CONNECTIONS} connections, ${DURATION_S} s each, 1 KiB values)`)
  console.table({
    memory: results.memory,
    redis: results.redis,
    'redis + rate limit': results.rateLimited,
    'bare Fastify GET': { cacheGet: results.baseline }
  })

  let missed = 0
  for (const target of TARGETS) {
    const value = Math.round(target.ratio(results) * 100) / 100
    const ok = target.atLeast !== undefined ? value >= target.atLeast : value <= target.atMost
    const bound = target.atLeast !== undefined ? `>= ${target.atLeast}` : `<= ${target.atMost}`
    console.log(`${ok ? 'ok  ' : 'MISS'} ${target.name}: ${value} (target ${bound})`)
    if (!ok) missed++
  }
  process.exitCode = missed === 0 ? 0 : 1
} finally {
  redis.stop()
}
