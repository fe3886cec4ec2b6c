// zod schemas of the health probes' answers.
import { z } from 'zod'

export const HealthSchema = z.object({
  status: z.enum(['ok', 'ready']).describe('ok: the process runs; ready: the store answers too')
}).describe('A health probe\'s answer').meta({ id: 'Health' })
