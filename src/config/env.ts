// Building blocks for environment variable schemas (every value arrives as a string, or not at all), and the two
// things several settings need: comma-separated lists, and files named by a variable.
import { readFileSync } from 'node:fs'
import { z } from 'zod'

// Kubernetes and helm often render an unset value as an empty string, so '' counts as unset.
const unsetIfEmpty = (value: unknown) => (value === '' ? undefined : value)

const wholeNumber = (min: number, max: number) => z.string()
  .regex(/^\d+$/, { error: 'must be a whole number' })
  .transform(Number)
  .pipe(z.number().int()
    .min(min, { error: `must be at least ${min}` })
    .max(max, { error: `must be at most ${max}` }))

const choice = <const T extends readonly [string, ...string[]]> (values: T) =>
  z.enum(values, { error: `must be one of ${values.join(', ')}` })

export const integer = (min: number, max: number, fallback: number) =>
  z.preprocess(unsetIfEmpty, wholeNumber(min, max).default(fallback))

export const optionalInteger = (min: number, max: number) =>
  z.preprocess(unsetIfEmpty, wholeNumber(min, max).optional())

export const text = (fallback: string) => z.preprocess(unsetIfEmpty, z.string().default(fallback))

export const optionalText = () => z.preprocess(unsetIfEmpty, z.string().optional())

export const oneOf = <const T extends readonly [string, ...string[]]> (values: T, fallback: T[number]) =>
  z.preprocess(unsetIfEmpty, choice(values).default(fallback as never))

export const optionalOneOf = <const T extends readonly [string, ...string[]]> (values: T) =>
  z.preprocess(unsetIfEmpty, choice(values).optional())

export const boolean = (fallback: boolean) => z.preprocess(unsetIfEmpty,
  z.enum(['true', 'false', '1', '0'], { error: 'must be true or false' })
    .default(fallback ? 'true' : 'false')
    .transform((value) => value === 'true' || value === '1'))

/** Reports a problem with one variable; every problem is collected before the process stops. */
export type Issue = (variable: string, message: string) => void

/** A comma-separated list, each entry trimmed, empty entries dropped (`a, b,` is `a` and `b`). */
export function commaList (value: string): string[] {
  return value.split(',').map((entry) => entry.trim()).filter(Boolean)
}

/**
 * A file a variable names (a mounted secret, a CA bundle, the API keys), read once at startup. The issue names the
 * failure's code, never the file's content.
 */
export function readNamedFile (path: string | undefined, variable: string, issue: Issue): string | undefined {
  if (path === undefined) return undefined
  try {
    return readFileSync(path, 'utf8')
  } catch (err) {
    issue(variable, `cannot read the file (${(err as NodeJS.ErrnoException).code ?? 'error'})`)
    return undefined
  }
}
