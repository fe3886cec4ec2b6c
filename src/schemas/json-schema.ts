// The JSON Schema of a zod schema, as the OpenAPI document's components and the response serializer take it.
import { z } from 'zod'

type JsonSchema = Record<string, unknown>
interface SelfReference { $ref?: string, $defs?: Record<string, JsonSchema>, definitions?: Record<string, JsonSchema> }

/** A schema named with `.meta({ id })` is given as its own definition, not as a $ref to it. */
export function toJsonSchema (schema: z.ZodType, target: 'draft-7' | 'draft-2020-12' = 'draft-2020-12'): JsonSchema {
  const json = z.toJSONSchema(schema, { target, io: 'output' }) as JsonSchema & SelfReference
  delete json.$schema
  const name = /^#\/(?:\$defs|definitions)\/(.+)$/.exec(json.$ref ?? '')?.[1]
  return (name === undefined ? undefined : (json.$defs ?? json.definitions)?.[name]) ?? json
}
