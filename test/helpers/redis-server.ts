// Starts real redis-server processes on free ports for a test, and stops them when the test ends.
// Never the shared Redis on 6379: each test file gets servers of its own.
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { Redis } from 'ioredis'
import { freePort } from './free-port.js'

export interface RedisServerOptions {
  /** Extra redis-server arguments, as `--name value` pairs. */
  args?: string[]
  /** Serve TLS only, with these PEM files (see tls.ts). */
  tls?: { certFile: string, keyFile: string, caFile: string, ca: string }
}

export interface RedisServer {
  port: number
  url: string
  /** How a client of the test's own reaches it: address, and TLS trust when it serves TLS. */
  clientOptions: { port: number, host: string, tls?: { ca: string, servername: string } }
  /** A client for the test's own inspection of the server (CLIENT LIST, KEYS, ...). */
  admin (): Redis
  /** Kills the process, as a crash would. */
  kill (): Promise<void>
  /** Starts it again on the same port. */
  restart (): Promise<void>
  /** Freezes it (SIGSTOP): it keeps its connections open but answers nothing, like a hung server. */
  pause (): void
  resume (): void
  stop (): Promise<void>
}

interface Teardown { teardown (fn: () => unknown): void }

export async function startRedis (t: Teardown, options: RedisServerOptions = {}): Promise<RedisServer> {
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), 'cache-service-redis-'))
  let child: ChildProcess | undefined
  const admins: Redis[] = []

  const launch = async () => {
    const listen = options.tls === undefined
      ? ['--port', String(port)]
      : ['--port', '0', '--tls-port', String(port), '--tls-cert-file', options.tls.certFile,
          '--tls-key-file', options.tls.keyFile, '--tls-ca-cert-file', options.tls.caFile, '--tls-auth-clients', 'no']
    child = spawn('redis-server', [
      ...listen, '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, ...(options.args ?? [])
    ], { stdio: ['ignore', 'pipe', 'pipe'] })
    await waitUntilReady(child, port)
  }

  const kill = async () => {
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return
    const exited = once(child, 'exit')
    child.kill('SIGKILL')
    await exited
  }

  const server: RedisServer = {
    port,
    url: `${options.tls === undefined ? 'redis' : 'rediss'}://127.0.0.1:${port}`,
    clientOptions: {
      port,
      host: '127.0.0.1',
      ...(options.tls !== undefined && { tls: { ca: options.tls.ca, servername: 'localhost' } })
    },
    admin () {
      const client = new Redis({ ...server.clientOptions, maxRetriesPerRequest: 1 })
      admins.push(client)
      return client
    },
    kill,
    restart: launch,
    pause: () => { child?.kill('SIGSTOP') },
    resume: () => { child?.kill('SIGCONT') },
    async stop () {
      for (const client of admins) client.disconnect()
      child?.kill('SIGCONT')
      await kill()
      rmSync(dir, { recursive: true, force: true })
    }
  }

  await launch()
  t.teardown(() => server.stop())
  return server
}

async function waitUntilReady (child: ChildProcess, port: number): Promise<void> {
  let output = ''
  child.stdout?.on('data', (chunk: Buffer) => { output += chunk.toString() })
  child.stderr?.on('data', (chunk: Buffer) => { output += chunk.toString() })
  const deadline = Date.now() + 10_000
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`redis-server on port ${port} exited:\n${output}`)
    if (output.includes('Ready to accept connections')) return
    await sleep(20)
  }
  child.kill('SIGKILL')
  throw new Error(`redis-server on port ${port} did not start in time:\n${output}`)
}
