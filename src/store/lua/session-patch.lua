-- Merges an RFC 7396 patch into a session's data on the Redis server, so concurrent patches from any number
-- of replicas all land and none is lost; slides the idle expiry. A missing session is never re-created, and the
-- subject is not data: no patch changes it.
-- KEYS[1]  the session's hash (see session-get.lua)
-- ARGV[1]  the merge patch (canonical JSON object)   ARGV[2]  new entity tag
-- ARGV[3]  largest data allowed, in bytes            ARGV[4]  encoded If-Match    ARGV[5]  encoded If-None-Match
-- Returns {0} precondition failed, {-1} absent, {-2} too large, or
-- {1, data, subject or '', createdAt, updatedAt, absoluteExpiresAt, expiresAt}.

local s = redis.call('HMGET', KEYS[1], 'd', 'c', 'i', 'a', 'e', 's')
if not precondition_holds(s[5], ARGV[4], ARGV[5]) then return { 0 } end
if not s[1] then return { -1 } end
local data = merge_patch(s[1], ARGV[1])
if #data > tonumber(ARGV[3]) then return { -2 } end
local now = now_ms()
local expires_at = math.min(now + tonumber(s[3]), tonumber(s[4]))
redis.call('HSET', KEYS[1], 'd', data, 'u', ms(now), 'e', ARGV[2])
redis.call('PEXPIREAT', KEYS[1], ms(expires_at))
return { 1, data, s[6] or '', s[2], ms(now), s[4], ms(expires_at) }
