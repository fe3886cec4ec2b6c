// Holds every response a test observes to openapi.yaml: its status must be listed for the operation, its
// documented headers present, its media type listed, and a JSON body valid against the schema given for it.
// Undocumented paths (unknown routes, 405s, the docs themselves) must still answer errors as Problems.
import { readFileSync } from 'node:fs'
import { Ajv2020 } from 'ajv/dist/2020.js'
import addFormats from 'ajv-formats'
import type { FastifyInstance, InjectOptions } from 'fastify'
import YAML from 'yaml'

interface MediaType { schema?: { $ref?: string } & Record<string, unknown> }
interface Response { headers?: Record<string, unknown>, content?: Record<string, MediaType> }
type Operation = { responses: Record<string, Response> }

const DOCUMENT_URL = new URL('../../openapi.yaml', import.meta.url)
const document = YAML.parse(readFileSync(DOCUMENT_URL, 'utf8')) as {
  paths: Record<string, Record<string, Operation>>
  components: { headers: Record<string, { required?: boolean }> }
}
/** A header the document does not say is always sent (`required: true`, as OpenAPI has it) may be absent. */
const optionalHeader = (ref: unknown) =>
  document.components.headers[String((ref as { $ref?: string }).$ref).split('/').pop()!]?.required !== true

const ajv = new Ajv2020({ strict: false, allErrors: true })
addFormats.default(ajv)
ajv.addSchema({ $id: 'openapi.yaml', components: document.components })

// Concrete paths first, as OpenAPI matches them (and Fastify routes them): /sessions/events before /sessions/{id}.
const routes = Object.entries(document.paths).map(([template, item]) => ({
  template,
  pattern: new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+')}$`),
  item
})).sort((a, b) => Number(a.template.includes('{')) - Number(b.template.includes('{')))

export interface ObservedResponse {
  method: string
  url: string
  statusCode: number
  headers: Record<string, unknown>
  body: string
}

/** Every way the response departs from the document; empty when it conforms. */
export function violationsOf ({ method, url, statusCode, headers, body }: ObservedResponse): string[] {
  // The path as the server receives it: dot segments resolved (`/cache/..` is `/`), as inject and clients do.
  const path = new URL(url, 'http://localhost').pathname
  const route = routes.find(({ pattern }) => pattern.test(path))
  const operation = route?.item[method.toLowerCase()]
  const where = `${method} ${route?.template ?? path} → ${statusCode}`
  if (operation === undefined) {
    // A HEAD answer never has a body to check.
    const checked = statusCode >= 400 && method !== 'HEAD'
    return checked ? checkBody(where, { 'application/problem+json': problem }, headers, body) : []
  }
  const response = operation.responses[String(statusCode)]
  if (response === undefined) return [`${where}: the document lists no such response`]
  const missing = Object.entries(response.headers ?? {})
    .filter(([name, ref]) => headers[name.toLowerCase()] === undefined && !optionalHeader(ref))
    .map(([name]) => name)
  const violations = missing.map((name) => `${where}: header ${name} is documented but was not sent`)
  if (response.content === undefined) {
    if (body !== '') violations.push(`${where}: a body was sent where the document describes none`)
    return violations
  }
  return [...violations, ...checkBody(where, response.content, headers, body)]
}

const problem: MediaType = { schema: { $ref: '#/components/schemas/Problem' } }

function checkBody (where: string, content: Record<string, MediaType>, headers: Record<string, unknown>, body: string)
  : string[] {
  const mediaType = String(headers['content-type'] ?? '').split(';')[0]!.trim()
  const media = content[mediaType]
  if (media === undefined) {
    if (content['*/*'] !== undefined) return [] // any bytes of any type, such as a cached value
    return [`${where}: media type ${mediaType || '(none)'} is not among ${Object.keys(content).join(', ')}`]
  }
  if (!mediaType.endsWith('json') || media.schema === undefined) return []
  const schema = media.schema.$ref === undefined ? media.schema : { $ref: `openapi.yaml${media.schema.$ref}` }
  const validate = ajv.compile(schema)
  let parsed: unknown
  try {
    parsed = JSON.parse(body)
  } catch {
    return [`${where}: the body is not JSON`]
  }
  if (validate(parsed)) return []
  return [`${where}: the body does not match its schema: ${ajv.errorsText(validate.errors)}`]
}

/** Makes every `app.inject` in a test fail when its response departs from the document. */
export function holdToDocument (app: FastifyInstance): void {
  const inject = app.inject.bind(app)
  app.inject = (async (options: InjectOptions) => {
    const res = await inject(options)
    const violations = violationsOf({
      method: options.method ?? 'GET',
      url: String(options.url),
      statusCode: res.statusCode,
      headers: res.headers,
      body: res.body
    })
    if (violations.length > 0) {
      throw new Error(`the response does not conform to openapi.yaml:\n${violations.join('\n')}`)
    }
    return res
  }) as typeof app.inject
}
