// The Microsoft Entra ID identity for Redis: the default credential, and the username Azure Cache for Redis takes
// from a token (its `oid` claim). The token came from Entra itself and goes straight to Redis, so nothing here
// verifies it.
import type { TokenCredential } from '@azure/core-auth'

/**
 * DefaultAzureCredential (workload or managed identity, AZURE_* variables), imported only when Entra ID is used:
 * @azure/identity holds some 25 MiB once loaded, which a service on an access key or a local Redis never needs.
 */
export async function defaultAzureCredential (): Promise<TokenCredential> {
  const { DefaultAzureCredential } = await import('@azure/identity')
  return new DefaultAzureCredential()
}

export function usernameFromToken (token: string): string {
  const payload = token.split('.')[1]
  let claims: { oid?: unknown } | undefined
  try {
    claims = JSON.parse(Buffer.from(payload ?? '', 'base64url').toString('utf8'))
  } catch {}
  if (typeof claims?.oid !== 'string' || claims.oid === '') {
    throw new Error('the Entra ID token carries no oid claim to use as the Redis username; set REDIS_ENTRA_USERNAME')
  }
  return claims.oid
}
