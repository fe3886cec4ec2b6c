-- Deletes an entry (a cache entry or a session) when its preconditions hold, in one atomic step.
-- KEYS[1]  the entry's hash, whose field e holds its strong entity tag
-- ARGV[1]  encoded If-Match    ARGV[2]  encoded If-None-Match (see preconditions.lua)
-- Returns 1 when deleted, -1 when absent, 0 when a precondition failed. Preconditions come first
-- (RFC 9110 §13.2.2): If-Match on an absent entry is a failed precondition, not a missing one.

local current = redis.call('HGET', KEYS[1], 'e')
if not precondition_holds(current, ARGV[1], ARGV[2]) then return 0 end
if not current then return -1 end
redis.call('DEL', KEYS[1])
return 1
