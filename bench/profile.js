// Where a process's CPU goes, from V8's CPU profile of it (node --cpu-prof) over the seconds a scenario was
// measured: the samples grouped by what ran them, in µs per request. It is how `npm run bench` shows why a target
// is missed: the row and its reference profiled side by side.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** V8's default, a sample a millisecond: thousands in a few seconds, and the least the profiler disturbs. */
const INTERVAL_US = 1000

/** Native functions that write to a socket: their samples are the write system call, the kernel's TCP path included. */
const SOCKET_WRITES = new Set(['writev', 'writeUtf8String', 'writeLatin1String', 'writeBuffer', 'writeAsciiString',
  'writeUcs2String'])

/** What ran a sample, by the script it is in, first match wins; native frames are counted with their caller. */
const COMPONENTS = [
  ['ioredis', /node_modules\/(ioredis|@ioredis|standard-as-callback|redis-errors|cluster-key-slot)\//],
  ['Fastify and its plugins', new RegExp('node_modules/(fastify|@fastify|find-my-way|avvio|light-my-request|' +
    'fast-json-stringify|fast-querystring|fast-uri|fastify-plugin|fastify-type-provider-zod|toad-cache|rfdc|' +
    'secure-json-parse|process-warning|abstract-logging|helmet)/')],
  ['zod', /node_modules\/zod\//],
  ['prom-client', /node_modules\/(prom-client|tdigest|bintrees)\//],
  ['pino', /node_modules\/(pino|sonic-boom|thread-stream|fast-redact|quick-format-unescaped|safe-stable-stringify)/],
  ['other packages', /node_modules\//],
  ['the process\'s own code', /\/(dist|bench)\//],
  ['crypto', /^node:internal\/crypto\//],
  ['Node: HTTP, sockets, streams, events, timers', /^node:/]
]
const SOCKET = 'socket writes (the system call)'
const GC = 'garbage collection'
const OTHER = 'V8 and the event loop (compiling, microtasks, native)'
/** The order the table lists them in. */
export const COMPONENT_NAMES = [SOCKET, GC, ...COMPONENTS.map(([name]) => name), OTHER]

/** Node flags that profile a process into a directory of its own; read it with readProfile. */
export function profiling () {
  const dir = mkdtempSync(join(tmpdir(), 'cache-service-profile-'))
  return { dir, nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${dir}`, `--cpu-prof-interval=${INTERVAL_US}`] }
}

/** The profile a process wrote on exit, read and its directory removed. */
export function readProfile (dir) {
  const [file] = readdirSync(dir).filter((name) => name.endsWith('.cpuprofile'))
  if (file === undefined) throw new Error(`no profile in ${dir}: did the process exit cleanly?`)
  const profile = JSON.parse(readFileSync(join(dir, file), 'utf8'))
  rmSync(dir, { recursive: true })
  return profile
}

/**
 * The busy samples taken within window ({ from, to }, µs of the monotonic clock) as shares: of each component, and
 * of each function by itself (self time), the idle ones left out.
 */
export function breakdown (profile, window) {
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]))
  const parents = new Map()
  for (const node of profile.nodes) for (const child of node.children ?? []) parents.set(child, node.id)
  const componentOf = new Map()
  const component = (id) => {
    if (!componentOf.has(id)) {
      componentOf.set(id, classify(nodes.get(id), () => parents.has(id) ? component(parents.get(id)) : OTHER))
    }
    return componentOf.get(id)
  }
  const components = new Map()
  const functions = new Map()
  let busy = 0
  let at = profile.startTime
  profile.samples.forEach((id, i) => {
    at += profile.timeDeltas[i]
    const { functionName, url, lineNumber } = nodes.get(id).callFrame
    if (at < window.from || at > window.to || functionName === '(idle)') return
    busy++
    const name = component(id)
    components.set(name, (components.get(name) ?? 0) + 1)
    const file = url.replace(/^.*node_modules\//, '').replace(/^.*\/(dist|bench)\//, '$1/')
    const where = url === '' ? '' : ` (${file}:${lineNumber + 1})`
    const fn = `${functionName || '(anonymous)'}${where}`
    functions.set(fn, (functions.get(fn) ?? 0) + 1)
  })
  const shares = (counts) => new Map([...counts].map(([name, count]) => [name, count / busy]))
  return { components: shares(components), functions: shares(functions) }
}

function classify ({ callFrame: { functionName, url } }, ofCaller) {
  if (functionName === '(garbage collector)') return GC
  if (functionName === '(program)' || functionName === '(root)') return OTHER
  if (url === '') return SOCKET_WRITES.has(functionName) ? SOCKET : ofCaller()
  return COMPONENTS.find(([, pattern]) => pattern.test(url))?.[0] ?? OTHER
}
