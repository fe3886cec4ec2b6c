// The /cache contract against the embedded memory store.
import t from 'tap'
import { buildTestApp } from '../helpers/app.js'
import { cacheContract } from './cache-contract.js'

cacheContract(t, async (t, env = {}) => await buildTestApp(t, { env }))
