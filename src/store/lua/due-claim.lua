-- Claims subjects that are due for a sweep: each is due again after the lease, so that no other replica looks at it
-- meanwhile, and another does if this one dies before it settles it (due-settle.lua).
-- KEYS[1]  the subjects due   KEYS[2]  their versions
-- ARGV[1]  subjects at most   ARGV[2]  the lease, in milliseconds
-- Returns {subject, version, …}.

local now = now_ms()
local claimed = {}
for _, subject in ipairs(redis.call('ZRANGE', KEYS[1], '-inf', now, 'BYSCORE', 'LIMIT', 0, ARGV[1])) do
  redis.call('ZADD', KEYS[1], ms(now + tonumber(ARGV[2])), subject)
  table.insert(claimed, subject)
  table.insert(claimed, redis.call('HGET', KEYS[2], subject) or '0')
end
return claimed
