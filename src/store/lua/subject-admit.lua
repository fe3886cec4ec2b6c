-- Admits a newly created session to its subject's index, within the subject's limit. The session is written first
-- (session-put.lua), so a revocation that runs between the two steps either ends it or comes before it: never
-- leaves it live and unnamed (see redis-session-store.ts).
-- KEYS[1]  the subject's index: a sorted set of its sessions' references, scored by their createdAt
-- KEYS[2]  its liveness hints: the same references, scored by an instant until which each session is surely live
--          (its expiry as of its last write here: reads and writes since only push it later)
-- ARGV[1]  the new session's reference   ARGV[2]  its createdAt
-- ARGV[3]  when the index may expire: the session's absoluteExpiresAt, and the time the sweep may take to see it
-- ARGV[4]  the most sessions the subject may hold   ARGV[5]  'refuse' or 'end-oldest'
-- ARGV[6]  '1' once the caller has forgotten the entries whose sessions are no more, '0' before
-- ARGV[7]  the new session's expiresAt
-- Returns {1, reference, createdAt, …} when admitted, naming the oldest entries it took to make room (their
-- sessions are the caller's to end), or {2, …} when admitted with the earliest hint of the index, which the subjects
-- due for a sweep must then be told of (due-note.lua): an earlier hint in the index is one they know, or will; {0, reference, createdAt, …} when the index is full and some of its sessions
-- may have expired, naming those for the caller to check; {-1} when full and the policy refuses.
-- The index expires with its longest-lived session, so it never outlives the sessions it names. A full index costs
-- a check of only the sessions whose hints have passed: none, while every session is used within its idle lifetime.

local count = redis.call('ZCARD', KEYS[1])
local room = tonumber(ARGV[4])
local taken = {}
if count >= room then
  if ARGV[6] == '0' then
    local doubtful = redis.call('ZRANGE', KEYS[2], '-inf', now_ms(), 'BYSCORE')
    if #doubtful > 0 then
      local entries = { 0 }
      for _, ref in ipairs(doubtful) do
        table.insert(entries, ref)
        table.insert(entries, redis.call('ZSCORE', KEYS[1], ref) or '0')
      end
      return entries
    end
  end
  if ARGV[5] ~= 'end-oldest' then return { -1 } end
  taken = redis.call('ZPOPMIN', KEYS[1], count - room + 1)
  for i = 1, #taken, 2 do redis.call('ZREM', KEYS[2], taken[i]) end
end
local earliest = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')[2]
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('ZADD', KEYS[2], ARGV[7], ARGV[1])
for _, key in ipairs(KEYS) do
  if expiry_of(key, now_ms()) < tonumber(ARGV[3]) then redis.call('PEXPIREAT', key, ARGV[3]) end
end
table.insert(taken, 1, (earliest and tonumber(earliest) <= tonumber(ARGV[7])) and 1 or 2)
return taken
