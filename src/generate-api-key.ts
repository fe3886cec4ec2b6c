// `npm run api-key -- <name> <scope>...`: makes a new random API key, prints it once for the caller, and prints
// the entry for API_KEYS_FILE, which holds only its SHA-256.
import { randomBytes } from 'node:crypto'
import YAML from 'yaml'
import { hashApiKey } from './auth/api-keys.js'
import { SCOPES, type Scope } from './config/security.js'

const [name, ...scopes] = process.argv.slice(2)
const unknown = scopes.filter((scope) => !(SCOPES as readonly string[]).includes(scope))
if (name === undefined || scopes.length === 0 || unknown.length > 0) {
  process.stderr.write(`usage: npm run api-key -- <name> <scope>... (scopes: ${SCOPES.join(', ')})\n`)
  process.exit(1)
}
const key = randomBytes(32).toString('base64url')
process.stdout.write(`key (give it to the caller; it is not stored anywhere):\n  ${key}\n\n`)
const entry = { name, sha256: hashApiKey(key), scopes: scopes as Scope[] }
process.stdout.write(`entry for API_KEYS_FILE:\n${YAML.stringify([entry])}`)
