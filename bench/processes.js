// The processes a benchmark run measures, each on its own free loopback port: a private redis-server, the
// service's production build (node dist/server.js), the bare Fastify ceiling and the bare Redis proxy. Stopped
// when the run ends.
//
// Each Node process, the references' too, runs as it would in the chart's pod: with its NODE_OPTIONS, and under the
// memory limit it gives the container, in a memory cgroup of its own where one can be made. Node sizes V8's heap from
// that limit (a heap of about 260 MiB under 384 MiB, against 4 GiB on this 24 GiB machine), and with it how long
// garbage waits to be collected: without it, peak RSS measures this machine's memory rather than what a pod holds.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs'
import { createServer as createHttpServer } from 'node:http'
import { createServer } from 'node:net'
import { basename } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import YAML from 'yaml'

const SERVER = fileURLToPath(new URL('../dist/server.js', import.meta.url))
const CEILING = fileURLToPath(new URL('./ceiling.js', import.meta.url))
const PROXY = fileURLToPath(new URL('./proxy.js', import.meta.url))

const VALUES = YAML.parse(readFileSync(fileURLToPath(new URL('../helm/cache-service/values.yaml', import.meta.url)),
  'utf8'))
/** The chart's resources.limits.memory, in bytes: what a container of the service may hold. */
export const POD_MEMORY_LIMIT = (() => {
  const [, amount, unit] = /^(\d+)(Mi|Gi)$/.exec(VALUES.resources.limits.memory) ?? []
  if (amount === undefined) throw new Error(`resources.limits.memory: ${VALUES.resources.limits.memory}, not Mi or Gi`)
  return Number(amount) * 2 ** (unit === 'Gi' ? 30 : 20)
})()
/** The chart's nodeOptions, the container's NODE_OPTIONS. */
export const POD_NODE_OPTIONS = VALUES.nodeOptions ?? ''

/**
 * Where a memory cgroup can be made (cgroup v1's memory hierarchy, or v2 with the memory controller), or undefined:
 * then the processes run without a limit, and the report says so.
 */
export const MEMORY_CGROUPS = (() => {
  const hierarchies = [['/sys/fs/cgroup/memory', 'memory.limit_in_bytes'], ['/sys/fs/cgroup', 'memory.max']]
  for (const [root, limitFile] of hierarchies) {
    const probe = `${root}/cache-service-bench-probe-${process.pid}`
    try {
      if (!existsSync(`${root}/cgroup.procs`)) continue
      mkdirSync(probe)
      writeFileSync(`${probe}/${limitFile}`, String(POD_MEMORY_LIMIT))
      rmdirSync(probe)
      return { root, limitFile }
    } catch {
      try { rmdirSync(probe) } catch {}
    }
  }
  return undefined
})()

/** How each process this run started and that has ended ended, by pid: a reading of a gone process names it. */
const endings = new Map()

/** Records how `child`, called `name`, ends. */
function named (child, name) {
  child.once('exit', (code, signal) => {
    endings.set(child.pid, `${name} (pid ${child.pid}) ended with ` + (signal === null
      ? `exit code ${code}`
      : `${signal}${signal === 'SIGKILL' ? ' (as the kernel ends a process at its memory limit: see dmesg)' : ''}`))
  })
  return child
}

/** A file of /proc/<pid>; when the process is gone, an error that says which it was and how it ended. */
export function procFile (pid, file) {
  try {
    return readFileSync(`/proc/${pid}/${file}`, 'utf8')
  } catch (error) {
    if (error.code !== 'ENOENT') throw error
    throw new Error(`a measured process is gone: ${endings.get(pid) ?? `pid ${pid}, not one this run started`}`)
  }
}

/**
 * Starts node with args, called `name`, in a memory cgroup of its own limited to the pod's limit where one can be
 * made.
 */
function spawnNode (name, args, { env = process.env, ...options }) {
  options.env = { ...env, NODE_OPTIONS: POD_NODE_OPTIONS }
  if (MEMORY_CGROUPS === undefined) return named(spawn(process.execPath, args, options), name)
  const { root, limitFile } = MEMORY_CGROUPS
  const group = `${root}/cache-service-bench-${process.pid}-${++cgroups}`
  mkdirSync(group)
  writeFileSync(`${group}/${limitFile}`, String(POD_MEMORY_LIMIT))
  // The shell joins the group, then becomes node: Node reads its limit when it starts.
  const child = spawn('sh', ['-c', 'echo $$ > "$1" && shift && exec "$@"', 'sh', `${group}/cgroup.procs`,
    process.execPath, ...args], options)
  child.once('exit', () => { try { rmdirSync(group) } catch {} })
  return named(child, name)
}
let cgroups = 0

export async function freePort () {
  const server = createServer().listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address()
  server.close()
  return port
}

async function until (ready, what) {
  const deadline = Date.now() + 30_000
  while (!(await ready())) {
    if (Date.now() > deadline) throw new Error(`${what} did not start`)
    await sleep(50)
  }
}

async function answers (url) {
  try {
    return (await fetch(url)).ok
  } catch {
    return false
  }
}

export async function startRedis () {
  const port = await freePort()
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no']
  const child = named(spawn('redis-server', args), 'redis-server')
  let output = ''
  child.stdout.on('data', (chunk) => { output += chunk })
  await until(() => output.includes('Ready to accept connections'), 'redis-server')
  return { url: `redis://127.0.0.1:${port}`, pid: child.pid, stop: () => child.kill('SIGKILL') }
}

/**
 * The production build with production settings (JSON logs at info to stdout, metrics on their port), plus env.
 * stdout goes to /dev/null: the process writes every log line as it would in a pod. nodeArgs: flags for node (the
 * profiler's, bench/profile.js).
 */
export async function startService (env, nodeArgs = []) {
  const port = await freePort()
  const metricsPort = await freePort()
  const child = spawnNode('the service', [...nodeArgs, SERVER], {
    env: {
      PATH: process.env.PATH,
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      PORT: String(port),
      METRICS_PORT: String(metricsPort),
      LOG_LEVEL: 'info',
      ...env
    },
    stdio: ['ignore', 'ignore', 'inherit']
  })
  const base = `http://127.0.0.1:${port}`
  await until(() => answers(`${base}/readyz`), 'the service')
  return { base, metrics: `http://127.0.0.1:${metricsPort}/metrics`, pid: child.pid, stop: () => stop(child) }
}

/** A process's resident memory now, in MiB. */
export function rssMiB (pid) {
  return Number(/VmRSS:\s+(\d+)/.exec(procFile(pid, 'status'))?.[1] ?? 0) / 1024
}

/** The bare Fastify route answering a constant 1 KiB (ceiling.js); with the service's response headers if asked. */
export async function startCeiling ({ serviceHeaders = false } = {}, nodeArgs = []) {
  return await startReference(nodeArgs, CEILING, ...(serviceHeaders ? ['--headers'] : []))
}

/** The bare Fastify + ioredis GET proxy (proxy.js), on the given Redis. */
export async function startProxy (redisUrl, nodeArgs = []) {
  return await startReference(nodeArgs, PROXY, redisUrl)
}

async function startReference (nodeArgs, script, ...args) {
  const port = await freePort()
  const child = spawnNode(basename(script), [...nodeArgs, script, String(port), ...args], {
    stdio: ['ignore', 'ignore', 'inherit', 'ipc']
  })
  await once(child, 'message')
  return { base: `http://127.0.0.1:${port}`, pid: child.pid, stop: () => stop(child) }
}

async function stop (child) {
  if (child.exitCode !== null) return
  const exited = once(child, 'exit')
  child.kill('SIGTERM')
  await exited
}

/**
 * Samples a process's resident memory every 100 ms while `work` runs, and reads the CPU time it used meanwhile, and
 * that of another process (redis-server) if given; resolves with the work's result, the peak, the CPU seconds, and
 * when the work ran (µs of the monotonic clock, which V8's profiles count in too).
 */
export async function withProcessUsage (pid, work, alsoPid) {
  let peak = 0
  const sample = () => { peak = Math.max(peak, rssMiB(pid)) }
  const timer = setInterval(sample, 100)
  try {
    sample()
    const cpuBefore = cpuSeconds(pid)
    const alsoBefore = alsoPid === undefined ? 0 : cpuSeconds(alsoPid)
    const from = monotonicMicroseconds()
    const result = await work()
    const to = monotonicMicroseconds()
    const cpuAfter = cpuSeconds(pid)
    const alsoAfter = alsoPid === undefined ? 0 : cpuSeconds(alsoPid)
    sample()
    return {
      ...result,
      peakRssMiB: peak,
      cpuSeconds: cpuAfter - cpuBefore,
      alsoCpuSeconds: alsoAfter - alsoBefore,
      window: { from, to }
    }
  } finally {
    clearInterval(timer)
  }
}

function monotonicMicroseconds () {
  return Number(process.hrtime.bigint() / 1000n)
}

/** User and system CPU time of a process so far: /proc/<pid>/stat counts it in ticks of 1/100 s (USER_HZ). */
export function cpuSeconds (pid) {
  // The command name, in parentheses, may hold spaces; the fields after it are fixed.
  const fields = procFile(pid, 'stat').split(') ')[1].split(' ')
  return (Number(fields[11]) + Number(fields[12])) / 100
}

/** An OTLP/HTTP receiver that takes every export and keeps nothing but their count, as a collector would answer. */
export async function startOtlpSink () {
  let exports = 0
  const server = createHttpServer((request, response) => {
    request.resume()
    request.on('end', () => {
      exports++
      response.writeHead(200, { 'content-type': request.headers['content-type'] ?? 'application/x-protobuf' }).end()
    })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    exports: () => exports,
    stop: () => new Promise((resolve) => server.close(resolve))
  }
}
