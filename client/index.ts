// A typed client for cache-service, for other teams and for our own end-to-end tests: the types are generated
// from openapi.yaml by openapi-typescript (npm run generate:client), the requests made by openapi-fetch.
import createClient, { type ClientOptions } from 'openapi-fetch'
import type { paths } from './openapi.js'

export type { components, operations, paths } from './openapi.js'

export function createCacheServiceClient (options: ClientOptions) {
  return createClient<paths>(options)
}
