// zod schemas of the /cache routes: the key and the TTL (conditional headers are in conditional.ts).
import { z } from 'zod'
import { INVALIDATION_MODES } from '../store/cache-store.js'

export const CACHE_KEY_MAX_CHARACTERS = 512

// The rules below are regular expressions, so that the OpenAPI document states them exactly (as `pattern`) and a
// generated client or a fuzzer produces only what the service accepts. Lengths count Unicode characters (code
// points), as JSON Schema's do, which the `u` flag makes JavaScript count too. C0 controls, DEL and C1 controls have
// no business in a key or a tag: they break logs and tooling. Nor have unpaired surrogates (only a JSON body can
// hold one), which no UTF-8 store can keep; that rule is a refinement and a sentence, as the patterns of Rust's and
// Python's JSON Schema validators cannot name a surrogate.
const CONTROLS = '\\u0000-\\u001f\\u007f-\\u009f'
const WELL_FORMED = { error: 'must not hold an unpaired surrogate' }
// JavaScript's \s, spelled out: Python's \s (a fuzzer's) is another set, so neither is used in a pattern.
const WHITE_SPACE = '\\u0020\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff'

const CACHE_KEY = new RegExp(`^[^${CONTROLS}]{1,${CACHE_KEY_MAX_CHARACTERS}}$`, 'u')

export const CacheKeySchema = z.string()
  .regex(CACHE_KEY, { error: `must be 1 to ${CACHE_KEY_MAX_CHARACTERS} characters, without control characters` })
  .refine((key) => key.isWellFormed(), WELL_FORMED)
  .describe(`The entry's key: 1 to ${CACHE_KEY_MAX_CHARACTERS} Unicode characters, without control characters or ` +
    'unpaired surrogates; in a path, one percent-encoded segment')
  .meta({ examples: ['user:42/profile'] })

export const CacheParamsSchema = z.object({ key: CacheKeySchema })

/** Whole seconds, 1 to `max`: a TTL, which the configuration caps. */
export function wholeSeconds (max: number) {
  return z.int({ error: 'must be a whole number of seconds' })
    .min(1, { error: 'must be at least 1 second' })
    .max(max, { error: `must be at most ${max} seconds` })
}

/**
 * A query parameter of whole seconds, declared as the integer it is: only digits are turned into a number, so
 * anything else ("1e3", " 5", "0x10") is refused as not one.
 */
function wholeSecondsQuery (max: number) {
  return z.preprocess((value) => typeof value === 'string' && /^\d{1,16}$/.test(value) ? Number(value) : value,
    wholeSeconds(max))
}

/**
 * `?ttl=` and `?stale=` in whole seconds; the upper bound is configuration, so the schema is made per app. Like every
 * query of the service, no other parameter is taken: `?tll=60` is refused, not stored with the default TTL.
 */
export function cachePutQuerySchema (maxTtlSeconds: number) {
  return z.strictObject({
    ttl: wholeSecondsQuery(maxTtlSeconds).optional()
      .describe('Seconds until the entry expires; the configured default applies when absent'),
    stale: wholeSecondsQuery(maxTtlSeconds).optional()
      .describe('Seconds after the TTL during which GET still answers the value, marked stale, and hands one ' +
        'caller a lease to refresh it (RFC 5861 stale-while-revalidate); none when absent'),
    'stale-if-error': wholeSecondsQuery(maxTtlSeconds).optional()
      .describe('The stale-if-error (RFC 5861) of reads of this entry that name none in Cache-Control: while ' +
        'Redis does not answer, a replica answers with its last copy of the entry, marked stale, for up to this ' +
        'many seconds (capped by STALE_IF_ERROR_MAX_SECONDS); none when absent')
  })
}

export const MEDIA_TYPE_MAX_BYTES = 256
/** The media type of a value that names none. */
export const DEFAULT_MEDIA_TYPE = 'application/octet-stream'

// RFC 9110 §8.3.1: type "/" subtype *( OWS ";" OWS parameter ), parameter values a token or a quoted string; only
// printable ASCII, as anything else cannot be sent back in a Content-Type header. A wildcard (`*` as the type or the
// subtype) is a range, not a type: the type and subtype are tokens other than `*`.
const TOKEN_CHARACTER = "[!#$%&'*+.^_`|~0-9A-Za-z-]"
const TOKEN = `${TOKEN_CHARACTER}+`
const NOT_A_WILDCARD = `(?:[!#$%&'+.^_\`|~0-9A-Za-z-]${TOKEN_CHARACTER}*|\\*${TOKEN})`
const QUOTED = '"(?:[\\t !#-\\[\\]-~]|\\\\[\\t -~])*"'
// The grammar's `*( OWS ";" OWS [ parameter ] )` is written so that white space between two semicolons has one
// place to go: as the RFC spells it, `a/b ; ; ; … x` can split each run two ways, and a refusal of 60 characters
// took seconds of backtracking. Here the white space after a semicolon belongs to its parameter, or to the next
// semicolon, or (after the last one) to the end.
const PARAMETER = `${TOKEN}=(?:${TOKEN}|${QUOTED})`
const MEDIA_TYPE = new RegExp(`^${NOT_A_WILDCARD}/${NOT_A_WILDCARD}` +
  `(?:[ \\t]*;(?:[ \\t]*${PARAMETER})?)*(?:[ \\t]*;[ \\t]+)?$`)

/** The rule of MediaTypeSchema as a plain test, for the read path, which checks every stored type it serves. */
export function isMediaType (type: string): boolean {
  return type.length <= MEDIA_TYPE_MAX_BYTES && MEDIA_TYPE.test(type)
}

/**
 * A value's media type, as a PUT's Content-Type or Cache-Content-Type, or a bulk write's contentType: one
 * definition for all, so that every stored type can be sent back as a header.
 */
export const MediaTypeSchema = z.string()
  .max(MEDIA_TYPE_MAX_BYTES, { error: `must be at most ${MEDIA_TYPE_MAX_BYTES} characters` })
  .regex(MEDIA_TYPE, {
    error: 'must be a media type (RFC 9110), as type/subtype with optional parameters, without wildcards'
  })
  .describe('A media type such as `application/json` or `text/plain; charset=utf-8` (RFC 9110 §8.3.1): ' +
    `printable ASCII, at most ${MEDIA_TYPE_MAX_BYTES} characters, no wildcards`)
  .meta({ examples: ['text/plain; charset=utf-8'] })

export const CACHE_TAG_MAX_CHARACTERS = 128
export const CACHE_TAGS_MAX = 16

const TAG_CHARACTER = `[^${CONTROLS}${WHITE_SPACE},]`
// In the Cache-Tag header, printable ASCII only: a header's other bytes arrive as Latin-1, and would name
// another tag than the same characters in ?tag= or a bulk write's tags.
const HEADER_TAG = `[!-+\\--~]{1,${CACHE_TAG_MAX_CHARACTERS}}`

export const CacheTagSchema = z.string()
  .regex(new RegExp(`^${TAG_CHARACTER}{1,${CACHE_TAG_MAX_CHARACTERS}}$`, 'u'), {
    error: `must be 1 to ${CACHE_TAG_MAX_CHARACTERS} characters, without white space, commas or control characters`
  })
  .refine((tag) => tag.isWellFormed(), WELL_FORMED)
  .describe(`A tag: 1 to ${CACHE_TAG_MAX_CHARACTERS} Unicode characters, without white space, commas, control ` +
    'characters or unpaired surrogates')
  .meta({ examples: ['user:42'] })

/** An entry's tags: no more than CACHE_TAGS_MAX, and each once (a repeat is dropped, as it means nothing more). */
export const CacheTagsSchema = z.array(CacheTagSchema)
  .max(CACHE_TAGS_MAX, { error: `must list at most ${CACHE_TAGS_MAX} tags` })
  .transform((tags) => [...new Set(tags)])

/** `Cache-Tag: user:42, catalog`: a comma-separated list, as CDNs take it; empty elements are skipped. */
export const CacheTagHeaderSchema = z.string()
  // Separators are matched in one place only (never both before and after an absent list), so that a long run of
  // them costs one pass, not one per way of splitting it.
  .regex(new RegExp(`^[ \\t,]*(?:${HEADER_TAG}(?:[ \\t]*,[ \\t,]*${HEADER_TAG}){0,${CACHE_TAGS_MAX - 1}}[ \\t,]*)?$`), {
    error: `must be at most ${CACHE_TAGS_MAX} tags of printable ASCII, 1 to ${CACHE_TAG_MAX_CHARACTERS} ` +
      'characters each, separated by commas'
  })
  .transform((value) => value.split(',').map((tag) => tag.trim()).filter((tag) => tag !== ''))
  .pipe(CacheTagsSchema)
  .describe(`Tags for the entry, separated by commas: at most ${CACHE_TAGS_MAX}, each 1 to ` +
    `${CACHE_TAG_MAX_CHARACTERS} characters of printable ASCII without commas (tags of other characters can be ` +
    'given in a bulk write); DELETE /cache?tag= removes every entry of a tag')

/**
 * `?mode=` of a DELETE, by key or by tag: remove the entries, or mark them stale (a soft purge). A schema per use: one
 * instance in two routes' parameters would be written to the document as a reference to a schema it lacks.
 */
const invalidationMode = () => z.enum(INVALIDATION_MODES).default('remove')
  .describe('`remove` (the default) removes the entry. `stale` marks it stale instead (a soft purge): from then ' +
    'on it is served only as stale, for what is left of the stale window its PUT gave it (`stale`), and the first ' +
    'reader that asks for a lease refreshes it, so that callers do not all recompute at once. An entry with no ' +
    'stale window cannot be served stale, and is removed. Either way the key\'s lease ends: a value computed ' +
    'before is never stored after')

export const CacheDeleteQuerySchema = z.strictObject({ mode: invalidationMode() })

export const CacheTagQuerySchema = z.strictObject({
  tag: CacheTagSchema.describe('Invalidate every entry that carries this tag'),
  mode: invalidationMode()
})

export const TagInvalidationSchema = z.object({
  removed: z.int().min(0).describe('How many entries carried the tag and were removed'),
  markedStale: z.int().min(0)
    .describe('How many fresh entries carried the tag and were marked stale (with `mode=stale`; 0 otherwise)')
}).describe('The outcome of an invalidation by tag').meta({ id: 'TagInvalidation' })
