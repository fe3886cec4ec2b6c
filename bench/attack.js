// npm run attack: the production build attacked as the issues describe, with the figures printed. Not part of
// npm test (it takes a minute and measures memory, which tests should not time): a bulk read naming a hundred
// 1 MiB values, thousands of waiting readers whose clients walk away, and waiting readers when Redis is killed.
import { connect } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { procFile, rssMiB, startRedis, startService } from './processes.js'

/** The process's peak resident memory so far, in MiB. */
const peakMiB = (pid) => Number(/VmHWM:\s+(\d+)/.exec(procFile(pid, 'status'))?.[1] ?? 0) / 1024
const mib = (value) => `${value.toFixed(0)} MiB`
/** The service's V8 heap in use, in MiB, from its own metrics. */
async function heapMiB (service) {
  const text = await (await fetch(service.metrics)).text()
  return Number(/^nodejs_heap_size_used_bytes (\S+)/m.exec(text)?.[1] ?? 0) / 2 ** 20
}

async function bulkRead () {
  const redis = await startRedis()
  const service = await startService({ REDIS_URL: redis.url, AUTH_MODE: 'none', RATE_LIMIT_MAX: '0' })
  try {
    const value = Buffer.alloc(1_048_576, 'x').toString('base64')
    const keys = Array.from({ length: 100 }, (_, i) => `big-${i}`)
    for (let i = 0; i < keys.length; i += 2) {
      const entries = keys.slice(i, i + 2).map((key) => ({ key, value }))
      const res = await fetch(`${service.base}/cache-bulk/put`, {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ entries })
      })
      if (!res.ok) throw new Error(`bulk put answered ${res.status}`)
    }
    await sleep(500)
    const before = { rss: rssMiB(service.pid), peak: peakMiB(service.pid) }
    let slowestHealth = 0
    const reading = { on: true }
    const health = (async () => {
      while (reading.on) {
        const started = performance.now()
        await fetch(`${service.base}/healthz`)
        slowestHealth = Math.max(slowestHealth, performance.now() - started)
        await sleep(10)
      }
    })()
    const started = performance.now()
    const res = await fetch(`${service.base}/cache-bulk/get`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ keys })
    })
    const body = await res.text()
    const took = performance.now() - started
    reading.on = false
    await health
    const entries = JSON.parse(body).entries
    const served = entries.filter((entry) => entry.value !== undefined).length
    const tooLarge = entries.filter((entry) => entry.tooLarge === true).length
    const json = (body.length / 2 ** 20).toFixed(1)
    console.log(`bulk read of 100 × 1 MiB: ${res.status} in ${took.toFixed(0)} ms, ${json} ` +
      `MiB of JSON, ${served} values served and ${tooLarge} named tooLarge; RSS ${mib(before.rss)} before, peak ` +
      `${mib(before.peak)} before and ${mib(peakMiB(service.pid))} after; slowest /healthz meanwhile ` +
      `${slowestHealth.toFixed(0)} ms`)
  } finally {
    await service.stop()
    redis.stop()
  }
}

async function abandonedWaiters (count) {
  const redis = await startRedis()
  const service = await startService({
    REDIS_URL: redis.url,
    AUTH_MODE: 'none',
    RATE_LIMIT_MAX: '0',
    CACHE_LEASE_MAX_WAITERS_PER_CALLER: '100000',
    CACHE_LEASE_MAX_WAITERS: '100000',
    // Every waiter on a connection of its own: the waiters' bound is measured here, not the connections'.
    MAX_CONNECTIONS: '0'
  })
  try {
    const granted = await fetch(`${service.base}/cache/hot`, { headers: { 'cache-lease': 'acquire; ttl=60' } })
    if (granted.headers.get('cache-lease') !== 'granted; ttl=60') throw new Error('no lease')
    await sleep(500)
    const idle = rssMiB(service.pid)
    const idleHeap = await heapMiB(service)
    const { port } = new URL(service.base)
    const sockets = []
    for (let i = 0; i < count; i++) {
      const socket = connect(Number(port), '127.0.0.1')
      socket.on('error', () => {})
      socket.write('GET /cache/hot HTTP/1.1\r\nHost: cache\r\nPrefer: wait=60\r\n\r\n')
      sockets.push(socket)
      if (i % 500 === 499) await sleep(20)
    }
    await sleep(2000)
    const waiting = rssMiB(service.pid)
    const waitingHeap = await heapMiB(service)
    for (const socket of sockets) socket.destroy()
    await sleep(3000)
    console.log(`${count} waiting readers: heap ${mib(idleHeap)} idle, ${mib(waitingHeap)} while they waited ` +
      `(${((waitingHeap - idleHeap) * 1024 / count).toFixed(1)} KiB each, sockets included), ` +
      `${mib(await heapMiB(service))} 3 s after their clients went away; RSS ${mib(idle)}, ${mib(waiting)}, ` +
      `${mib(rssMiB(service.pid))}`)

    const hung = []
    for (let i = 0; i < 200; i++) {
      const started = performance.now()
      hung.push(fetch(`${service.base}/cache/hot`, { headers: { prefer: 'wait=60' } })
        .then((res) => ({ status: res.status, ms: performance.now() - started })))
    }
    await sleep(1000)
    const killed = performance.now()
    redis.stop()
    const answers = await Promise.all(hung)
    const statuses = [...new Set(answers.map(({ status }) => status))]
    console.log(`200 waiting readers, Redis killed: answered ${statuses.join(', ')}, the last ` +
      `${(performance.now() - killed).toFixed(0)} ms after the kill (REDIS_COMMAND_TIMEOUT_MS 1000; they asked to ` +
      'wait 60 s)')
  } finally {
    await service.stop()
    redis.stop()
  }
}

await bulkRead()
await abandonedWaiters(5000)
