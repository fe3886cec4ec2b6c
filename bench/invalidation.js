// The invalidation delay of npm run bench: two replicas of the service with the near cache's fresh reads on, on one
// Redis. A reader keeps the key hot in its near cache; a writer replaces the value; the delay is from the writer's
// answer to the first read from the reader that returns the new value. Run from the bench process.
import { setTimeout as sleep } from 'node:timers/promises'

const CHANGES = 300

/** p50, p99 and the largest delay in ms over CHANGES changes, and how many reads the reader answered from memory. */
export async function invalidationDelay (reader, writer) {
  const delays = []
  for (let i = 0; i < CHANGES; i++) {
    const value = `value ${i}`
    await (await fetch(`${writer}/cache/changing?ttl=3600`, { method: 'PUT', body: value })).arrayBuffer()
    // Warm: the reader answers this value from memory before it changes.
    while (!(await read(reader)).fromMemory) await sleep(1)
    const next = `value ${i} changed`
    await (await fetch(`${writer}/cache/changing?ttl=3600`, { method: 'PUT', body: next })).arrayBuffer()
    const answered = performance.now()
    while ((await read(reader)).body !== next);
    delays.push(performance.now() - answered)
  }
  delays.sort((a, b) => a - b)
  const at = (share) => delays[Math.min(delays.length - 1, Math.floor(share * delays.length))]
  return { changes: CHANGES, p50Ms: at(0.5), p99Ms: at(0.99), maxMs: delays.at(-1) }
}

async function read (base) {
  const res = await fetch(`${base}/cache/changing`)
  return { body: await res.text(), fromMemory: /detail=near-cache/.test(res.headers.get('cache-status') ?? '') }
}
