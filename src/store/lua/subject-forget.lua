-- Forgets entries of a subject's index whose sessions are no more (deleted, expired, or found gone by a listing),
-- each only if it still names the same session: an entry re-added since, for a session created anew under the same
-- id, has another createdAt and stays.
-- KEYS[1]  the subject's index (see subject-admit.lua)
-- ARGV     pairs of a reference and the createdAt it named
-- Returns how many entries it forgot.

local forgotten = 0
for i = 1, #ARGV, 2 do
  local score = redis.call('ZSCORE', KEYS[1], ARGV[i])
  if score and tonumber(score) == tonumber(ARGV[i + 1]) then
    forgotten = forgotten + redis.call('ZREM', KEYS[1], ARGV[i])
  end
end
return forgotten
