// Loads the Lua scripts that sit beside the Redis adapters, with the shared preconditions prelude in front.
import { readFileSync } from 'node:fs'

const read = (name: string) => readFileSync(new URL(`./lua/${name}.lua`, import.meta.url), 'utf8')

/** The script's source, preceded by preconditions.lua when it evaluates If-Match / If-None-Match. */
export function luaScript (name: string, { withPreconditions = false } = {}): string {
  return withPreconditions ? `${read('preconditions')}\n${read(name)}` : read(name)
}
