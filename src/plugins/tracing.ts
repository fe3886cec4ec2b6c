// OpenTelemetry traces, when OTEL_* configures them (config/telemetry.ts): a server span per request, continuing the
// caller's W3C traceparent, a client span per Redis call under it (the store's calls, traced on a diagnostics
// channel), and the request's log lines carrying its trace_id and span_id. Spans go out over OTLP in batches, through
// a queue of bounded size that drops rather than grows when the collector is slow or gone.
//
// The server span is made here rather than by @fastify/otel. That plugin runs every request, sampled or not, inside
// a context of its own, which on this service cost about 20 µs of CPU per GET hit at 1 % sampling (README,
// Observability). Here a request the sampler drops costs the sampler's decision and nothing more: no context, no
// attributes, no log bindings.
//
// A span never holds a value, a session id, a token or a key: the URL is the route's template with its secret
// parameters redacted (as the logs show it), and a Redis span names the command or the script, never an argument.
import {
  context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Span, type Tracer
} from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { W3CTraceContextPropagator } from '@opentelemetry/core'
import { resourceFromAttributes } from '@opentelemetry/resources'
import {
  AlwaysOffSampler, AlwaysOnSampler, BatchSpanProcessor, NodeTracerProvider, ParentBasedSampler,
  TraceIdRatioBasedSampler, type Sampler
} from '@opentelemetry/sdk-trace-node'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { Cluster, Redis } from 'ioredis'
import type { TracingConfig } from '../config/telemetry.js'
import { loggedPath } from '../http/logged-url.js'
import { DOCUMENT_INFO } from '../openapi/document.js'
import { redisCallChannel, type RedisCallContext } from '../redis/command-events.js'
import { TRACER_NAME } from '../tracer.js'

export interface TracingPluginOptions {
  tracing: TracingConfig
}

let contextManagerSet = false

export default fp<TracingPluginOptions>(async (app, { tracing }) => {
  const { version } = DOCUMENT_INFO
  // The context follows a request through its awaits; the propagator reads and writes traceparent and tracestate.
  // Both are process-wide, and stateless: set once.
  if (!contextManagerSet) {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
    propagation.setGlobalPropagator(new W3CTraceContextPropagator())
    contextManagerSet = true
  }
  // The one exporter the protocol needs, loaded: each holds a few MiB once imported.
  const { OTLPTraceExporter } = tracing.protocol === 'http/json'
    ? await import('@opentelemetry/exporter-trace-otlp-http')
    : await import('@opentelemetry/exporter-trace-otlp-proto')
  const exporter = new OTLPTraceExporter({
    url: tracing.url, headers: tracing.headers, timeoutMillis: tracing.timeoutMs
  })
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({
      ...tracing.resourceAttributes,
      'service.name': tracing.serviceName,
      'service.version': version
    }),
    sampler: samplerOf(tracing),
    spanProcessors: [new BatchSpanProcessor(exporter, {
      scheduledDelayMillis: tracing.batch.scheduleDelayMs,
      exportTimeoutMillis: tracing.batch.exportTimeoutMs,
      maxQueueSize: tracing.batch.maxQueueSize,
      maxExportBatchSize: tracing.batch.maxExportBatchSize
    })]
  })
  // The global provider serves the spans begun outside a request (token refreshes), through trace.getTracer. One
  // process has one app; a second app built in the same process (tests) keeps its spans to its own provider.
  const registered = trace.setGlobalTracerProvider(provider)

  traceRequests(app, provider.getTracer(TRACER_NAME, version))
  const redisSpans = traceRedisCalls(provider.getTracer(TRACER_NAME, version))
  app.addHook('onClose', async () => {
    redisSpans.stop()
    // Sends what is queued (within OTEL_BSP_EXPORT_TIMEOUT), then lets go of the exporter.
    await provider.shutdown()
    if (registered) trace.disable()
  })
}, { name: 'tracing' })

function samplerOf ({ sampler, samplerRatio }: TracingConfig): Sampler {
  const root = {
    always_on: new AlwaysOnSampler(),
    always_off: new AlwaysOffSampler(),
    traceidratio: new TraceIdRatioBasedSampler(samplerRatio)
  }[sampler.replace(/^parentbased_/, '') as 'always_on' | 'always_off' | 'traceidratio']
  return sampler.startsWith('parentbased_') ? new ParentBasedSampler({ root }) : root
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** false: the route's requests start no span (probes, which come every few seconds). */
    traced?: boolean
  }
  interface FastifyRequest {
    /** The request's server span, while it is being answered; only for a request the sampler kept. */
    [SERVER_SPAN]?: Span
    /** The code of the error it was answered with, if any, for the span's error.type. */
    [ERROR_KIND]?: string
  }
}

const SERVER_SPAN = Symbol('server span')
const ERROR_KIND = Symbol('error kind')

/**
 * A server span per request, as the HTTP semantic conventions name and describe it (`GET /cache/:key`), in the
 * caller's trace when its traceparent says so; the rest of the request (hooks, handler, Redis calls) runs in it, and
 * its log lines carry its ids. The URL is the one the logs show (never the raw one: it may carry a session id).
 */
function traceRequests (app: FastifyInstance, tracer: Tracer): void {
  // Declared on every request, so that the few sampled ones keep the shape of all the others (a property added to some
  // requests only would make V8's code for every request polymorphic).
  app.decorateRequest(SERVER_SPAN, undefined)
  app.decorateRequest(ERROR_KIND, undefined)
  app.addHook('onRequest', (request, reply, done) => {
    if (request.routeOptions.config.traced === false) return done()
    const parent = propagation.extract(ROOT_CONTEXT, request.headers)
    const route = request.routeOptions.url
    const span = tracer.startSpan(route === undefined ? request.method : `${request.method} ${route}`, {
      kind: SpanKind.SERVER,
      attributes: { 'http.request.method': request.method, 'url.scheme': request.protocol }
    }, parent)
    if (!span.isRecording()) return done()
    span.setAttributes({
      ...(route !== undefined && { 'http.route': route }),
      'url.path': loggedPath(request),
      'server.address': request.hostname,
      'client.address': request.ip,
      'network.protocol.version': request.raw.httpVersion
    })
    if (request.port !== null) span.setAttribute('server.port', request.port)
    request[SERVER_SPAN] = span
    const { traceId, spanId } = span.spanContext()
    request.log = reply.log = request.log.child({ trace_id: traceId, span_id: spanId })
    context.with(trace.setSpan(parent, span), done)
  })
  // The error's kind (its code), never its message.
  app.addHook('onError', (request, reply, error, done) => {
    if (request[SERVER_SPAN] !== undefined) request[ERROR_KIND] = error.code ?? error.name
    done()
  })
  app.addHook('onResponse', (request, reply, done) => {
    const span = request[SERVER_SPAN]
    if (span === undefined) return done()
    span.setAttribute('http.response.status_code', reply.statusCode)
    // A 5xx is the service's failure; a 4xx is the caller's, and leaves the span's status unset.
    if (reply.statusCode >= 500) {
      span.setStatus({ code: SpanStatusCode.ERROR })
      span.setAttribute('error.type', request[ERROR_KIND] ?? String(reply.statusCode))
    }
    span.end()
    request[SERVER_SPAN] = undefined
    done()
  })
}

/**
 * A client span for each store call on Redis made within a traced request (calls of the service's own, such as
 * heartbeats, start no trace; a batch's are covered by its span), as the database conventions name it:
 * `EVALSHA cacheGet`, `HGET`.
 */
function traceRedisCalls (tracer: Tracer): { stop: () => void } {
  const handlers = {
    start (call: RedisCallContext) {
      // callRedis traces only the calls that get a span (callTraced): the active span records.
      call.span = tracer.startSpan(call.script === undefined ? call.operation : `${call.operation} ${call.script}`, {
        kind: SpanKind.CLIENT,
        attributes: {
          'db.system.name': 'redis',
          'db.operation.name': call.operation,
          ...(call.script !== undefined && { 'db.stored_procedure.name': call.script }),
          'cache_service.redis.command': call.command,
          ...serverOf(call.client)
        }
      }, context.active())
    },
    error (call: RedisCallContext & { error: unknown }) {
      const span = call.span as Span | undefined
      if (span === undefined) return
      span.setStatus({ code: SpanStatusCode.ERROR })
      span.setAttribute('error.type', call.error instanceof Error ? call.error.name : 'Error')
    },
    asyncEnd (call: RedisCallContext) {
      (call.span as Span | undefined)?.end()
    },
    // The call's synchronous part, and the moment its answer is taken up: nothing to record.
    end () {},
    asyncStart () {}
  }
  redisCallChannel.subscribe(handlers)
  return { stop: () => { redisCallChannel.unsubscribe(handlers) } }
}

/**
 * Where a call goes: the server and database of a standalone client. A cluster's call goes to the node that holds
 * its key's slot, which only ioredis knows when it sends it, so it names none.
 */
function serverOf (client: Redis | Cluster): Record<string, string | number> {
  if (client.isCluster) return {}
  const { host, port, db } = (client as Redis).options
  return { 'server.address': host ?? 'localhost', 'server.port': port ?? 6379, 'db.namespace': String(db ?? 0) }
}
