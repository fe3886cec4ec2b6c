// The error handler's last resort: a failure nobody named (a bug) leaves as a 500 problem with a generic detail,
// while the log keeps the whole error for the operator.
import t from 'tap'
import { buildTestApp, captureLogs } from '../helpers/app.js'

t.test('an unexpected failure is a 500 internal-error problem that says nothing of the internals', async (t) => {
  const logs = captureLogs()
  const app = await buildTestApp(t, { logs })
  await app.ready()
  // A bug inside the store: the one failure that cannot be caused from outside, so it is injected here.
  app.cacheStore.get = async () => { throw new Error('the secret internal detail') }

  const response = await app.inject({ method: 'GET', url: '/cache/anything' })
  t.equal(response.statusCode, 500)
  t.equal(response.headers['content-type'], 'application/problem+json; charset=utf-8')
  t.same(response.json(), {
    type: 'urn:cache-service:problem:internal-error',
    title: 'Internal error',
    status: 500,
    detail: 'The server could not complete the request'
  })
  t.notMatch(response.body, /secret internal detail/)
  t.equal(response.headers['retry-after'], undefined, 'a bug is not a reason to come back shortly')
  const logged = logs.lines().find((line) => line.msg === 'request failed')
  t.match(logged, { level: 50, err: { message: 'the secret internal detail' } }, 'the log has the whole error')
})
