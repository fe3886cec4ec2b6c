// The /sessions contract against a real redis-server, started for this file.
import t from 'tap'
import { buildTestApp } from '../helpers/app.js'
import { startRedis } from '../helpers/redis-server.js'
import { sessionContract } from './session-contract.js'

const redis = await startRedis(t)
let apps = 0

sessionContract(t, async (t, env = {}) => {
  // Each app gets a prefix of its own, so tests that reuse session ids never see each other's sessions.
  return await buildTestApp(t, { env: { REDIS_URL: redis.url, KEY_PREFIX: `test-${++apps}:`, ...env } })
})
