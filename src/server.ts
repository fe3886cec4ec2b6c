// Process entry: read the configuration, build the app, listen, and shut down gracefully on a signal.
import closeWithGrace from 'close-with-grace'
import { buildApp } from './app.js'
import { buildMetricsServer } from './metrics-server.js'
import { ConfigError, loadConfig, type Config } from './config/index.js'

let config: Config
try {
  config = loadConfig()
} catch (err) {
  if (!(err instanceof ConfigError)) throw err
  // The message names each bad variable and never its value.
  process.stderr.write(`cache-service: ${err.message}\n`)
  process.exit(1)
}

const app = await buildApp(config, {
  prettyLogs: process.stdout.isTTY === true,
  // Redis refused the service after startup went on without it: waiting will not help, so the pod must fail
  // visibly (the reason is already logged) rather than stay up and unready for ever.
  onFatalError: () => { process.exit(1) }
})
const metricsServer = config.metrics.enabled ? buildMetricsServer(app) : undefined

closeWithGrace({ delay: config.shutdownGraceMs, logger: app.log }, async ({ signal, err }) => {
  if (err !== undefined) app.log.error({ err }, 'closing after an unexpected error')
  else app.log.info({ signal }, 'shutting down: finishing in-flight requests')
  // Stops accepting, lets in-flight requests finish, then runs the onClose hooks that quit Redis.
  await app.close()
  await metricsServer?.close()
})

try {
  await app.listen({ port: config.port, host: config.host })
  if (metricsServer !== undefined) {
    const address = await metricsServer.listen({ port: config.metrics.port, host: config.host })
    app.log.info(`metrics at ${address}/metrics`)
  }
} catch (err) {
  app.log.fatal({ err }, 'could not start listening')
  process.exit(1)
}
