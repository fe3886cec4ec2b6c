// promtool, Prometheus's own checker of rule files, for the chart's alerts: PROMTOOL if set, else on PATH, else taken
// from Debian's prometheus package (downloaded and unpacked, never installed: no service starts) into
// node_modules/.cache, once.
import { execFile } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

const run = promisify(execFile)
const CACHE = fileURLToPath(new URL('../../node_modules/.cache/promtool/', import.meta.url))
const UNPACKED = `${CACHE}root/usr/bin/promtool`

export async function promtool (): Promise<string> {
  if (process.env.PROMTOOL !== undefined) return process.env.PROMTOOL
  const onPath = await run('sh', ['-c', 'command -v promtool']).then(({ stdout }) => stdout.trim(), () => '')
  if (onPath !== '') return onPath
  if (existsSync(UNPACKED)) return UNPACKED
  mkdirSync(CACHE, { recursive: true })
  await run('apt-get', ['download', 'prometheus'], { cwd: CACHE })
  const deb = readdirSync(CACHE).find((name) => name.startsWith('prometheus_') && name.endsWith('.deb'))
  if (deb === undefined) throw new Error('apt-get download prometheus gave no package: set PROMTOOL')
  await run('dpkg-deb', ['-x', `${CACHE}${deb}`, `${CACHE}root`])
  return UNPACKED
}
