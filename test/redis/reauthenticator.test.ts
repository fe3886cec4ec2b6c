// The re-authenticator on its own, against a real redis-server with an ACL user: a connection whose handshake is
// under way when a new token arrives began with the old one, so it must be sent the new one once it is ready.
import { once } from 'node:events'
import { Redis } from 'ioredis'
import { pino } from 'pino'
import t, { type Test } from 'tap'
import { Reauthenticator } from '../../src/redis/reauthenticator.js'
import { until } from '../helpers/until.js'
import { startRedis, type RedisServer } from '../helpers/redis-server.js'

/**
 * A client of the ACL user svc whose handshake (HELLO 3 AUTH svc token-1) is sent but not answered, because the
 * server is frozen, and a re-authenticator tracking it. The test resumes the server.
 */
async function connectingClient (t: Test, redis: RedisServer) {
  redis.pause()
  const client = new Redis({
    host: '127.0.0.1',
    port: redis.port,
    username: 'svc',
    password: 'token-1',
    maxRetriesPerRequest: 0,
    connectTimeout: 10_000
  })
  t.teardown(() => client.disconnect())
  await until(() => client.status === 'connect', 'the TCP connection')
  const reauthenticator = new Reauthenticator(pino({ level: 'silent' }))
  reauthenticator.track(client)
  return { client, reauthenticator }
}

t.test('a connection that is connecting when a token arrives is re-authenticated once ready', async (t) => {
  const redis = await startRedis(t)
  await redis.admin().acl('SETUSER', 'svc', 'on', '>token-1', '>token-2', '~*', '+@all')
  // Which connection sent AUTH, as Azure's side would see it.
  const auths: string[] = []
  const monitor = await redis.admin().monitor()
  t.teardown(() => monitor.disconnect())
  monitor.on('monitor', (_time: string, args: string[], source: string) => {
    // ioredis authenticates its handshake with HELLO 3 AUTH, and a later re-authentication with AUTH.
    if (args.some((arg) => arg.toLowerCase() === 'auth')) auths.push(source)
  })

  const { client, reauthenticator } = await connectingClient(t, redis)
  await reauthenticator.apply({ username: 'svc', password: 'token-2' }, 0)
  t.equal(reauthenticator.status().reauthentications, 0, 'nothing can be sent while the handshake is under way')
  t.equal(client.options.password, 'token-2', 'but any reconnect will use the new token')

  redis.resume()
  await once(client, 'ready')
  await until(() => reauthenticator.status().reauthentications === 1, 'the re-authentication')
  const address = /addr=(\S+)/.exec(await client.client('INFO') as string)![1]!
  await until(() => auths.filter((source) => source === address).length === 2, 'MONITOR to see both AUTHs')
  t.pass('the handshake AUTH with the old token, then AUTH with the new one, on the same connection')
  t.equal(await client.acl('WHOAMI'), 'svc')
})

t.test('rotations while a connection is down add one listener, and the newest token is sent', async (t) => {
  const redis = await startRedis(t)
  // token-2 was superseded before the connection was ready: the server no longer takes it, only the newest.
  await redis.admin().acl('SETUSER', 'svc', 'on', '>token-1', '>token-3', '~*', '+@all')
  const { client, reauthenticator } = await connectingClient(t, redis)
  const listenersBefore = client.listenerCount('end')
  await reauthenticator.apply({ username: 'svc', password: 'token-2' }, 0)
  await reauthenticator.apply({ username: 'svc', password: 'token-3' }, 0)
  t.equal(client.listenerCount('end'), listenersBefore + 1, 'one waiting listener, however many rotations')
  redis.resume()
  await once(client, 'ready')
  await until(() => reauthenticator.status().reauthentications === 1, 'the re-authentication')
  t.equal(reauthenticator.status().reauthenticationFailures, 0, 'the newest token was sent, and accepted')
  t.equal(client.listenerCount('end'), listenersBefore, 'the listener is gone once used')
})
