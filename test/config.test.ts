// Configuration: defaults, validation that names the variable, and secrets that are never echoed.
import t from 'tap'
import { ConfigError, loadConfig } from '../src/config.js'

t.test('an empty environment gives the documented defaults, frozen', async (t) => {
  const config = loadConfig({})
  t.same(config, {
    port: 8080,
    host: '0.0.0.0',
    logLevel: 'info',
    redis: undefined,
    keyPrefix: 'cache-service:',
    cache: { defaultTtlSeconds: 3600, maxTtlSeconds: 2_592_000, maxValueBytes: 1_048_576 },
    sessions: { idleTtlSeconds: 1800, absoluteTtlSeconds: 86_400, maxBytes: 65_536 },
    redisCommandTimeoutMs: 1000,
    shutdownGraceMs: 10_000
  })
  t.ok(Object.isFrozen(config) && Object.isFrozen(config.cache) && Object.isFrozen(config.sessions))
})

t.test('values are parsed, and an empty string counts as unset', async (t) => {
  const config = loadConfig({
    PORT: '9000',
    LOG_LEVEL: 'debug',
    REDIS_URL: 'rediss://cache.example:6380',
    CACHE_DEFAULT_TTL_SECONDS: '',
    KEY_PREFIX: 'tenant-a:'
  })
  t.equal(config.port, 9000)
  t.equal(config.logLevel, 'debug')
  t.same(config.redis, {
    nodes: [{ host: 'cache.example', port: 6380 }],
    cluster: false,
    db: 0,
    tls: { ca: undefined, servername: undefined },
    auth: { mode: 'none' }
  })
  t.equal(config.cache.defaultTtlSeconds, 3600)
  t.equal(config.keyPrefix, 'tenant-a:')
})

t.test('each invalid value is refused with a message that names its variable', async (t) => {
  for (const [env, variable] of [
    [{ PORT: 'eighty' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    [{ REDIS_URL: 'http://cache:6379' }, 'REDIS_URL'],
    [{ CACHE_MAX_TTL_SECONDS: '0' }, 'CACHE_MAX_TTL_SECONDS'],
    [{ CACHE_MAX_VALUE_BYTES: '-1' }, 'CACHE_MAX_VALUE_BYTES'],
    [{ REDIS_COMMAND_TIMEOUT_MS: '1.5' }, 'REDIS_COMMAND_TIMEOUT_MS'],
    [{ SHUTDOWN_GRACE_MS: 'soon' }, 'SHUTDOWN_GRACE_MS'],
    [{ SESSION_IDLE_TTL_SECONDS: '0' }, 'SESSION_IDLE_TTL_SECONDS'],
    [{ SESSION_ABSOLUTE_TTL_SECONDS: 'day' }, 'SESSION_ABSOLUTE_TTL_SECONDS'],
    [{ SESSION_MAX_BYTES: '1' }, 'SESSION_MAX_BYTES'],
    [{ CACHE_DEFAULT_TTL_SECONDS: '100', CACHE_MAX_TTL_SECONDS: '50' }, 'CACHE_DEFAULT_TTL_SECONDS']
  ] as const) {
    t.throws(() => loadConfig(env), { name: 'ConfigError', message: new RegExp(`${variable}: `) }, variable)
  }
})

t.test('every bad variable is named at once', async (t) => {
  const err = t.throws(() => loadConfig({ PORT: 'x', LOG_LEVEL: 'y' })) as ConfigError
  t.match(err.message, /PORT: /)
  t.match(err.message, /LOG_LEVEL: /)
})

t.test('a secret in a bad value is not echoed', async (t) => {
  const err = t.throws(() => loadConfig({ REDIS_URL: 'http://admin:hunter2@cache:6379' })) as ConfigError
  t.match(err.message, /REDIS_URL/)
  t.notMatch(err.message, /hunter2/)
})
