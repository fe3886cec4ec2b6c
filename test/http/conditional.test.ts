// If-Match and If-None-Match lists as RFC 9110 §5.6.1 has recipients read them: empty elements are accepted.
import t from 'tap'
import { parseEntityTagList } from '../../src/schemas/conditional.js'
import { buildTestApp } from '../helpers/app.js'

t.test('empty list elements are accepted before, between and after the tags', async (t) => {
  t.same(parseEntityTagList(',"a"'), ['"a"'])
  t.same(parseEntityTagList('"x",, "y"'), ['"x"', '"y"'])
  t.same(parseEntityTagList(' , W/"x" ,, ,"y", '), ['W/"x"', '"y"'])
  t.same(parseEntityTagList('"a,b"'), ['"a,b"'], 'a comma inside a tag is part of the tag')
  t.equal(parseEntityTagList('"a" "b"'), undefined, 'two tags still need a comma between them')
  t.equal(parseEntityTagList(',,'), undefined, 'a list of nothing but empty elements is no list')
  t.equal(parseEntityTagList('a'), undefined)
})

t.test('the routes honour lists with empty elements', async (t) => {
  const app = await buildTestApp(t)
  const put = await app.inject({ method: 'PUT', url: '/cache/k', payload: 'v' })
  const etag = put.headers.etag as string
  for (const list of [`,${etag}`, `"x",, ${etag}`, `${etag},`]) {
    const res = await app.inject({ method: 'GET', url: '/cache/k', headers: { 'if-none-match': list } })
    t.equal(res.statusCode, 304, `If-None-Match: ${list}`)
  }
  const replaced = await app.inject({
    method: 'PUT', url: '/cache/k', payload: 'w', headers: { 'if-match': `,, "x", ${etag}` }
  })
  t.equal(replaced.statusCode, 204, 'If-Match with empty elements')
})
