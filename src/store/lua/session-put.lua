-- Creates a session, or replaces its data, when the preconditions hold. A replace keeps createdAt and
-- absoluteExpiresAt, so rewriting a session can never extend its absolute lifetime.
-- KEYS[1]  the session's hash (see session-get.lua)
-- ARGV[1]  data (canonical JSON)   ARGV[2]  idle lifetime, ms   ARGV[3]  absolute lifetime for a new session, ms
-- ARGV[4]  new entity tag          ARGV[5]  encoded If-Match    ARGV[6]  encoded If-None-Match
-- Returns {0} when a precondition failed, else {1 created | 2 replaced, createdAt, updatedAt,
-- absoluteExpiresAt, expiresAt}.

local current = redis.call('HMGET', KEYS[1], 'e', 'c', 'a')
if not precondition_holds(current[1], ARGV[5], ARGV[6]) then return { 0 } end
local now = now_ms()
local status, created, absolute = 1, now, now + tonumber(ARGV[3])
if current[1] then status, created, absolute = 2, tonumber(current[2]), tonumber(current[3]) end
local expires_at = math.min(now + tonumber(ARGV[2]), absolute)
redis.call('HSET', KEYS[1], 'd', ARGV[1], 'c', ms(created), 'u', ms(now), 'i', ARGV[2], 'a', ms(absolute),
  'e', ARGV[4])
redis.call('PEXPIREAT', KEYS[1], ms(expires_at))
return { status, ms(created), ms(now), ms(absolute), ms(expires_at) }
