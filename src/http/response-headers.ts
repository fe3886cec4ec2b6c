// Every response header the service sends of its own, once: what it says, where it is sent, whether it is always
// there, and whether a browser script may read it. The OpenAPI document (openapi/responses.ts) and the CORS
// exposed list (plugins/protection.ts) are derived from this table; adding a header means a line here, the line
// that sets it, and a test.
import type { ErrorCode } from '../errors.js'

export interface ResponseHeader {
  description: string
  type: 'string' | 'integer'
  /**
   * Where it is sent: `<operationId> <status>` for one response of one operation (a HEAD shares its GET's), an
   * error code for every problem of that kind, or `*` for every response.
   */
  on: ReadonlyArray<string | ErrorCode>
  /** Sent on every one of those responses; otherwise only when the description says. */
  always: boolean
  /** Exposed to browser scripts when CORS is on (Access-Control-Expose-Headers). */
  cors: boolean
}

const LEASE_ANSWERS = ['getCacheEntry 200', 'getCacheEntry 404']
const CACHE_READS = ['getCacheEntry 200', 'getCacheEntry 304']
const SESSION_ANSWERS = ['createSession 201', 'putSession 200', 'putSession 201', 'getSession 200', 'patchSession 200']
const RATE_LIMIT_REFUSAL: ErrorCode[] = ['CS_RATE_LIMITED']

export const RESPONSE_HEADERS = {
  'X-Request-Id': {
    description: 'The request id: the one sent, if usable, or a new one',
    type: 'string',
    on: ['*'],
    always: true,
    cors: true
  },
  ETag: {
    description: 'A strong entity tag of the representation, for If-Match and If-None-Match',
    type: 'string',
    on: [...CACHE_READS, 'putCacheEntry 201', 'putCacheEntry 204', ...SESSION_ANSWERS],
    always: true,
    cors: true
  },
  'Cache-Control': {
    description: '`max-age=<seconds left>` for cache entries; `no-store` for sessions',
    type: 'string',
    on: [...CACHE_READS, ...SESSION_ANSWERS],
    always: true,
    cors: true
  },
  'Cache-Status': {
    description: 'RFC 9211: `cache-service; hit; ttl=<seconds fresh>` (below 0, with `detail=stale`, for an entry ' +
      'served stale; `detail=stale-if-error` for a copy served while Redis did not answer; `detail=near-cache` for ' +
      'a fresh copy from the replica\'s memory, with NEAR_CACHE_FRESH_READS on), or `cache-service; fwd=miss`',
    type: 'string',
    on: [...CACHE_READS, 'getCacheEntry 404'],
    always: true,
    cors: true
  },
  Age: {
    description: 'Seconds since the value was stored; absent for entries stored before the service kept that',
    type: 'integer',
    on: CACHE_READS,
    always: false,
    cors: true
  },
  'Cache-Lease': {
    description: 'On a miss or a stale entry, when a lease was asked for or is held: `granted; ttl=<seconds>` ' +
      '(this caller computes the value, and PUTs it with Cache-Lease-Token) or `held; ttl=<seconds left>`',
    type: 'string',
    on: LEASE_ANSWERS,
    always: false,
    cors: true
  },
  'Cache-Lease-Token': {
    description: 'The granted lease\'s token, for the PUT of the value',
    type: 'string',
    on: LEASE_ANSWERS,
    always: false,
    cors: true
  },
  'Preference-Applied': {
    description: '`wait=<seconds>` when the request waited for another caller\'s value (RFC 7240)',
    type: 'string',
    on: LEASE_ANSWERS,
    always: false,
    cors: true
  },
  Location: {
    description: 'The path of the created session',
    type: 'string',
    on: ['createSession 201'],
    always: true,
    cors: true
  },
  'Accept-Patch': {
    description: 'The media type PATCH takes',
    type: 'string',
    on: ['patchSession 415'],
    always: true,
    cors: true
  },
  Allow: {
    description: 'The methods the path is served with',
    type: 'string',
    on: ['CS_METHOD_NOT_ALLOWED'],
    always: true,
    cors: true
  },
  'WWW-Authenticate': {
    description: 'The Bearer challenge, with error and scope when they apply',
    type: 'string',
    on: ['CS_UNAUTHORIZED', 'CS_FORBIDDEN'],
    always: true,
    cors: true
  },
  'Retry-After': {
    description: 'Seconds to wait before trying again',
    type: 'integer',
    on: [...RATE_LIMIT_REFUSAL, 'CS_STORE_UNAVAILABLE', 'CS_OVERLOADED'],
    always: true,
    cors: true
  },
  'RateLimit-Limit': {
    description: 'Requests allowed per window',
    type: 'integer',
    on: RATE_LIMIT_REFUSAL,
    always: true,
    cors: true
  },
  'RateLimit-Remaining': {
    description: 'Requests left in the window',
    type: 'integer',
    on: RATE_LIMIT_REFUSAL,
    always: true,
    cors: true
  },
  'RateLimit-Reset': {
    description: 'Seconds until the window resets',
    type: 'integer',
    on: RATE_LIMIT_REFUSAL,
    always: true,
    cors: true
  }
} as const satisfies Record<string, ResponseHeader>

export type ResponseHeaderName = keyof typeof RESPONSE_HEADERS

/** The headers a browser script may read, for Access-Control-Expose-Headers. */
export const CORS_EXPOSED_HEADERS = Object.entries(RESPONSE_HEADERS)
  .filter(([, header]) => header.cors)
  .map(([name]) => name)
