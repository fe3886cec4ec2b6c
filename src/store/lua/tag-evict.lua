-- Deletes cache entries for an invalidation of one of their tags, each only if it is still the write that the tag's
-- member names: a later write of the key, with other tags or none, is not the invalidated entry. A batch in one
-- call only where Redis allows keys of different slots in one script (src/redis/slots.ts); elsewhere one key a call.
-- KEYS     the entries' hashes (see cache-put.lua)
-- ARGV[i]  the write id the member of KEYS[i] names; ARGV[#KEYS + 1] the change channel, which announces each
--          entry deleted (a stale entry's lease goes with it)
-- Returns, for each key, the deleted entry's tags, space-separated (its other tags' memberships are the caller's to
-- forget), or 0 when it deleted nothing.

local channel = ARGV[#KEYS + 1]
local out = {}
for i, key in ipairs(KEYS) do
  local h = redis.call('HMGET', key, 'w', 'g', 'l')
  if h[1] == ARGV[i] then
    redis.call('PUBLISH', channel, key)
    redis.call('DEL', key)
    out[i] = h[2] or ''
  else
    out[i] = 0
  end
end
return out
