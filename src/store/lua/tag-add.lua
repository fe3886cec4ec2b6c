-- Records that a write carries a tag, before the write itself (see redis-tag-index.ts for why that order).
-- KEYS[1]  the tag's sorted set: members are "<write id>:<key>", scored by when that write's entry expires
-- ARGV[1]  the member          ARGV[2]  the entry's time to live, in milliseconds
-- The set expires with its longest-lived member, so tag bookkeeping never outlives the entries it names. Each write
-- also drops a few members whose entries have expired: more than it adds, so they never pile up, and few enough
-- that one write's cost stays bounded however many expired at once.

local SWEEP = 32
local now = now_ms()
local expired = redis.call('ZRANGE', KEYS[1], '-inf', ms(now), 'BYSCORE', 'LIMIT', 0, SWEEP)
if #expired > 0 then redis.call('ZREM', KEYS[1], unpack(expired)) end
redis.call('ZADD', KEYS[1], ms(now + tonumber(ARGV[2])), ARGV[1])
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
redis.call('PEXPIREAT', KEYS[1], last[2])
return 1
