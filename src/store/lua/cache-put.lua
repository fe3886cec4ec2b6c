-- Writes a cache entry when its preconditions hold, together with its expiry, in one atomic step.
-- KEYS[1]  the entry's hash (fields v: value, t: content type, e: strong entity tag)
-- ARGV[1]  value bytes         ARGV[2]  content type
-- ARGV[3]  entity tag          ARGV[4]  time to live, in milliseconds
-- ARGV[5]  encoded If-Match    ARGV[6]  encoded If-None-Match (see preconditions.lua)
-- Returns 1 when created, 2 when replaced, 0 when a precondition failed.

local current = redis.call('HGET', KEYS[1], 'e')
if not precondition_holds(current, ARGV[5], ARGV[6]) then return 0 end
redis.call('HSET', KEYS[1], 'v', ARGV[1], 't', ARGV[2], 'e', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
if current then return 2 end
return 1
