// client/openapi.d.ts from openapi.yaml with openapi-typescript, as its documentation shows for binary bodies: a
// schema of `format: binary` is typed as the bytes a caller has (Blob or Uint8Array), not as a string.
import { writeFile } from 'node:fs/promises'
import openapiTS, { astToString } from 'openapi-typescript'
import ts from 'typescript'

const BYTES = ts.factory.createUnionTypeNode([
  ts.factory.createTypeReferenceNode('Blob'),
  ts.factory.createTypeReferenceNode('Uint8Array')
])

const ast = await openapiTS(new URL('../openapi.yaml', import.meta.url), {
  transform: (schema) => (schema.format === 'binary' ? BYTES : undefined),
  silent: true
})
await writeFile(new URL('../client/openapi.d.ts', import.meta.url), astToString(ast))
