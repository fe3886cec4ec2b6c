-- Names the entries of a subject's index whose sessions may have expired (their liveness hints have passed), for the
-- sweep to check (see subject-admit.lua for the hints).
-- KEYS[1]  the subject's index   KEYS[2]  its liveness hints
-- ARGV[1]  entries at most
-- Returns {the earliest hint ('' for an empty index), reference, createdAt, …}.

local earliest = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')[2] or ''
local doubts = { earliest }
for _, ref in ipairs(redis.call('ZRANGE', KEYS[2], '-inf', now_ms(), 'BYSCORE', 'LIMIT', 0, ARGV[1])) do
  table.insert(doubts, ref)
  table.insert(doubts, redis.call('ZSCORE', KEYS[1], ref) or '0')
end
return doubts
