-- Writes a taken session under its new id (see session-take.lua), with its data, times and subject as they were and
-- a new entity tag; its idle expiry slides from now (a rotation is a use), capped by the absolute one.
-- KEYS[1]  the new session's hash (see session-get.lua)
-- ARGV[1]  data   ARGV[2]  createdAt   ARGV[3]  updatedAt   ARGV[4]  idle ms   ARGV[5]  absoluteExpiresAt
-- ARGV[6]  subject or ''   ARGV[7]  new entity tag
-- Returns {1, expiresAt}; {0} when the id is taken (the caller draws another); {-1} when the absolute expiry has
-- passed meanwhile (nothing is written). A tombstone (see session-take.lua) is no session: a restore replaces it.

if redis.call('EXISTS', KEYS[1]) == 1 then
  if redis.call('HEXISTS', KEYS[1], 'e') == 1 then return { 0 } end
  -- Only when a rotation that failed puts its session back: under maxmemory, the write that follows is then let
  -- through (it gives back what the rotation took); a new id has nothing here, and its write is refused.
  redis.call('DEL', KEYS[1])
end
local now = now_ms()
local expires_at = math.min(now + tonumber(ARGV[4]), tonumber(ARGV[5]))
if expires_at <= now then return { -1 } end
redis.call('HSET', KEYS[1], 'd', ARGV[1], 'c', ARGV[2], 'u', ARGV[3], 'i', ARGV[4], 'a', ARGV[5], 'e', ARGV[7])
if ARGV[6] ~= '' then redis.call('HSET', KEYS[1], 's', ARGV[6]) end
redis.call('PEXPIREAT', KEYS[1], ms(expires_at))
return { 1, ms(expires_at) }
