-- Takes a share of one caller's rate limit window for a replica to admit without a round trip per request
-- (redis/rate-limit-store.ts). Counts like @fastify/rate-limit's own script (INCR, and the window's TTL set by the
-- request that opened it), so replicas of the previous release count in the same window during a rolling upgrade.
-- KEYS[1]  the window's counter
-- ARGV[1]  how many requests to take
-- ARGV[2]  the window in milliseconds
-- Returns {the counter after taking them, ms the window has left}

local count = redis.call('INCRBY', KEYS[1], ARGV[1])
local left = redis.call('PTTL', KEYS[1])
-- Also a counter left without a TTL (a PEXPIRE that never ran) opens a window, rather than counting forever.
if left < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  left = tonumber(ARGV[2])
end
return {count, left}
