-- Writes a cache entry when its preconditions (and its lease, if it names one) hold, together with its expiry, in
-- one atomic step. Any write ends the key's lease, and is announced on the change channel (to waiting readers, and
-- to every replica's near cache).
-- KEYS[1]  the entry's hash (fields v: value, t: content type, e: strong entity tag, f: fresh until, a: stored at,
--          w: write id and g: its tags, space-separated, if tagged; i: its stale-if-error in seconds, if any;
--          l: lease token, x: lease expires at, see cache-get.lua)
-- ARGV[1]  value bytes         ARGV[2]  content type
-- ARGV[3]  entity tag          ARGV[4]  milliseconds the entry stays fresh
-- ARGV[5]  encoded If-Match    ARGV[6]  encoded If-None-Match (see preconditions.lua)
-- ARGV[7]  the write id its tag memberships name (see tag-add.lua), or '' for an untagged entry
-- ARGV[8]  milliseconds it may still be served stale after that (0 for none)
-- ARGV[9]  the lease token the write was computed under, or '' for none
-- ARGV[10] the change channel, which announces every change of an entry, and so every end of a lease
-- ARGV[11] the entry's tags, space-separated ('' for none)
-- ARGV[12] the entry's stale-if-error in seconds ('0' for none)
-- Returns {1} when created, {2} when replaced, each followed by the replaced write's id and tags when it had any
-- (their memberships are now stale: the caller forgets them); {0} when a precondition failed, {3} when the lease is
-- no longer current.

local now = now_ms()
local h = redis.call('HMGET', KEYS[1], 'e', 'l', 'x', 'w', 'g', 'i')
local current = h[1]
if ARGV[9] ~= '' and (h[2] ~= ARGV[9] or tonumber(h[3]) <= now) then return {3} end
if not precondition_holds(current, ARGV[5], ARGV[6]) then return {0} end
-- Announced before anything is written: should the announcement be refused (a user without the channel), the
-- script stops here having changed nothing, and the caller's 503 is the truth.
redis.call('PUBLISH', ARGV[10], KEYS[1])
local fresh = tonumber(ARGV[4])
redis.call('HSET', KEYS[1], 'v', ARGV[1], 't', ARGV[2], 'e', ARGV[3], 'f', ms(now + fresh), 'a', ms(now))
-- A replaced entry's write id goes with it: an invalidation of its old tags no longer finds this entry.
if ARGV[7] == '' then
  redis.call('HDEL', KEYS[1], 'w', 'g')
else
  redis.call('HSET', KEYS[1], 'w', ARGV[7], 'g', ARGV[11])
end
if h[2] then redis.call('HDEL', KEYS[1], 'l', 'x') end
if ARGV[12] ~= '0' then
  redis.call('HSET', KEYS[1], 'i', ARGV[12])
elseif h[6] then
  redis.call('HDEL', KEYS[1], 'i')
end
-- On the clock of f, so that the stale window is their difference exactly (see mark-stale.lua).
redis.call('PEXPIREAT', KEYS[1], ms(now + fresh + tonumber(ARGV[8])))
local result = current and 2 or 1
if h[4] then return {result, h[4], h[5] or ''} end
return {result}
