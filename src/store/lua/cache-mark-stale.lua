-- DELETE ?mode=stale: marks an entry stale (see mark-stale.lua) when its preconditions hold, in one atomic step. The
-- key's lease ends, as with a delete, so that a value computed before the purge is never stored after it; the change
-- channel announces it (to waiting readers, and to every replica's near cache).
-- KEYS[1]  the entry's hash (see cache-put.lua)
-- ARGV[1]  encoded If-Match    ARGV[2]  encoded If-None-Match (see preconditions.lua)
-- ARGV[3]  the change channel
-- Returns {1} when the entry is now served only as stale; {2} when it had no stale window and was removed, followed
-- by its write's id and tags when it had any (the caller forgets their memberships); {-1} when absent, {0} when a
-- precondition failed (checked first, as for a delete).

local now = now_ms()
local h = redis.call('HMGET', KEYS[1], 'e', 'f', 'l', 'w', 'g')
local current = h[1]
if not precondition_holds(current, ARGV[1], ARGV[2]) then return {0} end
-- Announced first, so that a refused announcement leaves the entry as it was (see cache-put.lua).
if current or h[3] then redis.call('PUBLISH', ARGV[3], KEYS[1]) end
-- A hash that held the lease alone (a miss) goes with its last fields.
if h[3] then redis.call('HDEL', KEYS[1], 'l', 'x') end
if not current then return {-1} end
if mark_stale(KEYS[1], h[2], now) >= 0 then return {1} end
if h[4] then return {2, h[4], h[5] or ''} end
return {2}
