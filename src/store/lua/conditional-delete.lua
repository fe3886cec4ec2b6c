-- Deletes a cache entry when its preconditions hold, in one atomic step. A cache key's
-- lease ends with it, even when the key holds nothing else, so a value computed before the delete is never stored
-- after it; the change channel announces it (to waiting readers, and to every replica's near cache).
-- KEYS[1]  the entry's hash, whose field e holds its strong entity tag, l its lease, and w and g the write id and
--          tags of a tagged cache entry (see cache-put.lua)
-- ARGV[1]  encoded If-Match    ARGV[2]  encoded If-None-Match (see preconditions.lua)
-- ARGV[3]  the change channel
-- Returns {1} when deleted, followed by the deleted write's id and tags when it had any (the caller forgets their
-- memberships); {-1} when absent, {0} when a precondition failed. Preconditions come first (RFC 9110 §13.2.2):
-- If-Match on an absent entry is a failed precondition, not a missing one.

local h = redis.call('HMGET', KEYS[1], 'e', 'w', 'g')
local current = h[1]
if not precondition_holds(current, ARGV[1], ARGV[2]) then return {0} end
local leased = ARGV[3] ~= '' and redis.call('HEXISTS', KEYS[1], 'l') == 1
-- Announced first, so that a refused announcement leaves the entry as it was (see cache-put.lua).
if ARGV[3] ~= '' and (current or leased) then redis.call('PUBLISH', ARGV[3], KEYS[1]) end
if current or leased then redis.call('DEL', KEYS[1]) end
if not current then return {-1} end
if h[2] then return {1, h[2], h[3] or ''} end
return {1}
