// Configuration: defaults, validation that names the variable, and secrets that are never echoed.
import t from 'tap'
import { writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ConfigError, loadConfig } from '../src/config/index.js'
import { DEFAULT_PORT } from '../src/config/redis.js'

/** With Redis configured, AUTH_MODE must be chosen; these tests are about other variables. */
const load = (env: Record<string, string>) => loadConfig({ AUTH_MODE: 'none', ...env })

t.test('an empty environment gives the documented defaults, frozen', async (t) => {
  const config = loadConfig({})
  t.same(config, {
    port: 8080,
    host: '0.0.0.0',
    logLevel: 'info',
    logSlowRequestMs: 1000,
    redis: undefined,
    keyPrefix: 'cache-service:',
    cache: {
      defaultTtlSeconds: 3600,
      maxTtlSeconds: 2_592_000,
      maxValueBytes: 1_048_576,
      bulkMaxKeys: 100,
      bulkMaxResponseBytes: 8_388_608,
      leaseTtlSeconds: 5,
      leaseMaxTtlSeconds: 60,
      waiting: { maxWaiters: 10_000, maxPerCaller: 1000 },
      near: { maxBytes: 33_554_432, maxStaleIfErrorSeconds: 300, freshReads: false }
    },
    sessions: {
      idleTtlSeconds: 1800,
      absoluteTtlSeconds: 86_400,
      maxBytes: 65_536,
      subjects: { maxSessions: 1000, cap: 0, capPolicy: 'refuse' },
      listMaxLimit: 100,
      events: { maxEvents: 10_000, sweepIntervalMs: 5000 }
    },
    shutdownGraceMs: 10_000,
    http: {
      trustProxy: false,
      corsOrigins: undefined,
      maxEventLoopDelayMs: 1000,
      requestTimeoutMs: 30_000,
      maxBodyBytesInFlight: 32 * 1_048_576,
      maxConnections: 4096,
      docsEnabled: true
    },
    metrics: { enabled: true, port: 9090 },
    security: {
      auth: { mode: 'none' },
      keyIsolation: 'none',
      rateLimit: { max: 0, windowMs: 60_000, budgetPercent: 1, budgetKeys: 10_000 },
      authFailureLimit: { max: 30, windowMs: 60_000 }
    }
  })
  t.ok(Object.isFrozen(config) && Object.isFrozen(config.cache) && Object.isFrozen(config.security.auth))
})

t.test('values are parsed, and an empty string counts as unset', async (t) => {
  const config = load({
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
    auth: { mode: 'none' },
    commandTimeoutMs: 1000,
    connectTimeoutMs: 10_000,
    keepAliveMs: 60_000,
    reconnectMaxDelayMs: 2000,
    maintenanceEvents: true
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
  const err = t.throws(() => load({ REDIS_URL: 'http://admin:hunter2@cache:6379' })) as ConfigError
  t.match(err.message, /REDIS_URL/)
  t.notMatch(err.message, /hunter2/)
})

t.test('Redis: a URL, or host, port and TLS, and the ports Azure uses by default', async (t) => {
  t.same(load({ REDIS_URL: 'redis://cache:6390/2' }).redis,
    {
      nodes: [{ host: 'cache', port: 6390 }],
      cluster: false,
      db: 2,
      tls: undefined,
      auth: { mode: 'none' },
      commandTimeoutMs: 1000,
      connectTimeoutMs: 10_000,
      keepAliveMs: 60_000,
      reconnectMaxDelayMs: 2000,
      maintenanceEvents: true
    })
  t.same(load({ REDIS_HOST: 'cache.redis.cache.windows.net', REDIS_TLS: 'true' }).redis?.nodes,
    [{ host: 'cache.redis.cache.windows.net', port: 6380 }], 'TLS defaults to 6380')
  t.same(load({ REDIS_HOST: 'managed.redis.azure.net', REDIS_PORT: '10000', REDIS_TLS: '1' }).redis?.nodes,
    [{ host: 'managed.redis.azure.net', port: 10000 }])
  t.same(load({ REDIS_URL: 'redis://[::1]:7000' }).redis?.nodes, [{ host: '::1', port: 7000 }])
  t.same(load({ REDIS_URL: 'rediss://managed.westeurope.redis.azure.net' }).redis?.nodes,
    [{ host: 'managed.westeurope.redis.azure.net', port: 10000 }], 'Azure Managed Redis defaults to 10000')
  t.same(load({ REDIS_HOST: 'managed.westeurope.redis.azure.net' }).redis?.nodes,
    [{ host: 'managed.westeurope.redis.azure.net', port: 10000 }], 'with or without TLS')
  t.same(load({ REDIS_CLUSTER: 'true', REDIS_CLUSTER_NODES: 'managed.westeurope.redis.azure.net' }).redis?.nodes,
    [{ host: 'managed.westeurope.redis.azure.net', port: 10000 }], 'as a cluster\'s seed')
  t.throws(() => load({ REDIS_URL: 'rediss://managed.westeurope.redis.azure.net/1' }),
    { message: /REDIS_URL: must not select a database: Azure Managed Redis has only database 0/ })
  t.same(load({
    REDIS_URL: 'redis://cache',
    REDIS_CONNECT_TIMEOUT_MS: '15000',
    REDIS_KEEPALIVE_MS: '30000',
    REDIS_RECONNECT_MAX_DELAY_MS: '5000',
    REDIS_MAINTENANCE_EVENTS: 'false'
  }).redis,
  {
    ...load({ REDIS_URL: 'redis://cache' }).redis,
    connectTimeoutMs: 15_000,
    keepAliveMs: 30_000,
    reconnectMaxDelayMs: 5000,
    maintenanceEvents: false
  })
  t.throws(() => load({ REDIS_URL: 'redis://cache', REDIS_KEEPALIVE_MS: '600000' }),
    { message: /REDIS_KEEPALIVE_MS/ }, 'a keepalive that Azure\'s 10-minute idle close would beat is refused')
})

t.test('Redis auth: the mode follows what is set, and contradictions are refused', async (t) => {
  t.same(load({ REDIS_URL: 'rediss://user:p%40ss@cache:6380' }).redis?.auth,
    { mode: 'password', username: 'user', password: 'p@ss' }, 'a password in the URL')
  t.same(load({ REDIS_URL: 'redis://cache', REDIS_PASSWORD: 'key' }).redis?.auth,
    { mode: 'password', username: undefined, password: 'key' })
  t.same(load({ REDIS_URL: 'redis://cache', REDIS_AUTH: 'entra' }).redis?.auth,
    { mode: 'entra', scope: 'https://redis.azure.com/.default', username: undefined })
  t.throws(() => load({ REDIS_URL: 'redis://cache', REDIS_AUTH: 'password' }), { message: /REDIS_PASSWORD: must be set/ })
  t.throws(() => load({ REDIS_URL: 'redis://:key@cache', REDIS_AUTH: 'entra' }), { message: /REDIS_AUTH: entra takes no password/ })
  t.throws(() => load({ REDIS_URL: 'redis://cache', REDIS_PASSWORD: 'a', REDIS_PASSWORD_FILE: '/etc/hostname' }),
    { message: /REDIS_PASSWORD_FILE: must not be set together/ })
  const missing = t.throws(() => load({ REDIS_URL: 'redis://cache', REDIS_PASSWORD_FILE: '/nonexistent/key' })) as Error
  t.match(missing.message, /REDIS_PASSWORD_FILE: cannot read the file \(ENOENT\)/)
  t.ok(load({ REDIS_URL: 'redis://cache', REDIS_TLS_CA_FILE: '/nonexistent/ca.pem' }), 'a CA file is read only for TLS')
  t.throws(() => load({ REDIS_URL: 'rediss://cache', REDIS_TLS_CA_FILE: '/nonexistent/ca.pem' }),
    { message: /REDIS_TLS_CA_FILE: cannot read the file/ })
})

t.test('Redis cluster: seed nodes from REDIS_CLUSTER_NODES or the URL', async (t) => {
  const config = load({ REDIS_CLUSTER: 'true', REDIS_CLUSTER_NODES: '10.0.0.1:7000, 10.0.0.2,[fd00::3]:7002' })
  t.same(config.redis?.nodes, [
    { host: '10.0.0.1', port: 7000 }, { host: '10.0.0.2', port: DEFAULT_PORT.plain }, { host: 'fd00::3', port: 7002 }
  ])
  t.equal(config.redis?.cluster, true)
  t.same(load({ REDIS_CLUSTER: 'true', REDIS_URL: 'rediss://cache:10000' }).redis?.nodes, [{ host: 'cache', port: 10000 }])
  t.throws(() => load({ REDIS_CLUSTER: 'true', REDIS_URL: 'redis://cache/3' }),
    { message: /REDIS_URL: must not select a database/ })
  t.throws(() => load({ REDIS_CLUSTER_NODES: 'a:b:c' }),
    { message: /REDIS_CLUSTER_NODES: must be a comma-separated/ })
  t.throws(() => load({ REDIS_CLUSTER: 'yes' }), { message: /REDIS_CLUSTER: must be true or false/ })
})

t.test('AUTH_MODE: none only by default for the embedded store; with Redis it must be chosen', async (t) => {
  t.same(loadConfig({}).security.auth, { mode: 'none' })
  t.throws(() => loadConfig({ REDIS_URL: 'redis://cache' }), { message: /AUTH_MODE: must be set/ })
  t.throws(() => loadConfig({ AUTH_MODE: 'jwt' }),
    { message: /JWT_ISSUER: must be set[\s\S]*JWT_AUDIENCE: must be set/ })
  t.same(loadConfig({ AUTH_MODE: 'jwt', JWT_ISSUER: 'https://issuer.example/v2.0', JWT_AUDIENCE: 'api://a, b' }).security.auth,
    { mode: 'jwt', issuer: 'https://issuer.example/v2.0', audiences: ['api://a', 'b'], clockSkewSeconds: 60 })
})

t.test('API keys come from a JSON or YAML file or variable, as hashes with names and scopes', async (t) => {
  const hash = 'a'.repeat(64)
  const yaml = `keys:\n  - name: orders\n    sha256: ${hash}\n    scopes: [cache:read, cache:write]\n`
  const file = join(tmpdir(), `api-keys-${process.pid}.yaml`)
  writeFileSync(file, yaml)
  const expected = { mode: 'api-key', keys: [{ name: 'orders', sha256: hash, scopes: ['cache:read', 'cache:write'] }] }
  t.same(loadConfig({ AUTH_MODE: 'api-key', API_KEYS_FILE: file }).security.auth, expected)
  t.same(loadConfig({ AUTH_MODE: 'api-key', API_KEYS: JSON.stringify(expected.keys) }).security.auth, expected)
  t.throws(() => loadConfig({ AUTH_MODE: 'api-key' }), { message: /API_KEYS_FILE: or API_KEYS must be set/ })
  const clearKey = '[{"name":"x","sha256":"clear-key","scopes":["admin"]}]'
  t.throws(() => loadConfig({ AUTH_MODE: 'api-key', API_KEYS: clearKey }),
    { message: /API_KEYS: must list keys/ })
  t.throws(() => loadConfig({ AUTH_MODE: 'api-key', API_KEYS: `[{"name":"x","sha256":"${hash}","scopes":["root"]}]` }),
    { message: /API_KEYS: must list keys/ })
})

t.test('trust proxy, CORS and the rate limit', async (t) => {
  t.equal(loadConfig({ TRUST_PROXY: 'true' }).http.trustProxy, true)
  t.equal(loadConfig({ TRUST_PROXY: '2' }).http.trustProxy, 2)
  t.same(loadConfig({ TRUST_PROXY: '10.0.0.0/8, 127.0.0.1' }).http.trustProxy, ['10.0.0.0/8', '127.0.0.1'])
  t.same(loadConfig({ TRUST_PROXY: 'loopback, fd00::/8' }).http.trustProxy, ['loopback', 'fd00::/8'])
  for (const value of ['yes', 'True', '10.0.0.0/33', '10.0.0.0/8/1', 'fd00::/129', 'proxy.internal', ',']) {
    t.throws(() => loadConfig({ TRUST_PROXY: value }), { name: 'ConfigError', message: /TRUST_PROXY: must be/ },
      `TRUST_PROXY=${value} is a configuration error`)
  }
  t.throws(() => loadConfig({ REDIS_URL: 'redis://:p%zz@host', AUTH_MODE: 'none' }),
    { name: 'ConfigError', message: /REDIS_URL: must percent-encode/ }, 'a bad escape in the password')
  try {
    loadConfig({ REDIS_URL: 'redis://:secret%zz@host', AUTH_MODE: 'none' })
  } catch (err) {
    t.notMatch((err as Error).message, /secret/, 'and the password is not echoed')
  }
  t.same(loadConfig({ CORS_ORIGINS: 'https://a.example, https://b.example' }).http.corsOrigins,
    ['https://a.example', 'https://b.example'])
  t.same(loadConfig({
    RATE_LIMIT_MAX: '10', RATE_LIMIT_WINDOW_MS: '1000', RATE_LIMIT_BUDGET_PERCENT: '0', RATE_LIMIT_BUDGET_KEYS: '5'
  }).security.rateLimit, { max: 10, windowMs: 1000, budgetPercent: 0, budgetKeys: 5 })
})

t.test('CACHE_MAX_VALUE_BYTES=0 is refused: Fastify would read a body limit of 0 as unset', async (t) => {
  t.throws(() => load({ CACHE_MAX_VALUE_BYTES: '0' }), /CACHE_MAX_VALUE_BYTES: must be at least 1/)
  t.equal(load({ CACHE_MAX_VALUE_BYTES: '1' }).cache.maxValueBytes, 1)
})

t.test('limits: none on the embedded store, 100,000 a minute per caller on Redis, failures 30 a minute', async (t) => {
  t.match(loadConfig({}).security.rateLimit, { max: 0, windowMs: 60_000 })
  t.match(load({ REDIS_URL: 'redis://cache:6379' }).security.rateLimit, { max: 100_000, windowMs: 60_000 })
  t.same(load({ REDIS_URL: 'redis://cache:6379', RATE_LIMIT_MAX: '0' }).security.rateLimit.max, 0)
  t.same(load({ AUTH_FAILURE_MAX: '5', AUTH_FAILURE_WINDOW_MS: '1000' }).security.authFailureLimit,
    { max: 5, windowMs: 1000 })
})

t.test('CACHE_BULK_MAX_KEYS is 1 to 10,000', async (t) => {
  t.equal(load({ CACHE_BULK_MAX_KEYS: '250' }).cache.bulkMaxKeys, 250)
  t.throws(() => load({ CACHE_BULK_MAX_KEYS: '0' }), /CACHE_BULK_MAX_KEYS: must be at least 1/)
  t.throws(() => load({ CACHE_BULK_MAX_KEYS: '10001' }), /CACHE_BULK_MAX_KEYS/)
})

t.test('the default lease lifetime may not exceed the longest a caller may ask for', async (t) => {
  t.same(load({ CACHE_LEASE_TTL_SECONDS: '10', CACHE_LEASE_MAX_TTL_SECONDS: '30' }).cache.leaseMaxTtlSeconds, 30)
  t.throws(() => load({ CACHE_LEASE_TTL_SECONDS: '31', CACHE_LEASE_MAX_TTL_SECONDS: '30' }),
    /CACHE_LEASE_TTL_SECONDS: must not exceed CACHE_LEASE_MAX_TTL_SECONDS/)
})

t.test('a subject\'s cap: off by default, within the bound on all sessions of a subject, with a policy', async (t) => {
  t.same(load({ SESSION_SUBJECT_CAP: '5', SESSION_SUBJECT_CAP_POLICY: 'end-oldest' }).sessions.subjects,
    { maxSessions: 1000, cap: 5, capPolicy: 'end-oldest' })
  t.throws(() => load({ SESSION_SUBJECT_CAP: '11', SESSION_SUBJECT_MAX_SESSIONS: '10' }),
    /SESSION_SUBJECT_CAP: must not exceed SESSION_SUBJECT_MAX_SESSIONS/)
  t.throws(() => load({ SESSION_SUBJECT_MAX_SESSIONS: '5001' }), /SESSION_SUBJECT_MAX_SESSIONS/)
  t.throws(() => load({ SESSION_SUBJECT_CAP_POLICY: 'evict' }), /SESSION_SUBJECT_CAP_POLICY/)
  t.throws(() => load({ SESSION_LIST_MAX_LIMIT: '0' }), /SESSION_LIST_MAX_LIMIT/)
})

t.test('the log of session ends: bounded, and swept for expiries often, but not so often that Redis feels it',
  async (t) => {
    t.same(load({ SESSION_EVENTS_MAX: '50', SESSION_EXPIRY_SWEEP_INTERVAL_MS: '250' }).sessions.events,
      { maxEvents: 50, sweepIntervalMs: 250 })
    t.throws(() => load({ SESSION_EVENTS_MAX: '0' }), /SESSION_EVENTS_MAX/)
    t.throws(() => load({ SESSION_EVENTS_MAX: '1000001' }), /SESSION_EVENTS_MAX/)
    t.throws(() => load({ SESSION_EXPIRY_SWEEP_INTERVAL_MS: '49' }), /SESSION_EXPIRY_SWEEP_INTERVAL_MS/)
  })
