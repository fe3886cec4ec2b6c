-- Completes a rotation in the subject's index: the old reference gives way to the new one, unless a revocation of
-- all the subject's sessions took the old one after the rotation began (its mark changed, and the old entry is
-- gone), in which case the rotated session is that revocation's to end.
-- KEYS[1]  the subject's index (see subject-admit.lua)   KEYS[2]  the subject's revocation mark
-- ARGV[1]  the mark read before the session was taken ('' for none)
-- ARGV[2]  the old reference   ARGV[3]  the createdAt (the old session's and the new one's)
-- ARGV[4]  the new reference   ARGV[5]  the absoluteExpiresAt
-- Returns 1 when swapped, 0 when revoked meanwhile.

local old = redis.call('ZSCORE', KEYS[1], ARGV[2])
local kept = old and tonumber(old) == tonumber(ARGV[3])
if not kept and (redis.call('GET', KEYS[2]) or '') ~= ARGV[1] then return 0 end
if kept then redis.call('ZREM', KEYS[1], ARGV[2]) end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[4])
if expiry_of(KEYS[1], now_ms()) < tonumber(ARGV[5]) then redis.call('PEXPIREAT', KEYS[1], ARGV[5]) end
return 1
