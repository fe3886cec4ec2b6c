-- Marks cache entries stale for a soft invalidation of one of their tags (see mark-stale.lua), each only if it is
-- still the write that the tag's member names; the twin of tag-evict.lua, which removes them. Memberships stay: a
-- marked entry still carries its tags. Batched as tag-evict.lua is (see there).
-- KEYS     the entries' hashes (see cache-put.lua)
-- ARGV[i]  the write id the member of KEYS[i] names; ARGV[#KEYS + 1] the change channel, which announces each
--          entry marked or removed (a lease ends with the purge, as with a delete)
-- Returns, for each key: 1 when it was fresh and is now stale; the removed entry's tags, space-separated, when it
-- had no stale window and was removed (its memberships are the caller's to forget); 0 otherwise (stale already, or
-- no longer that write).

local now = now_ms()
local channel = ARGV[#KEYS + 1]
local out = {}
for i, key in ipairs(KEYS) do
  local h = redis.call('HMGET', key, 'w', 'g', 'f', 'l')
  out[i] = 0
  if h[1] == ARGV[i] then
    redis.call('PUBLISH', channel, key)
    if h[4] then redis.call('HDEL', key, 'l', 'x') end
    local marked = mark_stale(key, h[3], now)
    if marked == 1 then out[i] = 1 elseif marked == -1 then out[i] = h[2] or '' end
  end
end
return out
