// OpenTelemetry tracing, set with the standard OTEL_* variables (the SDK's environment specification), read here like
// every other setting: off unless an OTLP endpoint (or OTEL_TRACES_EXPORTER=otlp) is set, and a bad value stops the
// process at startup instead of being ignored with a warning, as the SDK would. The SDK is given these values and
// reads no variable itself.
import type { z } from 'zod'
import { boolean, integer, optionalOneOf, optionalText, type Issue } from './env.js'

const PROTOCOLS = ['http/protobuf', 'http/json'] as const
const SAMPLERS = [
  'always_on', 'always_off', 'traceidratio', 'parentbased_always_on', 'parentbased_always_off',
  'parentbased_traceidratio'
] as const

export const TelemetryEnvShape = {
  OTEL_SDK_DISABLED: boolean(false),
  OTEL_TRACES_EXPORTER: optionalOneOf(['otlp', 'none']),
  OTEL_EXPORTER_OTLP_ENDPOINT: optionalText(),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: optionalText(),
  OTEL_EXPORTER_OTLP_PROTOCOL: optionalOneOf(PROTOCOLS),
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: optionalOneOf(PROTOCOLS),
  OTEL_EXPORTER_OTLP_HEADERS: optionalText(),
  OTEL_EXPORTER_OTLP_TRACES_HEADERS: optionalText(),
  OTEL_EXPORTER_OTLP_TIMEOUT: integer(1, 600_000, 10_000),
  OTEL_SERVICE_NAME: optionalText(),
  OTEL_RESOURCE_ATTRIBUTES: optionalText(),
  OTEL_TRACES_SAMPLER: optionalOneOf(SAMPLERS),
  OTEL_TRACES_SAMPLER_ARG: optionalText(),
  OTEL_BSP_SCHEDULE_DELAY: integer(1, 600_000, 5000),
  OTEL_BSP_EXPORT_TIMEOUT: integer(1, 600_000, 30_000),
  OTEL_BSP_MAX_QUEUE_SIZE: integer(1, 1_000_000, 2048),
  OTEL_BSP_MAX_EXPORT_BATCH_SIZE: integer(1, 1_000_000, 512)
}

type TelemetryEnv = z.output<z.ZodObject<typeof TelemetryEnvShape>>

export type TraceSampler = typeof SAMPLERS[number]

export interface TracingConfig {
  /** Where spans are sent (the traces path included), and how. */
  url: string
  protocol: typeof PROTOCOLS[number]
  /** Sent with every export (a collector's or Azure Monitor's credentials): a secret, never logged. */
  headers: Record<string, string>
  timeoutMs: number
  serviceName: string
  resourceAttributes: Record<string, string>
  sampler: TraceSampler
  /** The share of traces kept by the ratio samplers, 0 to 1. */
  samplerRatio: number
  /** The batch span processor: how often it exports, for how long, and the spans it holds at most (then drops). */
  batch: { scheduleDelayMs: number, exportTimeoutMs: number, maxQueueSize: number, maxExportBatchSize: number }
}

/** undefined: tracing is off, and nothing of OpenTelemetry runs. */
export function tracingConfigFrom (env: TelemetryEnv, issue: Issue): TracingConfig | undefined {
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT
  const url = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ??
    (base === undefined ? undefined : `${base.replace(/\/+$/, '')}/v1/traces`)
  if (env.OTEL_SDK_DISABLED || env.OTEL_TRACES_EXPORTER === 'none') return undefined
  if (url === undefined && env.OTEL_TRACES_EXPORTER === undefined) return undefined
  const endpoint = url ?? 'http://localhost:4318/v1/traces'
  if (!URL.canParse(endpoint) || !/^https?:$/.test(new URL(endpoint).protocol)) {
    issue(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT === undefined
      ? 'OTEL_EXPORTER_OTLP_ENDPOINT'
      : 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', 'must be an http or https URL')
  }
  if (env.OTEL_BSP_MAX_EXPORT_BATCH_SIZE > env.OTEL_BSP_MAX_QUEUE_SIZE) {
    issue('OTEL_BSP_MAX_EXPORT_BATCH_SIZE', 'must not exceed OTEL_BSP_MAX_QUEUE_SIZE')
  }
  const sampler = env.OTEL_TRACES_SAMPLER ?? 'parentbased_always_on'
  const resourceAttributes = keyValueList(env.OTEL_RESOURCE_ATTRIBUTES, 'OTEL_RESOURCE_ATTRIBUTES', issue)
  return {
    url: endpoint,
    protocol: env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? env.OTEL_EXPORTER_OTLP_PROTOCOL ?? 'http/protobuf',
    headers: {
      ...keyValueList(env.OTEL_EXPORTER_OTLP_HEADERS, 'OTEL_EXPORTER_OTLP_HEADERS', issue),
      ...keyValueList(env.OTEL_EXPORTER_OTLP_TRACES_HEADERS, 'OTEL_EXPORTER_OTLP_TRACES_HEADERS', issue)
    },
    timeoutMs: env.OTEL_EXPORTER_OTLP_TIMEOUT,
    // OTEL_SERVICE_NAME wins over a service.name among the resource attributes, as the specification says.
    serviceName: env.OTEL_SERVICE_NAME ?? resourceAttributes['service.name'] ?? 'cache-service',
    resourceAttributes,
    sampler,
    samplerRatio: samplerRatioFrom(env.OTEL_TRACES_SAMPLER_ARG, sampler.endsWith('traceidratio'), issue),
    batch: {
      scheduleDelayMs: env.OTEL_BSP_SCHEDULE_DELAY,
      exportTimeoutMs: env.OTEL_BSP_EXPORT_TIMEOUT,
      maxQueueSize: env.OTEL_BSP_MAX_QUEUE_SIZE,
      maxExportBatchSize: env.OTEL_BSP_MAX_EXPORT_BATCH_SIZE
    }
  }
}

/** The ratio samplers' argument: a number from 0 to 1, 1 when unset (as the specification says). */
function samplerRatioFrom (arg: string | undefined, used: boolean, issue: Issue): number {
  if (arg === undefined || !used) return 1
  const ratio = /^\d+(\.\d+)?$/.test(arg.trim()) ? Number(arg) : NaN
  if (!(ratio >= 0 && ratio <= 1)) issue('OTEL_TRACES_SAMPLER_ARG', 'must be a number from 0 to 1')
  return ratio
}

/**
 * The W3C Baggage-like list the OTEL_* variables use: `key1=value1,key2=value2`, each value percent-decoded. A
 * malformed entry is named by its position, never quoted: the headers carry credentials.
 */
function keyValueList (value: string | undefined, variable: string, issue: Issue): Record<string, string> {
  const entries: Record<string, string> = {}
  for (const [index, entry] of (value ?? '').split(',').entries()) {
    if (entry.trim() === '') continue
    const equals = entry.indexOf('=')
    const key = entry.slice(0, equals).trim()
    let decoded: string | undefined
    try {
      decoded = decodeURIComponent(entry.slice(equals + 1).trim())
    } catch {}
    if (equals <= 0 || key === '' || decoded === undefined) {
      issue(variable, `entry ${index + 1} must be key=value (the value percent-encoded)`)
      continue
    }
    entries[key] = decoded
  }
  return entries
}
