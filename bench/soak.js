// npm run soak: the production build under a steady mixed load for minutes (SOAK_SECONDS, 600 by default), from
// wrk in another process. It samples the service's RSS, its event-loop delay and its Redis connections, and fails
// when memory keeps growing after the warm-up, when the connection count changes, or when any request fails.
import { Redis } from 'ioredis'
import { rssMiB, startRedis, startService } from './processes.js'
import { luaScript, wrk } from './wrk.js'

const SECONDS = Number(process.env.SOAK_SECONDS ?? 600)
const WARM_UP_S = Math.min(60, Math.round(SECONDS / 10))
const SAMPLE_EVERY_MS = 5000
const CONNECTIONS = 50
/** Growth allowed from the first third after warm-up to the last: a leak grows without bound, a heap breathes. */
const RSS_GROWTH_MIB = 24

const redis = await startRedis()
const service = await startService({ REDIS_URL: redis.url, AUTH_MODE: 'none', RATE_LIMIT_MAX: '1000000000' })
const admin = new Redis(redis.url)
try {
  const sessions = []
  for (let i = 0; i < 20; i++) {
    await fetch(`${service.base}/cache/hot-${i}`, { method: 'PUT', body: Buffer.alloc(1024, 'v') })
    const created = await fetch(`${service.base}/sessions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ data: { user: `soak-${i}`, cart: { items: 0 } } })
    })
    sessions.push((await created.json()).id)
  }
  // Reads and writes of many keys, with TTLs short enough that entries keep expiring and being written anew; the
  // writes carry tags, which invalidations and expiry must both clean up, and bulk reads fetch the hot keys.
  const requests = [
    ...Array.from({ length: 20 }, (_, i) => ({ path: `/cache/hot-${i}`, weight: 5 })),
    ...Array.from({ length: 20 }, (_, i) => ({
      method: 'PUT',
      path: `/cache/churn-${i}?ttl=5`,
      headers: { 'Cache-Tag': `churn-${i % 4}, soak` },
      body: { char: 'c', bytes: 2048 },
      weight: 2
    })),
    ...Array.from({ length: 4 }, (_, i) => ({ method: 'DELETE', path: `/cache?tag=churn-${i}` })),
    {
      method: 'POST',
      path: '/cache-bulk/get',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ keys: Array.from({ length: 20 }, (_, i) => `hot-${i}`) })
    },
    ...sessions.map((id) => ({ path: `/sessions/${id}`, weight: 2 })),
    ...sessions.map((id) => ({
      method: 'PATCH',
      path: `/sessions/${id}`,
      headers: { 'Content-Type': 'application/merge-patch+json' },
      body: '{"cart":{"items":1}}'
    }))
  ]

  const samples = []
  const sample = async () => {
    const metrics = await (await fetch(service.metrics)).text()
    const gauge = (name) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(metrics)?.[1] ?? NaN)
    const clients = (await admin.client('LIST')).split('\n').filter((line) => line.includes('name=cache-service'))
    samples.push({
      atS: Math.round((Date.now() - started) / 1000),
      rssMiB: rssMiB(service.pid),
      loopP99Ms: gauge('nodejs_eventloop_lag_p99_seconds') * 1000,
      loopMaxMs: gauge('nodejs_eventloop_lag_max_seconds') * 1000,
      redisConnections: clients.length,
      redisKeys: await admin.dbsize()
    })
  }
  const started = Date.now()
  const timer = setInterval(() => { sample().catch((err) => { console.error('sample failed:', err.message) }) },
    SAMPLE_EVERY_MS)
  const load = await wrk({
    base: service.base, script: luaScript('soak', requests), connections: CONNECTIONS, seconds: SECONDS
  })
  clearInterval(timer)
  await sample()
  // The churned entries live 5 s; once they are gone, so must be every tag record that named them. (KEYS is fine
  // on this private Redis; the service itself never scans.)
  await new Promise((resolve) => setTimeout(resolve, 6000))
  const tagRecordsLeft = (await admin.keys('cache-service:tag:*')).length

  const afterWarmUp = samples.filter(({ atS }) => atS >= WARM_UP_S)
  const third = Math.max(1, Math.floor(afterWarmUp.length / 3))
  const peak = (list) => Math.max(...list.map(({ rssMiB }) => rssMiB))
  const early = peak(afterWarmUp.slice(0, third))
  const late = peak(afterWarmUp.slice(-third))
  const connections = new Set(samples.map(({ redisConnections }) => redisConnections))
  const loopP99 = afterWarmUp.map(({ loopP99Ms }) => loopP99Ms).sort((a, b) => a - b)

  console.log('| at s | RSS MiB | loop p99 ms | loop max ms | Redis connections | Redis keys |')
  console.log('|---:|---:|---:|---:|---:|---:|')
  for (const s of samples.filter((_, i) => i % 6 === 0 || i === samples.length - 1)) {
    console.log(`| ${s.atS} | ${s.rssMiB.toFixed(0)} | ${s.loopP99Ms.toFixed(1)} | ${s.loopMaxMs.toFixed(1)} | ` +
      `${s.redisConnections} | ${s.redisKeys} |`)
  }
  console.log()
  console.log(`${SECONDS} s at ${load.requestsPerSecond.toFixed(0)} req/s (${CONNECTIONS} connections): ` +
    `${Math.round(load.requestsPerSecond * SECONDS)} requests, ${load.unexpected} failed; p99 ${load.p99Ms} ms`)
  const medianLoopP99 = loopP99[Math.floor(loopP99.length / 2)]?.toFixed(1)
  console.log(`RSS after warm-up: peak ${early.toFixed(0)} MiB in the first third, ${late.toFixed(0)} MiB ` +
    `in the last (bound: +${RSS_GROWTH_MIB} MiB); event-loop p99 median ${medianLoopP99} ms`)
  console.log(`Redis connections of the service: ${[...connections].join(', ')}`)
  console.log(`Tag records left 6 s after the load, when every tagged entry has expired: ${tagRecordsLeft}`)

  const failures = [
    ...(load.unexpected > 0 ? [`${load.unexpected} requests failed`] : []),
    ...(late > early + RSS_GROWTH_MIB ? [`RSS grew from ${early.toFixed(0)} to ${late.toFixed(0)} MiB`] : []),
    ...(connections.size !== 1 ? [`the Redis connection count changed: ${[...connections].join(', ')}`] : []),
    ...(tagRecordsLeft > 0 ? [`${tagRecordsLeft} tag records outlived their entries`] : [])
  ]
  for (const failure of failures) console.log(`FAILED: ${failure}`)
  if (failures.length === 0) console.log('soak passed')
  process.exitCode = failures.length === 0 ? 0 : 1
} finally {
  admin.disconnect()
  await service.stop()
  redis.stop()
}
