// The layout the README promises: src/ reads top-down, server → app → plugins and routes → the layers they use →
// config and errors, and no import runs back up or goes round in a circle.
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, normalize, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'

const SRC = fileURLToPath(new URL('../src/', import.meta.url))

/** Lower is higher up: a module may import from its own layer and the ones below it, never above. */
const LAYERS: Array<[layer: number, pattern: RegExp]> = [
  [0, /^(server|check-redis|generate-api-key|generate-openapi|metrics-server)\.ts$/],
  [1, /^(app|logger)\.ts$/],
  [2, /^(plugins|routes)\//],
  [3, /^(openapi|auth|http)\//],
  // Below http/: a schema states a rule (and the document shows it); it never reaches for HTTP mechanics.
  [4, /^(schemas|store|redis)\//],
  [5, /^(config\/|errors\.ts$|random-token\.ts$|series-histogram\.ts$|tracer\.ts$)/]
]

const files = readdirSync(SRC, { recursive: true, encoding: 'utf8' }).filter((file) => file.endsWith('.ts'))
const layerOf = (file: string) => LAYERS.find(([, pattern]) => pattern.test(file))?.[0]

/** The src/ files each file imports (type-only imports included: they are dependencies a reader follows too). */
const imports = new Map(files.map((file) => {
  const source = readFileSync(join(SRC, file), 'utf8')
  const targets = [...source.matchAll(/^(?:import|export)\b[^;]*?from '(\.[^']+)'/gms)]
    .map(([, specifier]) => relative(SRC, normalize(join(SRC, dirname(file), specifier!))).replace(/\.js$/, '.ts'))
  return [file, targets]
}))

t.test('every file of src/ has a layer', async (t) => {
  t.same(files.filter((file) => layerOf(file) === undefined), [])
  t.ok(imports.get('app.ts')?.includes('plugins/store.ts'), 'imports are read: app.ts imports plugins/store.ts')
  t.ok(imports.get('store/redis-call.ts')?.includes('store/types.ts'), 'and store/redis-call.ts store/types.ts')
})

t.test('no import runs back up', async (t) => {
  const upward = [...imports].flatMap(([file, targets]) => targets
    .filter((target) => layerOf(target)! < layerOf(file)!)
    .map((target) => `${file} → ${target}`))
  t.same(upward, [])
})

t.test('no import goes round in a circle', async (t) => {
  const cycles: string[] = []
  const state = new Map<string, 'visiting' | 'done'>()
  const visit = (file: string, path: string[]) => {
    if (state.get(file) === 'done') return
    if (state.get(file) === 'visiting') {
      cycles.push([...path.slice(path.indexOf(file)), file].join(' → '))
      return
    }
    state.set(file, 'visiting')
    for (const target of imports.get(file) ?? []) visit(target, [...path, file])
    state.set(file, 'done')
  }
  for (const file of files) visit(file, [])
  t.same(cycles, [])
})
