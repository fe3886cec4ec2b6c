// Sessions per user at a hostile caller's scale (see session-subject-scale.ts), on one Redis.
import t from 'tap'
import { sessionSubjectScale } from './session-subject-scale.js'

// About a minute alone; more beside the rest of a CI run, which tap's 120 s per file would cut short.
t.setTimeout(300_000)
sessionSubjectScale(t, 'redis')
