// A stand-in for the managed identity endpoint a pod's identity platform serves (App Service's protocol, which
// @azure/identity's DefaultAzureCredential finds through IDENTITY_ENDPOINT and IDENTITY_HEADER), for a service
// started as its own process. It refuses what the real one refuses: a request without the secret header (401) or
// for another resource (400). Tokens come from a FakeEntraCredential, so a locked-down Redis accepts them.
import { once } from 'node:events'
import { createServer } from 'node:http'
import { randomBytes } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import type { TokenCredential } from '@azure/core-auth'

interface Teardown { teardown (fn: () => unknown): void }

/** Starts the endpoint; resolves to the environment that points a process at it. */
export async function startManagedIdentityEndpoint (t: Teardown, credential: TokenCredential, resource: string)
  : Promise<{ IDENTITY_ENDPOINT: string, IDENTITY_HEADER: string }> {
  const secret = randomBytes(16).toString('hex')
  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://localhost')
    const answer = (status: number, body: object) => {
      response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body))
    }
    if (request.headers['x-identity-header'] !== secret) {
      answer(401, { error: 'unauthorized', error_description: 'missing or wrong X-IDENTITY-HEADER' })
      return
    }
    if (url.searchParams.get('resource') !== resource) {
      answer(400, { error: 'invalid_resource', error_description: 'the resource is not known here' })
      return
    }
    credential.getToken(`${resource}/.default`).then((token) => {
      answer(200, {
        access_token: token!.token,
        expires_on: String(Math.floor(token!.expiresOnTimestamp / 1000)),
        resource,
        token_type: 'Bearer'
      })
    }, () => { answer(500, { error: 'unavailable' }) })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => { server.close() })
  const { port } = server.address() as AddressInfo
  return { IDENTITY_ENDPOINT: `http://127.0.0.1:${port}/msi/token`, IDENTITY_HEADER: secret }
}
