-- One page of a subject's index, newest first: by createdAt, then by reference, both descending.
-- KEYS[1]  the subject's index (see subject-admit.lua)
-- ARGV[1]  how many entries at most   ARGV[2]  the cursor's createdAt and ARGV[3] its reference ('' from the newest)
-- Returns {reference, createdAt, …}.

local limit = tonumber(ARGV[1])
if ARGV[2] == '' then return redis.call('ZRANGE', KEYS[1], '+inf', '-inf', 'BYSCORE', 'REV', 'LIMIT', 0, limit,
  'WITHSCORES') end
local page = {}
-- Entries created in the cursor's millisecond come after it when their reference sorts before its own.
local ties = redis.call('ZRANGE', KEYS[1], ARGV[2], ARGV[2], 'BYSCORE', 'REV', 'WITHSCORES')
for i = 1, #ties, 2 do
  if #page < limit * 2 and ties[i] < ARGV[3] then
    table.insert(page, ties[i])
    table.insert(page, ties[i + 1])
  end
end
if #page < limit * 2 then
  local older = redis.call('ZRANGE', KEYS[1], '(' .. ARGV[2], '-inf', 'BYSCORE', 'REV', 'LIMIT', 0,
    limit - #page / 2, 'WITHSCORES')
  for _, value in ipairs(older) do table.insert(page, value) end
end
return page
