// `npm run openapi`: writes openapi.yaml from the routes, as the service itself would serve it.
import { writeFileSync } from 'node:fs'
import { buildApp } from './app.js'
import { loadConfig } from './config/index.js'
import { toYaml } from './openapi/document.js'

// The document describes the service as configured by default: the embedded store, the default limits.
const app = await buildApp(loadConfig({ LOG_LEVEL: 'silent' }))
await app.ready()
const target = new URL('../openapi.yaml', import.meta.url)
writeFileSync(target, toYaml(app.openapiDocument()))
await app.close()
process.stdout.write(`wrote ${target.pathname}\n`)
