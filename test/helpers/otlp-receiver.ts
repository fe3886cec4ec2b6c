// An OTLP/HTTP trace receiver, as a collector serves it: POST /v1/traces with an ExportTraceServiceRequest in JSON
// (application/json) or protobuf (application/x-protobuf), answered 200 with an empty response. What it received is
// kept raw, to be searched for secrets, and as spans flattened to what the tests assert on.
import { createServer, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'

interface Teardown { teardown (fn: () => unknown): void }

export type AttributeValue = string | number | boolean

export interface ReceivedSpan {
  traceId: string
  spanId: string
  /** '' for a root span. */
  parentSpanId: string
  /** The W3C tracestate the span carries on. */
  traceState: string
  name: string
  /** OTLP's SpanKind: 1 internal, 2 server, 3 client. */
  kind: number
  attributes: Record<string, AttributeValue>
  events: Array<{ name: string, attributes: Record<string, AttributeValue> }>
  /** 0 unset, 1 ok, 2 error. */
  status: number
  resource: Record<string, AttributeValue>
  scope: string
}

export interface OtlpReceiver {
  /** The base URL, for OTEL_EXPORTER_OTLP_ENDPOINT. */
  url: string
  spans: ReceivedSpan[]
  /** Every request body as received, decoded to text where it was JSON (protobuf bodies as latin1). */
  raw: string[]
  /** Content types of the exports received. */
  contentTypes: string[]
}

export async function startOtlpReceiver (t: Teardown): Promise<OtlpReceiver> {
  const receiver: OtlpReceiver = { url: '', spans: [], raw: [], contentTypes: [] }
  const server = createServer((request, response) => {
    collect(request).then((body) => {
      const type = request.headers['content-type'] ?? ''
      if (request.method !== 'POST' || request.url !== '/v1/traces') {
        response.writeHead(404).end()
        return
      }
      receiver.contentTypes.push(type)
      receiver.raw.push(body.toString(type.includes('json') ? 'utf8' : 'latin1'))
      const decoded = type.includes('json') ? JSON.parse(body.toString()) as JsonExport : decodeProtobuf(body)
      receiver.spans.push(...flatten(decoded))
      response.writeHead(200, { 'content-type': type }).end(type.includes('json') ? '{}' : '')
    }).catch(() => { response.writeHead(400).end() })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise((resolve) => server.close(resolve)))
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return receiver
}

async function collect (request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of request) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

interface JsonKeyValue { key: string, value: Record<string, unknown> }
interface JsonSpan {
  traceId: string
  spanId: string
  parentSpanId?: string
  traceState?: string
  name: string
  kind: number
  attributes?: JsonKeyValue[]
  events?: Array<{ name: string, attributes?: JsonKeyValue[] }>
  status?: { code?: number }
}
interface JsonExport {
  resourceSpans: Array<{
    resource?: { attributes?: JsonKeyValue[] }
    scopeSpans: Array<{ scope?: { name: string }, spans: JsonSpan[] }>
  }>
}

function attributesOf (list: JsonKeyValue[] = []): Record<string, AttributeValue> {
  return Object.fromEntries(list.map(({ key, value }) => {
    const found = value.stringValue ?? value.boolValue ?? value.doubleValue ?? value.intValue
    return [key, typeof found === 'string' && value.intValue !== undefined ? Number(found) : found as AttributeValue]
  }))
}

function flatten (decoded: JsonExport): ReceivedSpan[] {
  return decoded.resourceSpans.flatMap(({ resource, scopeSpans }) => scopeSpans.flatMap(({ scope, spans }) =>
    spans.map((span) => ({
      traceId: span.traceId,
      spanId: span.spanId,
      parentSpanId: span.parentSpanId ?? '',
      traceState: span.traceState ?? '',
      name: span.name,
      kind: span.kind,
      attributes: attributesOf(span.attributes),
      events: (span.events ?? []).map(({ name, attributes }) => ({ name, attributes: attributesOf(attributes) })),
      status: span.status?.code ?? 0,
      resource: attributesOf(resource?.attributes),
      scope: scope?.name ?? ''
    }))))
}

// The protobuf wire format (varints, fixed 64 and 32-bit, length-delimited fields), read into the JSON mapping's
// shape for the fields of opentelemetry/proto/trace/v1/trace.proto the tests look at; the others are skipped.
type Fields = Map<number, Array<bigint | Buffer>>

function fieldsOf (buffer: Buffer): Fields {
  const fields: Fields = new Map()
  let at = 0
  const varint = () => {
    let value = 0n
    for (let shift = 0n; ; shift += 7n) {
      const byte = buffer[at++]!
      value |= BigInt(byte & 0x7f) << shift
      if (byte < 0x80) return value
    }
  }
  while (at < buffer.length) {
    const tag = Number(varint())
    const [field, wire] = [tag >>> 3, tag & 7]
    let value: bigint | Buffer
    if (wire === 0) value = varint()
    else if (wire === 1) { value = buffer.readBigUInt64LE(at); at += 8 } else if (wire === 5) {
      value = BigInt(buffer.readUInt32LE(at)); at += 4
    } else if (wire === 2) {
      const length = Number(varint())
      value = buffer.subarray(at, at + length); at += length
    } else throw new Error(`wire type ${wire} is not read here`)
    fields.set(field, [...(fields.get(field) ?? []), value])
  }
  return fields
}

const all = (fields: Fields, field: number) => (fields.get(field) ?? []) as Buffer[]
const one = (fields: Fields, field: number) => fields.get(field)?.[0]
const text = (fields: Fields, field: number) => (one(fields, field) as Buffer | undefined)?.toString() ?? ''
const hex = (fields: Fields, field: number) => (one(fields, field) as Buffer | undefined)?.toString('hex') ?? ''

function keyValuesOf (list: Buffer[]): JsonKeyValue[] {
  return list.map((entry) => {
    const keyValue = fieldsOf(entry)
    const any = fieldsOf((one(keyValue, 2) as Buffer | undefined) ?? Buffer.alloc(0))
    const value: Record<string, unknown> = {}
    if (any.has(1)) value.stringValue = text(any, 1)
    if (any.has(2)) value.boolValue = one(any, 2) === 1n
    if (any.has(3)) value.intValue = String(BigInt.asIntN(64, one(any, 3) as bigint))
    if (any.has(4)) value.doubleValue = Buffer.from(new BigUint64Array([one(any, 4) as bigint]).buffer).readDoubleLE()
    return { key: text(keyValue, 1), value }
  })
}

function decodeProtobuf (body: Buffer): JsonExport {
  return {
    resourceSpans: all(fieldsOf(body), 1).map((resourceSpans) => {
      const fields = fieldsOf(resourceSpans)
      const resource = fieldsOf((one(fields, 1) as Buffer | undefined) ?? Buffer.alloc(0))
      return {
        resource: { attributes: keyValuesOf(all(resource, 1)) },
        scopeSpans: all(fields, 2).map((scopeSpans) => {
          const scoped = fieldsOf(scopeSpans)
          return {
            scope: { name: text(fieldsOf((one(scoped, 1) as Buffer | undefined) ?? Buffer.alloc(0)), 1) },
            spans: all(scoped, 2).map((encoded) => {
              const span = fieldsOf(encoded)
              const status = fieldsOf((one(span, 15) as Buffer | undefined) ?? Buffer.alloc(0))
              return {
                traceId: hex(span, 1),
                spanId: hex(span, 2),
                parentSpanId: hex(span, 4),
                traceState: text(span, 3),
                name: text(span, 5),
                kind: Number(one(span, 6) ?? 0n),
                attributes: keyValuesOf(all(span, 9)),
                events: all(span, 11).map((event) => {
                  const fields = fieldsOf(event)
                  return { name: text(fields, 2), attributes: keyValuesOf(all(fields, 3)) }
                }),
                status: { code: Number(one(status, 3) ?? 0n) }
              }
            })
          }
        })
      }
    })
  }
}
