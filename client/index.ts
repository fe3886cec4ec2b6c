// A typed client for cache-service, for other teams and for our own end-to-end tests: the types are generated
// from openapi.yaml by openapi-typescript (npm run generate:client), the requests made by openapi-fetch.
import createClient, { type ClientOptions } from 'openapi-fetch'
import type { paths } from './openapi.js'

export type { components, operations, paths } from './openapi.js'

/**
 * openapi-fetch's client, with a body serializer that sends a value's bytes as they are (PUT /cache/{key}) and
 * every other body as JSON. Name a value's media type in the cache-content-type header parameter.
 */
export function createCacheServiceClient (options: ClientOptions) {
  return createClient<paths>({ bodySerializer: serializeBody, ...options })
}

function serializeBody (body: unknown): Blob | Uint8Array | string {
  return body instanceof Blob || body instanceof Uint8Array ? body : JSON.stringify(body)
}
