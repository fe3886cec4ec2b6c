// Runs src/server.ts (or another entry, such as src/check-redis.ts) as a real process, the way `npm start` does,
// with the same TypeScript loader as the tests.
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'

const SERVER = fileURLToPath(new URL('../../src/server.ts', import.meta.url))

export interface ServerProcess {
  child: ChildProcess
  stdout (): string
  stderr (): string
  /** Resolves with the exit code (or the signal) once the process has ended. */
  exited: Promise<number | string>
  /** Resolves once a log line's message contains the text. */
  logged (text: string, timeoutMs?: number): Promise<void>
}

export function startServerProcess (env: Record<string, string>, entry = SERVER): ServerProcess {
  // The loader flags tap runs this test with (ts-node among them) let the child run the TypeScript source.
  const child = spawn(process.execPath, [...process.execArgv, entry], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let stdout = ''
  let stderr = ''
  child.stdout?.on('data', (chunk: Buffer) => { stdout += chunk.toString() })
  child.stderr?.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
  const exited = once(child, 'exit').then(([code, signal]) => (code ?? signal) as number | string)

  return {
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    exited,
    async logged (text, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs
      while (!stdout.includes(text)) {
        if (child.exitCode !== null) throw new Error(`server exited early:\n${stdout}\n${stderr}`)
        if (Date.now() > deadline) throw new Error(`no "${text}" in the log:\n${stdout}\n${stderr}`)
        await new Promise((resolve) => setTimeout(resolve, 25))
      }
    }
  }
}
