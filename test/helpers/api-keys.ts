// API keys for tests of per-caller behaviour: two writers whose entries must never meet, and a reader.
import { randomBytes } from 'node:crypto'
import { hashApiKey } from '../../src/auth/api-keys.js'

export const WRITER_A = randomBytes(32).toString('base64url')
export const WRITER_B = randomBytes(32).toString('base64url')
export const READER = randomBytes(32).toString('base64url')

/** The environment of an app in api-key mode with each caller's keys in a namespace of its own. */
export const ISOLATED_CALLERS_ENV = {
  AUTH_MODE: 'api-key',
  KEY_ISOLATION: 'caller',
  API_KEYS: JSON.stringify([
    { name: 'writer-a', sha256: hashApiKey(WRITER_A), scopes: ['cache:read', 'cache:write'] },
    { name: 'writer-b', sha256: hashApiKey(WRITER_B), scopes: ['cache:read', 'cache:write'] },
    { name: 'reader', sha256: hashApiKey(READER), scopes: ['cache:read'] }
  ])
}

export const bearer = (key: string) => ({ authorization: `Bearer ${key}` })

/** Two session-keeping callers, each with its own namespace: neither may read, replace or end the other's sessions. */
export const ISOLATED_SESSION_CALLERS_ENV = {
  AUTH_MODE: 'api-key',
  KEY_ISOLATION: 'caller',
  API_KEYS: JSON.stringify([
    { name: 'app-a', sha256: hashApiKey(WRITER_A), scopes: ['sessions:read', 'sessions:write'] },
    { name: 'app-b', sha256: hashApiKey(WRITER_B), scopes: ['sessions:read', 'sessions:write'] }
  ])
}
