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

/** A query parameter of whole seconds, 1 to `max`. */
function wholeSeconds (max: number) {
  return z.string()
    .regex(/^[1-9]\d{0,9}$/, { error: 'must be a whole number of seconds, at least 1' })
    .transform(Number)
    .pipe(z.number().max(max, { error: `must be at most ${max} seconds` }))
}

/** `?ttl=` and `?stale=` in whole seconds; the upper bound is configuration, so the schema is made per app. */
export function cachePutQuerySchema (maxTtlSeconds: number) {
  return z.object({
    ttl: wholeSeconds(maxTtlSeconds).optional()
      .describe('Seconds until the entry expires; the configured default applies when absent'),
    stale: wholeSeconds(maxTtlSeconds).optional()
      .describe('Seconds after the TTL during which GET still answers the value, marked stale, and hands one ' +
        'caller a lease to refresh it (RFC 5861 stale-while-revalidate); none when absent')
  })
}

export const MEDIA_TYPE_MAX_BYTES = 256
/** The media type of a value that names none. */
export const DEFAULT_MEDIA_TYPE = 'application/octet-stream'

// RFC 9110 §8.3.1: type "/" subtype *( OWS ";" OWS parameter ), parameter values a token or a quoted string; only
// printable ASCII, as anything else cannot be sent back in a Content-Type header.
const TOKEN = "[!#$%&'*+.^_`|~0-9A-Za-z-]+"
const QUOTED = '"(?:[\\t !#-\\[\\]-~]|\\\\[\\t -~])*"'
const MEDIA_TYPE = new RegExp(`^${TOKEN}/${TOKEN}(?:[ \\t]*;[ \\t]*(?:${TOKEN}=(?:${TOKEN}|${QUOTED}))?)*$`)

const WILDCARD = /^(?:\*\/|[^/]*\/\*(?:[ \t;]|$))/

/** The rule of MediaTypeSchema as a plain test, for the read path, which checks every stored type it serves. */
export function isMediaType (type: string): boolean {
  return type.length <= MEDIA_TYPE_MAX_BYTES && MEDIA_TYPE.test(type) && !WILDCARD.test(type)
}

/**
 * A value's media type, as a PUT's Content-Type or a bulk write's contentType: one definition for both, so that
 * every stored type can be sent back as a header. A wildcard (`*` as type or subtype) is a range, not a type.
 */
export const MediaTypeSchema = z.string()
  .max(MEDIA_TYPE_MAX_BYTES, { error: `must be at most ${MEDIA_TYPE_MAX_BYTES} characters` })
  .refine(isMediaType, {
    error: 'must be a media type (RFC 9110), as type/subtype with optional parameters, without wildcards'
  })
  .describe('A media type such as `application/json` or `text/plain; charset=utf-8` (RFC 9110 §8.3.1): ' +
    `printable ASCII, at most ${MEDIA_TYPE_MAX_BYTES} characters, no wildcards`)

export const CACHE_TAG_MAX_BYTES = 128
export const CACHE_TAGS_MAX = 16

export const CacheTagSchema = z.string()
  .refine((tag) => tag.length > 0 && Buffer.byteLength(tag, 'utf8') <= CACHE_TAG_MAX_BYTES, {
    error: `must be 1 to ${CACHE_TAG_MAX_BYTES} bytes of UTF-8`
  })
  .refine((tag) => !/[\s,]/.test(tag) && !CONTROL_CHARACTER.test(tag) && tag.isWellFormed(), {
    error: 'must not contain white space, commas or control characters'
  })
  .describe('A tag: 1 to 128 bytes of UTF-8, without white space, commas or control characters')

/** An entry's tags: no more than CACHE_TAGS_MAX, and each once (a repeat is dropped, as it means nothing more). */
export const CacheTagsSchema = z.array(CacheTagSchema)
  .max(CACHE_TAGS_MAX, { error: `must list at most ${CACHE_TAGS_MAX} tags` })
  .transform((tags) => [...new Set(tags)])

/** `Cache-Tag: user:42, catalog`: a comma-separated list, as CDNs take it; empty elements are skipped. */
export const CacheTagHeaderSchema = z.string()
  .transform((value) => value.split(',').map((tag) => tag.trim()).filter((tag) => tag !== ''))
  .pipe(CacheTagsSchema)
  .describe(`Tags for the entry, separated by commas (at most ${CACHE_TAGS_MAX}); DELETE /cache?tag= removes ` +
    'every entry of a tag')

export const CacheTagQuerySchema = z.object({
  tag: CacheTagSchema.describe('Remove every entry that carries this tag')
})

export const TagInvalidationSchema = z.object({
  removed: z.int().min(0).describe('How many entries carried the tag and were removed')
}).describe('The outcome of an invalidation by tag').meta({ id: 'TagInvalidation' })
