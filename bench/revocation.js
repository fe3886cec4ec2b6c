// The revocation row of npm run bench: "log out everywhere" for a subject with 100 sessions. Each round creates the
// subject's sessions, then times one POST /sessions/revoke from the bench process (latency, not throughput: a
// revocation is rare, and what a caller waits for is its answer). Run from the bench process.

const ROUNDS = 50
const SESSIONS = 100
const PARALLEL = 20

/** p50, p99 and the largest latency in ms over ROUNDS revocations, and how many sessions each ended. */
export async function revocationLatency (base) {
  const latencies = []
  const ended = new Set()
  for (let round = 0; round < ROUNDS; round++) {
    const subject = `bench-revocation-${round}`
    for (let made = 0; made < SESSIONS; made += PARALLEL) {
      await Promise.all(Array.from({ length: PARALLEL }, () => post(base, '/sessions', { subject, data: {} })))
    }
    const started = performance.now()
    const answer = await post(base, '/sessions/revoke', { subject })
    latencies.push(performance.now() - started)
    ended.add(answer.ended)
  }
  latencies.sort((a, b) => a - b)
  const at = (share) => latencies[Math.min(latencies.length - 1, Math.floor(share * latencies.length))]
  return {
    rounds: ROUNDS, sessions: SESSIONS, ended: [...ended], p50Ms: at(0.5), p99Ms: at(0.99), maxMs: latencies.at(-1)
  }
}

async function post (base, path, body) {
  const res = await fetch(`${base}${path}`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body)
  })
  if (!res.ok) throw new Error(`POST ${path} answered ${res.status}`)
  return await res.json()
}
