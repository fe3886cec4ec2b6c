// Runs hey, a load generator that offers a fixed rate (-q per worker): latency measured at a load the target
// keeps up with, rather than wrk's, which at full speed is mostly the queue of a saturated server.
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runMeasured } from './wrk.js'

const bodies = mkdtempSync(join(tmpdir(), 'cache-service-hey-'))

/**
 * Offers `rate` requests per second from `connections` workers for `seconds`; one request { method, path,
 * headers, body } as bench.js describes it (a body is a string, or { char, bytes }).
 */
export async function hey ({ base, request, rate, connections, seconds }) {
  const { method = 'GET', path, headers = {}, body } = request
  const args = ['-z', `${seconds}s`, '-c', String(connections), '-q', String(rate / connections), '-m', method]
  for (const [name, value] of Object.entries(headers)) args.push('-H', `${name}: ${value}`)
  if (body !== undefined) {
    const file = join(bodies, `${method}-${path.replace(/\W+/g, '-')}`)
    writeFileSync(file, typeof body === 'string' ? body : Buffer.alloc(body.bytes, body.char))
    args.push('-D', file)
  }
  const { stdout, cpuSeconds } = await runMeasured('hey', [...args, base + path])
  const answered = [...stdout.matchAll(/\[(\d+)\]\s+(\d+) responses/g)]
  const failed = answered.filter(([, status]) => Number(status) >= 400).reduce((sum, [, , n]) => sum + Number(n), 0)
  // Requests that got no answer: "[count]\t<what went wrong>" lines after "Error distribution:".
  const errors = [...(stdout.split('Error distribution:')[1] ?? '').matchAll(/^\s+\[(\d+)\]/gm)]
    .reduce((sum, [, n]) => sum + Number(n), 0)
  return {
    requestsPerSecond: Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)[1]),
    p50Ms: percentileMs(stdout, 50),
    p99Ms: percentileMs(stdout, 99),
    unexpected: failed + errors,
    loadGeneratorCpuShare: cpuSeconds / seconds
  }
}

function percentileMs (report, percentile) {
  return Number(new RegExp(`${percentile}% in ([\\d.]+) secs`).exec(report)[1]) * 1000
}
