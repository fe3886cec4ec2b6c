// Builds the app the way server.ts does, from an environment, and closes it when the test ends.
import type { AddressInfo } from 'node:net'
import { Writable } from 'node:stream'
import type { FastifyInstance } from 'fastify'
import { buildApp, type AppOptions } from '../../src/app.js'
import { loadConfig } from '../../src/config/index.js'
import { holdToDocument } from './openapi-conformance.js'

interface Teardown { teardown (fn: () => unknown): void }

export interface TestAppOptions {
  /** Environment variables on top of the defaults; REDIS_URL selects Redis. */
  env?: Record<string, string>
  /** Collect log lines here (as parsed JSON) instead of discarding them. */
  logs?: LogCapture
  /** buildApp's own options (a credential, shorter JWKS intervals, ...). */
  options?: AppOptions
}

export async function buildTestApp (t: Teardown, { env = {}, logs, options = {} }: TestAppOptions = {})
  : Promise<FastifyInstance> {
  const config = loadConfig({ LOG_LEVEL: logs === undefined ? 'silent' : 'debug', AUTH_MODE: 'none', ...env })
  const app = await buildApp(config, { ...options, ...(logs !== undefined && { logStream: logs.stream }) })
  t.teardown(() => app.close())
  holdToDocument(app)
  return app
}

/**
 * buildTestApp, listening on a free loopback port, for tests that open connections of their own. Load shedding is
 * off unless env turns it on: hundreds of connections opened at once lag the event loop past its default bound.
 */
export async function listeningTestApp (t: Teardown, env: Record<string, string> = {}) {
  const app = await buildTestApp(t, { env: { MAX_EVENT_LOOP_DELAY_MS: '0', ...env } })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as AddressInfo
  return { app, port, base: `http://127.0.0.1:${port}` }
}

/** The value of a metric without labels, as the next scrape would read it. */
export async function metricValue (app: FastifyInstance, name: string): Promise<number | undefined> {
  return (await app.metrics.registry.getSingleMetric(name)?.get())?.values[0]?.value
}

export interface LogCapture {
  stream: Writable
  /** Everything logged so far, raw. */
  text (): string
  lines (): Array<Record<string, unknown>>
}

export function captureLogs (): LogCapture {
  let text = ''
  const stream = new Writable({
    write (chunk: Buffer, _encoding, done) {
      text += chunk.toString()
      done()
    }
  })
  return {
    stream,
    text: () => text,
    lines: () => text.split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>)
  }
}
