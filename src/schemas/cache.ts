// zod schemas of the /cache routes: the key and the TTL (conditional headers are in conditional.ts).
import { z } from 'zod'

export const CACHE_KEY_MAX_BYTES = 512

// C0 controls, DEL and C1 controls: they have no business in a key and break logs and tooling.
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f-\u009f]/ // eslint-disable-line no-control-regex

export const CacheKeySchema = z.string()
  .refine((key) => key.length > 0 && Buffer.byteLength(key, 'utf8') <= CACHE_KEY_MAX_BYTES, {
    error: `must be 1 to ${CACHE_KEY_MAX_BYTES} bytes of UTF-8`
  })
  .refine((key) => !CONTROL_CHARACTER.test(key) && key.isWellFormed(), {
    error: 'must not contain control characters or unpaired surrogates'
  })
  .describe('The entry\'s key: one percent-encoded path segment, 1 to 512 bytes of UTF-8 once decoded')

export const CacheParamsSchema = z.object({ key: CacheKeySchema })

/** `?ttl=` in whole seconds; the upper bound is configuration, so the schema is made per app. */
export function cachePutQuerySchema (maxTtlSeconds: number) {
  return z.object({
    ttl: z.string()
      .regex(/^[1-9]\d{0,9}$/, { error: 'must be a whole number of seconds, at least 1' })
      .transform(Number)
      .pipe(z.number().max(maxTtlSeconds, { error: `must be at most ${maxTtlSeconds} seconds` }))
      .optional()
      .describe('Seconds until the entry expires; the configured default applies when absent')
  })
}
