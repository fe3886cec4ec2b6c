// Reads the identity out of a Microsoft Entra ID access token: Azure Cache for Redis takes its `oid` claim
// as the username. The token came from Entra itself and goes straight to Redis, so nothing here verifies it.

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
