-- Admits a newly created session to its subject's index, within the subject's limit. The session is written first
-- (session-put.lua), so a revocation that runs between the two steps either ends it or comes before it: never
-- leaves it live and unnamed (see redis-session-store.ts).
-- KEYS[1]  the subject's index: a sorted set of its sessions' references, scored by their createdAt
-- ARGV[1]  the new session's reference   ARGV[2]  its createdAt   ARGV[3]  its absoluteExpiresAt
-- ARGV[4]  the most sessions the subject may hold   ARGV[5]  'refuse' or 'end-oldest'
-- ARGV[6]  '1' once the caller has forgotten the entries whose sessions are no more, '0' before
-- Returns {1, reference, createdAt, …} when admitted, naming the oldest entries it took to make room (their
-- sessions are the caller's to end); {0, reference, createdAt, …} when the index is full before anything was
-- forgotten, naming every entry for the caller to check; {-1} when full and the policy refuses.
-- The index expires with its longest-lived session, so it never outlives the sessions it names.

local count = redis.call('ZCARD', KEYS[1])
local room = tonumber(ARGV[4])
local taken = {}
if count >= room then
  if ARGV[6] == '0' then
    local entries = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
    table.insert(entries, 1, 0)
    return entries
  end
  if ARGV[5] ~= 'end-oldest' then return { -1 } end
  taken = redis.call('ZPOPMIN', KEYS[1], count - room + 1)
end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
if expiry_of(KEYS[1], now_ms()) < tonumber(ARGV[3]) then redis.call('PEXPIREAT', KEYS[1], ARGV[3]) end
table.insert(taken, 1, 1)
return taken
