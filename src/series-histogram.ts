// The histograms observed on every request (request durations, Redis call durations): four observations a GET hit.
// prom-client's observe, even through a child found once with labels(), checks and hashes the labels again and keys
// its buckets by the bound as a string, each time: about 0.5 µs an observation, 2 µs a request. Here a series is
// found once, and an observation is a search of the bounds and three additions. The registry exposes it with the
// rest, in the same text prom-client writes for its own Histogram.
import type { Metric, Registry, RegistryContentType } from 'prom-client'

export interface HistogramConfig<Label extends string> {
  name: string
  help: string
  labelNames: readonly Label[]
  /** Upper bounds, in seconds, ascending; +Inf is added. */
  buckets: readonly number[]
  registers: ReadonlyArray<Registry<RegistryContentType>>
}

/** One series of a histogram: the durations of one set of label values. */
export interface HistogramSeries {
  observe: (seconds: number) => void
}

/** What the registry reads of a metric to write its lines (prom-client's own Histogram gives the same). */
interface Exposition {
  name: string
  help: string
  type: 'histogram'
  aggregator: 'sum'
  values: Array<{ metricName: string, labels: Record<string, string | number>, value: number }>
}

interface Series extends HistogramSeries {
  labels: Record<string, string>
  /** Observations per bucket, not cumulative; the last is +Inf's own. */
  counts: Float64Array
  sum: number
  count: number
}

export class SeriesHistogram<Label extends string> {
  readonly type = 'histogram'
  readonly aggregator = 'sum'
  readonly name: string
  readonly help: string
  readonly #labelNames: readonly Label[]
  readonly #bounds: readonly number[]
  readonly #series = new Map<string, Series>()

  constructor ({ name, help, labelNames, buckets, registers }: HistogramConfig<Label>) {
    this.name = name
    this.help = help
    this.#labelNames = labelNames
    this.#bounds = [...buckets].sort((a, b) => a - b)
    // The registry asks a metric for its name, get() and reset(); it has no type for metrics of one's own.
    for (const registry of registers) registry.registerMetric(this as unknown as Metric)
  }

  /** The series of these label values: find it once, observe through it on every call. */
  series (labels: Record<Label, string>): HistogramSeries {
    const values = this.#labelNames.map((name) => labels[name])
    const key = JSON.stringify(values)
    let series = this.#series.get(key)
    if (series === undefined) {
      const bounds = this.#bounds
      const counts = new Float64Array(bounds.length + 1)
      const created: Series = {
        labels: Object.fromEntries(this.#labelNames.map((name, index) => [name, values[index]!])),
        counts,
        sum: 0,
        count: 0,
        observe (seconds) {
          let bucket = 0
          while (bucket < bounds.length && seconds > bounds[bucket]!) bucket++
          counts[bucket]!++
          created.sum += seconds
          created.count++
        }
      }
      series = created
      this.#series.set(key, series)
    }
    return series
  }

  async get (): Promise<Exposition> {
    const values: Exposition['values'] = []
    const name = this.name
    for (const { labels, counts, sum, count } of this.#series.values()) {
      let cumulative = 0
      this.#bounds.forEach((bound, index) => {
        cumulative += counts[index]!
        values.push({ metricName: `${name}_bucket`, labels: { le: bound, ...labels }, value: cumulative })
      })
      values.push({ metricName: `${name}_bucket`, labels: { le: '+Inf', ...labels }, value: count })
      values.push({ metricName: `${name}_sum`, labels, value: sum })
      values.push({ metricName: `${name}_count`, labels, value: count })
    }
    return { name, help: this.help, type: this.type, aggregator: this.aggregator, values }
  }

  /** Every series back to nothing observed, as registry.resetMetrics() asks. */
  reset (): void {
    for (const series of this.#series.values()) {
      series.counts.fill(0)
      series.sum = 0
      series.count = 0
    }
  }
}
