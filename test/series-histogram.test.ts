// The histograms observed on every request write what prom-client's own Histogram writes for the same observations,
// in both of the registry's text formats (the metrics listener serves them), so dashboards and alerts cannot tell them
// apart.
import { Histogram, Registry, type RegistryContentType } from 'prom-client'
import t from 'tap'
import { SeriesHistogram } from '../src/series-histogram.js'

const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.1, 1]
const LABELS = ['route', 'method', 'status_code'] as const
/** Below the first bound, on a bound (which counts in its bucket), between bounds, past the last, and zero. */
const OBSERVED: Array<[labels: Record<(typeof LABELS)[number], string>, seconds: number]> = [
  [{ route: '/cache/:key', method: 'GET', status_code: '200' }, 0.0001],
  [{ route: '/cache/:key', method: 'GET', status_code: '200' }, 0.0005],
  [{ route: '/cache/:key', method: 'GET', status_code: '200' }, 0.003],
  [{ route: '/cache/:key', method: 'GET', status_code: '200' }, 7.5],
  [{ route: '/cache/:key', method: 'PUT', status_code: '201' }, 0],
  [{ route: '/cache/:key', method: 'PUT', status_code: '201' }, 1],
  // A label value the text format has to escape.
  [{ route: '/a "quoted"\\path\n', method: 'GET', status_code: '404' }, 0.02]
]

function both (contentType: RegistryContentType = Registry.PROMETHEUS_CONTENT_TYPE) {
  const [ours, theirs] = [new Registry<RegistryContentType>(), new Registry<RegistryContentType>()]
  ours.setContentType(contentType)
  theirs.setContentType(contentType)
  const config = { name: 'request_seconds', help: 'Time to answer', labelNames: LABELS, buckets: BUCKETS }
  const series = new SeriesHistogram({ ...config, registers: [ours] })
  const histogram = new Histogram({ ...config, labelNames: [...LABELS], registers: [theirs] })
  for (const [labels, seconds] of OBSERVED) {
    series.series(labels).observe(seconds)
    histogram.labels(labels).observe(seconds)
  }
  return { ours, theirs, series }
}

t.test('the text format, line for line', async (t) => {
  const { ours, theirs } = both()
  const text = await ours.metrics()
  t.equal(text, await theirs.metrics())
  t.match(text, /^request_seconds_bucket\{le="0.0005",route="\/cache\/:key",method="GET",status_code="200"\} 2$/m)
  t.match(text, /^request_seconds_bucket\{le="\+Inf",route="\/cache\/:key",method="GET",status_code="200"\} 4$/m)
  t.match(text, /^request_seconds_count\{route="\/cache\/:key",method="PUT",status_code="201"\} 2$/m)
})

t.test('OpenMetrics, line for line', async (t) => {
  const { ours, theirs } = both(Registry.OPENMETRICS_CONTENT_TYPE)
  t.equal(await ours.metrics(), await theirs.metrics())
})

t.test('a series found twice is one series; one found after a reset counts from nothing', async (t) => {
  const { ours, series } = both()
  const get = series.series({ route: '/cache/:key', method: 'GET', status_code: '200' })
  t.equal(series.series({ status_code: '200', method: 'GET', route: '/cache/:key' }), get)
  ours.resetMetrics()
  get.observe(0.002)
  const text = await ours.metrics()
  t.match(text, /^request_seconds_count\{route="\/cache\/:key",method="GET",status_code="200"\} 1$/m)
  t.match(text, /^request_seconds_sum\{route="\/cache\/:key",method="GET",status_code="200"\} 0.002$/m)
  t.match(text, /^request_seconds_count\{route="\/cache\/:key",method="PUT",status_code="201"\} 0$/m)
})

t.test('one name per registry, as for any metric', async (t) => {
  const registry = new Registry()
  const config = { name: 'taken_seconds', help: 'x', labelNames: [], buckets: BUCKETS, registers: [registry] }
  new SeriesHistogram(config) // eslint-disable-line no-new
  t.throws(() => new Histogram(config), /already been registered/)
})
