// The service's own spans, beside those of requests and Redis calls (plugins/tracing.ts): lease waits, token
// refreshes, tag invalidation batches. Through OpenTelemetry's API, which does next to nothing until the tracing
// plugin registers a provider, so the code that makes them need not know whether tracing is on.
import {
  context, createContextKey, SpanStatusCode, trace, type Attributes, type Span
} from '@opentelemetry/api'

/** The instrumentation scope of the service's own spans. */
export const TRACER_NAME = 'cache-service'

interface SpanOptions {
  root?: boolean
  attributes?: Attributes
}

/**
 * Runs `work` in a span of its own, a child of the active one (or the root of a trace of its own: `root`), ended when
 * the work is; a failure marks it an error with its kind, never its message.
 */
export async function inSpan<T> (name: string, { root = false, attributes }: SpanOptions,
  work: (span: Span) => Promise<T>): Promise<T> {
  return await trace.getTracer(TRACER_NAME).startActiveSpan(name, { root, attributes }, async (span) => {
    try {
      return await work(span)
    } catch (err) {
      span.setStatus({ code: SpanStatusCode.ERROR })
      span.setAttribute('error.type', err instanceof Error ? err.name : 'Error')
      throw err
    } finally {
      span.end()
    }
  })
}

/** An event on the active span, if it records: something worth seeing in a trace that takes no time of its own. */
export function traceEvent (name: string, attributes: Attributes): void {
  const span = trace.getActiveSpan()
  if (span?.isRecording() === true) span.addEvent(name, attributes)
}

const CALLS_UNTRACED = createContextKey('cache-service: Redis calls untraced')

/**
 * Runs `work`, which makes many Redis calls (a bulk request's keys, a tag's batch of entries), in one span that stands
 * for them all: its calls get no span each, so that a trace holds a bounded number of spans whatever the request.
 */
export async function inBatchSpan<T> (name: string, attributes: Attributes, work: (span: Span) => Promise<T>)
  : Promise<T> {
  return await inSpan(name, { attributes }, async (span) =>
    await context.with(context.active().setValue(CALLS_UNTRACED, true), async () => await work(span)))
}

/**
 * Whether a Redis call made now gets a span of its own: within a span that records (a sampled request; the many
 * unsampled ones pay for no more than this question), and not covered by a batch's span (inBatchSpan).
 */
export function callTraced (): boolean {
  const active = context.active()
  return trace.getSpan(active)?.isRecording() === true && active.getValue(CALLS_UNTRACED) !== true
}
