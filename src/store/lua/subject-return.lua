-- Gives back entries a revocation or a cap took from a subject's index when it could not end their sessions (Redis
-- failed in between), so that a retry finds them. Their hints are 0: the next full admission checks them, and a
-- listing or revocation finds those already ended as no more.
-- KEYS[1]  the subject's index   KEYS[2]  its liveness hints (see subject-admit.lua)
-- ARGV[1]  when the index may expire at the latest (the last of the sessions' absolute expiries, as far as known)
-- ARGV[2…] pairs of a reference and its createdAt
-- Returns how many entries it gave back (an entry admitted again since keeps its place).

local returned = 0
for i = 2, #ARGV, 2 do
  returned = returned + redis.call('ZADD', KEYS[1], 'NX', ARGV[i + 1], ARGV[i])
  redis.call('ZADD', KEYS[2], 'NX', 0, ARGV[i])
end
for _, key in ipairs(KEYS) do
  if expiry_of(key, now_ms()) < tonumber(ARGV[1]) then redis.call('PEXPIREAT', key, ARGV[1]) end
end
return returned
