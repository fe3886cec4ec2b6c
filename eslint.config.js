// One linter, no debates: neostandard with TypeScript support and a 120-column limit.
import neostandard from 'neostandard'

export default [
  ...neostandard({ ts: true, ignores: ['dist/**', 'coverage/**', '.tap/**', '.generated/**', 'client/openapi.d.ts'] }),
  {
    rules: {
      '@stylistic/max-len': ['error', { code: 120, ignoreUrls: true }]
    }
  }
]
