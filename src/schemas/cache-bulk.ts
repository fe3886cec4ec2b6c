// zod schemas of the /cache-bulk routes: many keys in one request, each with its own outcome. Values travel as
// base64 in JSON, which every client generator handles; the key and tag rules are those of one-by-one requests.
import { z } from 'zod'
import { CacheKeySchema, CacheTagsSchema, DEFAULT_MEDIA_TYPE, MediaTypeSchema, wholeSeconds } from './cache.js'
import { EntityTagListHeaderSchema } from './conditional.js'

export interface BulkLimits {
  maxKeys: number
  maxTtlSeconds: number
  maxValueBytes: number
}

/** A list of keys, each named once: two outcomes for one key would say nothing a caller could act on. */
function keyList (maxKeys: number) {
  return z.array(CacheKeySchema).min(1).max(maxKeys, { error: `must list at most ${maxKeys} keys` })
    .refine((keys) => new Set(keys).size === keys.length, { error: 'must not name a key twice' })
    .meta({ uniqueItems: true })
}

export function bulkKeysSchema ({ maxKeys }: BulkLimits) {
  return z.strictObject({ keys: keyList(maxKeys).describe(`The keys, 1 to ${maxKeys}, each once`) })
}

export function bulkPutSchema ({ maxKeys, maxTtlSeconds, maxValueBytes }: BulkLimits) {
  const BulkPutEntrySchema = z.strictObject({
    key: CacheKeySchema,
    value: z.base64().describe(`The value's bytes, at most ${maxValueBytes} once decoded, base64-encoded (RFC 4648 ` +
      '§4, with padding)'),
    contentType: MediaTypeSchema.optional()
      .describe(`The value's media type; ${DEFAULT_MEDIA_TYPE} when absent`),
    ttlSeconds: wholeSeconds(maxTtlSeconds).optional()
      .describe('Seconds until the entry expires; the configured default applies when absent'),
    staleSeconds: wholeSeconds(maxTtlSeconds).optional()
      .describe('Seconds after the TTL during which the entry may still be served, marked stale (as ?stale= on PUT)'),
    staleIfErrorSeconds: wholeSeconds(maxTtlSeconds).optional()
      .describe('The stale-if-error of reads of this entry that name none (as ?stale-if-error= on PUT)'),
    tags: CacheTagsSchema.optional().describe('Tags for the entry, as in Cache-Tag'),
    ifMatch: EntityTagListHeaderSchema.optional().describe('As the If-Match header, for this entry alone'),
    ifNoneMatch: EntityTagListHeaderSchema.optional().describe('As the If-None-Match header, for this entry alone')
  })
  return z.strictObject({
    entries: z.array(BulkPutEntrySchema).min(1).max(maxKeys, { error: `must list at most ${maxKeys} entries` })
      .refine((entries) => new Set(entries.map(({ key }) => key)).size === entries.length, {
        error: 'must not name a key twice'
      })
      .describe(`The entries to write, 1 to ${maxKeys}; no two may name the same key (JSON Schema cannot say ` +
        'this: uniqueItems compares whole entries)')
  })
}

export const BulkReadSchema = z.object({
  entries: z.array(z.object({
    key: z.string(),
    found: z.boolean().describe('false when there is no entry for the key; the other fields are then absent'),
    tooLarge: z.boolean().optional().describe('true when the entry exists but its value did not fit within the ' +
      'size limit of one answer (CACHE_BULK_MAX_RESPONSE_BYTES): read it alone with GET /cache/{key}; the other ' +
      'fields are then absent'),
    value: z.string().optional().describe('The stored bytes, base64-encoded'),
    contentType: z.string().optional(),
    etag: z.string().optional().describe('The strong entity tag, as GET answers it in ETag'),
    ttlSeconds: z.int().optional().describe('Whole seconds the entry stays fresh, rounded down; 0 when stale'),
    stale: z.boolean().optional().describe('true when the entry is past its TTL and served within its stale window ' +
      '(as GET marks it in Cache-Status)')
  })).describe('One outcome per key, in the order of the request')
}).meta({ id: 'BulkRead' })

/** What a key's write or delete came to; a store failure is that key's alone when others succeeded. */
const FAILED = ['store-unavailable', 'store-full'] as const

export const BulkPutResultSchema = z.object({
  results: z.array(z.object({
    key: z.string(),
    outcome: z.enum(['created', 'replaced', 'precondition-failed', ...FAILED])
      .describe('created or replaced: stored; the rest: not stored, and why'),
    etag: z.string().optional().describe('The stored entry\'s entity tag, when it was stored')
  })).describe('One outcome per entry, in the order of the request')
}).meta({ id: 'BulkPutResult' })

export const BulkDeleteResultSchema = z.object({
  results: z.array(z.object({
    key: z.string(),
    outcome: z.enum(['deleted', 'not-found', 'store-unavailable'])
      .describe('`deleted` also for an entry marked stale (`mode=stale`), or removed for having no stale window')
  })).describe('One outcome per key, in the order of the request')
}).meta({ id: 'BulkDeleteResult' })
