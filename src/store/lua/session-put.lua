-- Creates a session, or replaces its data, when the preconditions hold. A replace keeps createdAt,
-- absoluteExpiresAt and the subject, so rewriting a session can never extend its absolute lifetime nor give it to
-- another user.
-- KEYS[1]  the session's hash (see session-get.lua)
-- ARGV[1]  data (canonical JSON)   ARGV[2]  idle lifetime, ms   ARGV[3]  absolute lifetime for a new session, ms
-- ARGV[4]  new entity tag          ARGV[5]  encoded If-Match    ARGV[6]  encoded If-None-Match
-- ARGV[7]  the subject, or '' for none (a replace naming none keeps the session's)
-- Returns {0} when a precondition failed, {-1} when a replace names another subject, else {1 created | 2 replaced,
-- createdAt, updatedAt, absoluteExpiresAt, expiresAt, subject or ''}. A created session of a subject is then
-- admitted to the subject's index (subject-admit.lua).

local current = redis.call('HMGET', KEYS[1], 'e', 'c', 'a', 's')
if not precondition_holds(current[1], ARGV[5], ARGV[6]) then return { 0 } end
local now = now_ms()
local status, created, absolute, subject = 1, now, now + tonumber(ARGV[3]), ARGV[7]
if current[1] then
  if subject ~= '' and subject ~= current[4] then return { -1 } end
  status, created, absolute, subject = 2, tonumber(current[2]), tonumber(current[3]), current[4] or ''
end
local expires_at = math.min(now + tonumber(ARGV[2]), absolute)
redis.call('HSET', KEYS[1], 'd', ARGV[1], 'c', ms(created), 'u', ms(now), 'i', ARGV[2], 'a', ms(absolute),
  'e', ARGV[4])
if subject ~= '' then redis.call('HSET', KEYS[1], 's', subject) end
-- A tombstone of a rotation (see session-take.lua) is no session: a create replaces it whole. Not by a DEL first:
-- under maxmemory, Redis refuses a script's first write, and would let the rest through after a DEL.
if status == 1 and subject == '' and current[4] then redis.call('HDEL', KEYS[1], 's') end
redis.call('PEXPIREAT', KEYS[1], ms(expires_at))
return { status, ms(created), ms(now), ms(absolute), ms(expires_at), subject }
