// The herd scenario of npm run bench: a hot key that keeps expiring under load from many callers, each reading it
// cache-aside (on a miss, compute the value and PUT it). Without leases every caller that misses computes; with
// leases (Cache-Lease: acquire, Prefer: wait) one caller per expiry computes and the others wait for its value.
// Run from the bench process, a process apart from the service's.
import { setTimeout as sleep } from 'node:timers/promises'

const CALLERS = 200
const TTL_S = 1
const COMPUTE_MS = 50

/** Runs both ways for `seconds` each and reports, for each, the computations per expiry of the key. */
export async function herd (base, seconds) {
  const rows = []
  for (const withLeases of [false, true]) {
    const key = `herd-${withLeases ? 'leases' : 'plain'}`
    const stats = { computations: 0, reads: 0, failed: 0 }
    const deadline = Date.now() + seconds * 1000
    await Promise.all(Array.from({ length: CALLERS }, async () => {
      while (Date.now() < deadline) {
        try {
          await (withLeases ? readWithLease : readPlain)(base, key, stats)
          stats.reads++
        } catch {
          stats.failed++
        }
      }
    }))
    // Each expiry of the key is one chance for a herd: seconds / TTL of them, give or take the compute time.
    const expiries = seconds / (TTL_S + COMPUTE_MS / 1000)
    rows.push({ withLeases, ...stats, perExpiry: stats.computations / expiries })
  }
  return rows
}

async function readPlain (base, key, stats) {
  const res = await fetch(`${base}/cache/${key}`)
  await res.arrayBuffer()
  if (res.ok) return
  stats.computations++
  await sleep(COMPUTE_MS)
  await (await fetch(`${base}/cache/${key}?ttl=${TTL_S}`, { method: 'PUT', body: 'computed' })).arrayBuffer()
}

async function readWithLease (base, key, stats) {
  for (;;) {
    const res = await fetch(`${base}/cache/${key}`, { headers: { 'cache-lease': 'acquire', prefer: 'wait=2' } })
    await res.arrayBuffer()
    if (res.ok) return
    if (res.status !== 404) throw new Error(`status ${res.status}`)
    const token = res.headers.get('cache-lease-token')
    if (token === null) continue
    stats.computations++
    await sleep(COMPUTE_MS)
    const put = await fetch(`${base}/cache/${key}?ttl=${TTL_S}`, {
      method: 'PUT', headers: { 'cache-lease-token': token }, body: 'computed'
    })
    await put.arrayBuffer()
    return
  }
}
