// The tools the generated-client tests need beyond this package's own: a Node.js new enough for
// @hey-api/openapi-ts (>= 22.18), and Python virtual environments made from the wheels in ../shared/tools/wheels
// (no package index here). Each is made once and kept under node_modules/.cache/cache-service/.
import { execFile, spawnSync, type SpawnSyncOptions } from 'node:child_process'
import { existsSync, mkdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

export const ROOT = fileURLToPath(new URL('../../', import.meta.url))
export const CACHE = `${ROOT}node_modules/.cache/cache-service/`
/** Where CI puts the shared tools: beside the clone. CACHE_SERVICE_WHEELS names another place. */
const WHEELS = process.env.CACHE_SERVICE_WHEELS ??
  fileURLToPath(new URL('../../../shared/tools/wheels', import.meta.url))

/** Runs a command to completion; throws with its output when it fails. */
export function run (command: string, args: string[], options: SpawnSyncOptions = {}): string {
  const result = spawnSync(command, args, { encoding: 'utf8', timeout: 600_000, ...options })
  const output = `${String(result.stdout)}${String(result.stderr)}`
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} exited ${result.status}:\n${output}`)
  return output
}

/** As run, without blocking this process: for a program that talks to a service this process serves. */
export async function runAsync (command: string, args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  return await new Promise((resolve, reject) => {
    execFile(command, args, { env, timeout: 120_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err === null) resolve(stdout)
      else reject(new Error(`${command} ${args.join(' ')} failed: ${err.message}\n${stdout}${stderr}`))
    })
  })
}

function atLeast (version: string, major: number, minor: number): boolean {
  const [actualMajor = 0, actualMinor = 0] = version.split('.').map(Number)
  return actualMajor > major || (actualMajor === major && actualMinor >= minor)
}

/**
 * A node binary of version 22.18 or later: this one if it is, else CACHE_SERVICE_NODE (which .ci/run sets to the
 * image's Node), else the npm package node@26, installed once.
 */
export function modernNode (): string {
  if (atLeast(process.versions.node, 22, 18)) return process.execPath
  const given = process.env.CACHE_SERVICE_NODE
  if (given !== undefined && given !== '') return given
  const prefix = `${CACHE}node26`
  const binary = `${prefix}/node_modules/node/bin/node`
  if (!existsSync(binary)) {
    mkdirSync(prefix, { recursive: true })
    run('npm', ['install', '--prefix', prefix, '--no-save', '--no-audit', '--no-fund', 'node@26'])
  }
  return binary
}

/** A virtual environment holding one folder of the shared wheels; returns its bin/ folder. */
export function pythonTools (name: 'openapi-python-client' | 'schemathesis'): string {
  const venv = `${CACHE}python-${name}`
  if (!existsSync(`${venv}/.complete`)) {
    run('python3', ['-m', 'venv', '--clear', venv])
    run('sh', ['-c', `"${venv}/bin/pip" install -q --no-index --no-deps "${WHEELS}/${name}"/*.whl`])
    run('touch', [`${venv}/.complete`])
  }
  return `${venv}/bin`
}
