// `npm run check:redis`: verifies connectivity to Redis with exactly the settings the service will use.
import { ConfigError, loadConfig } from './config/index.js'
import { checkRedis } from './redis/check.js'

try {
  // The check is about Redis alone: how callers authenticate to the service does not matter to it.
  const config = loadConfig({ AUTH_MODE: 'none', ...process.env })
  const passed = await checkRedis(config, { print: (line) => process.stdout.write(`${line}\n`) })
  process.exitCode = passed ? 0 : 1
} catch (err) {
  if (!(err instanceof ConfigError)) throw err
  process.stderr.write(`check:redis: ${err.message}\n`)
  process.exitCode = 1
}
