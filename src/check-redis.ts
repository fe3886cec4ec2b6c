// `npm run check:redis`: verifies connectivity to Redis with exactly the settings the service will use.
import { ConfigError, loadConfig } from './config.js'
import { checkRedis } from './redis/check.js'

try {
  const passed = await checkRedis(loadConfig(), { print: (line) => process.stdout.write(`${line}\n`) })
  process.exitCode = passed ? 0 : 1
} catch (err) {
  if (!(err instanceof ConfigError)) throw err
  process.stderr.write(`check:redis: ${err.message}\n`)
  process.exitCode = 1
}
