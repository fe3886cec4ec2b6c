// openapi.yaml: generated from the code, committed, valid OpenAPI 3.1, clean under a lint ruleset, complete,
// and served by the running service.
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { lintFromString, loadConfig } from '@redocly/openapi-core'
import { Validator } from '@seriousme/openapi-schema-validator'
import t from 'tap'
import YAML from 'yaml'
import { toYaml } from '../../src/openapi/document.js'
import { buildTestApp } from '../helpers/app.js'

const committed = readFileSync(new URL('../../openapi.yaml', import.meta.url), 'utf8')
const document = YAML.parse(committed)
const packageJson = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'))
const METHODS = ['get', 'head', 'put', 'post', 'patch', 'delete']
const operations = Object.entries(document.paths as Record<string, Record<string, any>>).flatMap(([path, item]) =>
  METHODS.filter((method) => item[method] !== undefined).map((method) => ({ path, method, operation: item[method] })))

t.test('the committed openapi.yaml is what the code generates (after a change: npm run openapi)', async (t) => {
  const app = await buildTestApp(t)
  await app.ready()
  t.equal(toYaml(app.openapiDocument()), committed)
})

t.test('it is valid OpenAPI 3.1', async (t) => {
  const result = await new Validator().validate(document)
  t.same(result.errors, undefined)
  t.ok(result.valid)
  t.equal(document.openapi, '3.1.0')
})

t.test('it is clean under Redocly\'s recommended-strict ruleset (redocly.yaml), but for the justified exceptions',
  async (t) => {
    const configPath = fileURLToPath(new URL('../../redocly.yaml', import.meta.url))
    t.match(readFileSync(configPath, 'utf8'), /^extends:\n {2}- recommended-strict$/m)
    const config = await loadConfig({ configPath })
    const absoluteRef = fileURLToPath(new URL('../../openapi.yaml', import.meta.url))
    const problems = await lintFromString({ source: committed, absoluteRef, config })
    // .redocly.lint-ignore.yaml lists each exception with its reason; the CLI honours the same file.
    const ignored = problems.filter((problem) => problem.ignored === true)
    t.same(ignored.map((problem) => problem.location[0]?.pointer),
      ['#/paths/~1healthz/get/responses', '#/paths/~1readyz/get/responses'])
    const left = problems.filter((problem) => problem.ignored !== true)
    t.same(left.map((problem) => `${problem.ruleId}: ${problem.message} at ${problem.location[0]?.pointer}`), [])
  })

t.test('info carries a description and the package version', async (t) => {
  t.equal(document.info.version, packageJson.version)
  t.ok(document.info.description.length > 100)
})

t.test('every operation has an operationId, a summary and tags, and answers with Problems on error', async (t) => {
  const ids = operations.map(({ operation }) => operation.operationId)
  t.equal(new Set(ids).size, ids.length, 'operationIds are unique')
  t.same(ids.sort(), [
    'createSession', 'deleteCacheEntries', 'deleteCacheEntry', 'deleteSession', 'getCacheEntries', 'getCacheEntry',
    'getHealth', 'getReadiness', 'getSession', 'headCacheEntry', 'invalidateCacheTag', 'listSessionEvents',
    'listSessions', 'patchSession', 'putCacheEntries', 'putCacheEntry', 'putSession', 'revokeSessions', 'rotateSession'
  ])
  for (const { path, method, operation } of operations) {
    const name = `${method.toUpperCase()} ${path}`
    t.ok(operation.summary, `${name} has a summary`)
    t.ok(operation.tags?.length > 0, `${name} has tags`)
    for (const [status, response] of Object.entries(operation.responses as Record<string, any>)) {
      t.ok(response.headers?.['X-Request-Id'], `${name} ${status} documents X-Request-Id`)
      if (Number(status) >= 400 && method !== 'head') {
        t.same(response.content, { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
          `${name} ${status} is a Problem`)
      }
    }
  }
})

t.test('the cache operations document the raw body, ?ttl, the conditional headers and their answers', async (t) => {
  const put = document.paths['/cache/{key}'].put
  t.same(put.requestBody.content, { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } },
    'raw bytes, as every generator sends them')
  const parameters = Object.fromEntries(put.parameters.map((p: any) => [`${p.in}:${p.name}`, p]))
  t.match(parameters['query:ttl'], { required: false, schema: { type: 'integer', minimum: 1, maximum: 2592000 } })
  t.match(parameters['header:cache-content-type'], { required: false, schema: { type: 'string', pattern: String } })
  t.ok(parameters['header:if-match'])
  t.ok(parameters['header:if-none-match'])
  t.ok(parameters['path:key'].required)
  t.same(Object.keys(put.responses),
    ['201', '204', '400', '401', '403', '412', '413', '415', '429', '500', '503', '507'])
  t.same(put.security, [{ bearerAuth: ['cache:write'] }], 'the scope it needs')
  t.same(document.paths['/healthz'].get.security, [], 'health stays open')
  t.equal(document.components.securitySchemes.bearerAuth.scheme, 'bearer')
  t.ok(put.responses['401'].headers['WWW-Authenticate'])
  t.ok(put.responses['429'].headers['RateLimit-Remaining'])
  t.ok(put.responses['201'].headers.ETag)
  t.ok(put.responses['503'].headers['Retry-After'])

  const get = document.paths['/cache/{key}'].get
  t.same(Object.keys(get.responses['200'].headers).sort(), ['Age', 'Cache-Control', 'Cache-Lease', 'Cache-Lease-Token',
    'Cache-Status', 'ETag', 'Preference-Applied', 'X-Request-Id'])
  t.ok(get.responses['404'].headers['Cache-Lease-Token'], 'a miss may grant a lease')
  t.ok(get.parameters.some((p: any) => p.in === 'header' && p.name === 'cache-lease'))
  t.ok(get.parameters.some((p: any) => p.in === 'header' && p.name === 'prefer'))
  t.equal(document.components.headers['Cache-Lease'].required, false, 'sent only on a miss or a stale entry')
  t.ok(get.responses['304'], 'the conditional GET')
  t.equal(document.paths['/cache/{key}'].head.responses['200'].content, undefined, 'HEAD has no body')
  t.ok(document.paths['/sessions'].post.responses['201'].headers.Location)
  t.ok(document.paths['/sessions/{id}'].patch.responses['415'].headers['Accept-Patch'])
})

t.test('the service serves the document, and the /docs page unless DOCS_ENABLED=false', async (t) => {
  const app = await buildTestApp(t)
  const json = await app.inject({ method: 'GET', url: '/openapi.json' })
  t.equal(json.statusCode, 200)
  t.same(json.json(), document)
  const yaml = await app.inject({ method: 'GET', url: '/openapi.yaml' })
  t.equal(yaml.body, committed)
  t.match(yaml.headers['content-type'], /^application\/yaml/)
  const page = await app.inject({ method: 'GET', url: '/docs/' })
  t.equal(page.statusCode, 200)
  t.match(page.body, /swagger-ui/i)
  const docsSpec = await app.inject({ method: 'GET', url: '/docs/json' })
  t.same(docsSpec.json(), document, 'the page shows the same document')

  const off = await buildTestApp(t, { env: { DOCS_ENABLED: 'false' } })
  t.equal((await off.inject({ method: 'GET', url: '/docs/' })).statusCode, 404)
  t.equal((await off.inject({ method: 'GET', url: '/openapi.json' })).statusCode, 200, 'the document stays')
})
