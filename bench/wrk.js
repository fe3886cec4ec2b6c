// Runs wrk, a load generator in a process of its own, and reads its report: requests per second, latency
// percentiles, and the requests that did not get the status the scenario expects; and how busy wrk itself was,
// since a row in which the load generator saturates its core measures wrk, not the service.
import { spawn } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { cpuSeconds } from './processes.js'

const scripts = mkdtempSync(join(tmpdir(), 'cache-service-bench-'))

/**
 * A wrk Lua script sending one request, or a weighted mix of them, each { method, path, headers, body, weight }.
 * One request is wrk's static request (wrk.method, wrk.path, …): with no request() function, wrk builds it once
 * and never enters Lua again, as a plain `wrk <url>` does. A mix needs request(), which costs a Lua call per
 * request; its requests are formatted once, so that call is only a random draw.
 */
export function luaScript (name, requests) {
  const file = join(scripts, `${name}.lua`)
  writeFileSync(file, (requests.length === 1 ? staticRequest(requests[0]) : mixedRequests(requests)) + '\n')
  return file
}

function staticRequest ({ method = 'GET', path, headers = {}, body }) {
  return [
    `wrk.method = ${lua(method)}`,
    `wrk.path = ${lua(path)}`,
    ...Object.entries(headers).map(([key, value]) => `wrk.headers[${lua(key)}] = ${lua(value)}`),
    ...body === undefined ? [] : [`wrk.body = ${luaBody(body)}`]
  ].join('\n')
}

function mixedRequests (requests) {
  // Formatted in init(), which wrk calls after it has set the Host header from the URL: at load time wrk.format
  // would write requests without one, and every answer would be a 400.
  const lines = ['local requests = {}', 'init = function(args)']
  for (const { method = 'GET', path, headers = {}, body, weight = 1 } of requests) {
    const headerTable = Object.entries(headers).map(([key, value]) => `[${lua(key)}] = ${lua(value)}`).join(', ')
    const formatted = `wrk.format(${lua(method)}, ${lua(path)}, { ${headerTable} }, ${luaBody(body)})`
    lines.push(`  for _ = 1, ${weight} do table.insert(requests, ${formatted}) end`)
  }
  lines.push('end', 'request = function() return requests[math.random(#requests)] end')
  return lines.join('\n')
}

/** A body is a string sent as it is, or { char, bytes }: that many bytes of one character. */
function luaBody (body) {
  if (body === undefined) return 'nil'
  return typeof body === 'string' ? lua(body) : `string.rep(${lua(body.char)}, ${body.bytes})`
}

function lua (value) {
  return JSON.stringify(String(value))
}

/** Runs wrk against base with the script; expects every answer to be `expect` ('ok': below 400, or 404). */
export async function wrk ({ base, script, connections, seconds, expect = 'ok' }) {
  const args = ['-t', '1', '-c', String(connections), '-d', `${seconds}s`, '--timeout', '5s', '--latency',
    '-s', script, base]
  const { stdout, cpuSeconds } = await runMeasured('wrk', args)
  const requests = Number(/(\d+) requests in/.exec(stdout)[1])
  // wrk counts answers with a status of 400 or more as "Non-2xx or 3xx".
  const refused = Number(/Non-2xx or 3xx responses: (\d+)/.exec(stdout)?.[1] ?? 0)
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(stdout)
  const socketErrors = socket === null ? 0 : socket.slice(1).reduce((sum, n) => sum + Number(n), 0)
  return {
    requestsPerSecond: Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)[1]),
    p50Ms: latencyMs(stdout, '50%'),
    p99Ms: latencyMs(stdout, '99%'),
    unexpected: (expect === 404 ? requests - refused : refused) + socketErrors,
    // wrk runs one thread: a share near 1 means it, not the service, set the pace.
    loadGeneratorCpuShare: cpuSeconds / seconds
  }
}

/**
 * Runs a program to its end; its output, and the CPU time it used, read from /proc every 50 ms while it runs (the
 * last 50 ms before it exits go uncounted: under 1 % of a run of seconds).
 */
export async function runMeasured (command, args) {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'inherit'] })
  let stdout = ''
  let used = 0
  child.stdout.on('data', (chunk) => { stdout += chunk })
  const sample = () => {
    try {
      used = cpuSeconds(child.pid)
    } catch {}
  }
  const timer = setInterval(sample, 50)
  const code = await new Promise((resolve, reject) => {
    child.once('error', reject)
    child.once('close', resolve)
  }).finally(() => clearInterval(timer))
  if (code !== 0) throw new Error(`${command} exited ${code}`)
  return { stdout, cpuSeconds: used }
}

function latencyMs (report, percentile) {
  const [, value, unit] = new RegExp(`^\\s+${percentile}\\s+([\\d.]+)(us|ms|s)`, 'm').exec(report)
  return Number(value) * { us: 0.001, ms: 1, s: 1000 }[unit]
}
