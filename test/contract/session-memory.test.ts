// The /sessions contract against the embedded memory store.
import t from 'tap'
import { buildTestApp } from '../helpers/app.js'
import { sessionContract } from './session-contract.js'

sessionContract(t, async (t, env = {}) => await buildTestApp(t, { env }))
