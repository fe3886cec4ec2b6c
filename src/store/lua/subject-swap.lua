-- Completes a rotation in the subject's index: the old reference gives way to the new one, unless the old entry was
-- taken meanwhile (by a revocation or the subject's cap, which ended the session), in which case the rotated session
-- is theirs to end as well.
-- KEYS[1]  the subject's index   KEYS[2]  its liveness hints (see subject-admit.lua)
-- ARGV[1]  the old reference   ARGV[2]  the createdAt (the old session's and the new one's)
-- ARGV[3]  the new reference   ARGV[4]  when the index may expire (as subject-admit.lua's ARGV[3])
-- ARGV[5]  the new session's expiresAt
-- Returns 1 when swapped, 0 when the old entry is gone.

local old = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not old or tonumber(old) ~= tonumber(ARGV[2]) then return 0 end
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[5], ARGV[3])
for _, key in ipairs(KEYS) do
  if expiry_of(key, now_ms()) < tonumber(ARGV[4]) then redis.call('PEXPIREAT', key, ARGV[4]) end
end
return 1
