-- Records what a look at some of a subject's sessions found, each only if its entry still names the same session
-- (an entry re-added since, for a session created anew under the same id, has another createdAt and stays as it is):
-- forgets the entries of sessions no more (deleted, expired), and moves the liveness hints of live ones to their
-- expiry now, so that a full index does not have them checked again until then.
-- KEYS[1]  the subject's index   KEYS[2]  its liveness hints (see subject-admit.lua)
-- ARGV     triples of a reference, the createdAt it named, and its session's expiresAt ('' for no more)
-- Returns {the earliest liveness hint left ('' for an empty index), each reference it forgot, …}.

local forgotten = {}
for i = 1, #ARGV, 3 do
  local score = redis.call('ZSCORE', KEYS[1], ARGV[i])
  if score and tonumber(score) == tonumber(ARGV[i + 1]) then
    if ARGV[i + 2] == '' then
      redis.call('ZREM', KEYS[1], ARGV[i])
      redis.call('ZREM', KEYS[2], ARGV[i])
      table.insert(forgotten, ARGV[i])
    else
      redis.call('ZADD', KEYS[2], 'XX', ARGV[i + 2], ARGV[i])
    end
  elseif not score then
    redis.call('ZREM', KEYS[2], ARGV[i])
  end
end
table.insert(forgotten, 1, redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')[2] or '')
return forgotten
