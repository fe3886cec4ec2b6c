// JSON response bodies: fast-json-stringify (Fastify's own serializer), compiled once per route from the JSON Schema
// of its zod response schema. zod's serializer parses every response through the schema before stringifying it,
// which cost GET /sessions some 6% of its throughput (A/B runs of the production build, in both orders). The
// handler's return value is checked against the schema when the code compiles, this serializer writes only the
// properties the schema names, and test/routes/session-responses.test.ts parses real responses with the schema.
import type { FastifySerializerCompiler } from 'fastify'
import fastJson from 'fast-json-stringify'
import type { z } from 'zod'
import { toJsonSchema } from '../schemas/json-schema.js'

export const responseSerializerCompiler: FastifySerializerCompiler<z.ZodType> = ({ schema }) =>
  fastJson(toJsonSchema(schema, 'draft-7'))
