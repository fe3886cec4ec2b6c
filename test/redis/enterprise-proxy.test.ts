// The Enterprise-policy stand-in refuses what Azure Managed Redis's proxy refuses, and passes the rest unchanged:
// the contract suites that run through it are only as good as its refusals.
import { Redis } from 'ioredis'
import t from 'tap'
import { startEnterpriseProxy } from '../helpers/enterprise-proxy.js'
import { startRedis } from '../helpers/redis-server.js'

t.test('the Enterprise stand-in', async (t) => {
  const redis = await startRedis(t)
  const proxy = await startEnterpriseProxy(t, redis.port)
  const client = new Redis({ port: proxy.port, maxRetriesPerRequest: 0 })
  t.teardown(() => client.disconnect())

  await t.rejects(client.call('CLUSTER', 'SLOTS'), /^ERR This instance has cluster support disabled$/,
    'no cluster API')
  await t.rejects(client.select(1), /^ERR DB index is out of range$/, 'one database')
  t.equal(await client.select(0), 'OK')

  // {a} and {b} hash to different slots (15495 and 3300).
  t.equal(await client.mset('{a}1', 'x', '{b}1', 'y'), 'OK', 'MSET may span slots')
  t.same(await client.mget('{a}1', '{b}1'), ['x', 'y'], 'MGET may span slots')
  t.equal(await client.del('{a}1', '{b}1'), 2, 'DEL may span slots')
  const crossSlot = 'CROSSSLOT Keys in request don\'t hash to the same slot (context=\'\', command=\'eval\', ' +
    'original-slot=\'15495\', wrong-slot=\'3300\', first-key=\'{a}1\', violating-key=\'{b}1\')'
  await t.rejects(client.eval('return 1', 2, '{a}1', '{b}1'), { message: crossSlot },
    'a script spanning slots is refused, with the details the proxy gives')
  t.equal(await client.eval('return #KEYS', 2, '{a}1', '{a}2'), 2, 'one slot through a hash tag passes')
  await t.rejects(client.rename('{a}1', '{b}1'), /^CROSSSLOT/, 'so is any other command spanning slots')

  const refused = await client.multi().set('{a}1', 'x').set('{b}1', 'y').exec()
    .then(() => undefined, (err: Error) => err)
  t.match(refused?.message, /EXECABORT/, 'a transaction spanning slots is discarded whole')
  t.equal(await client.exists('{a}1'), 0, 'nothing of it ran')
  t.same(await client.multi().set('{a}1', 'x').get('{a}1').exec(), [[null, 'OK'], [null, 'x']],
    'a transaction in one slot runs')

  const replies = await Promise.all(Array.from({ length: 200 }, async (_, i) =>
    await (i % 3 === 0 ? client.eval('return 1', 2, '{a}', '{b}').catch(() => 'refused') : client.echo(String(i)))))
  t.same(replies, Array.from({ length: 200 }, (_, i) => i % 3 === 0 ? 'refused' : String(i)),
    'pipelined replies keep their order around refusals')

  const subscriber = new Redis({ port: proxy.port })
  t.teardown(() => subscriber.disconnect())
  await subscriber.subscribe('channel')
  const heard = new Promise((resolve) => subscriber.on('message', (_channel, message) => resolve(message)))
  await client.publish('channel', 'hello')
  t.equal(await heard, 'hello', 'pub/sub passes through')
})
