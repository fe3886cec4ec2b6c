-- Reads a cache entry and its remaining lifetime in one atomic step, so the two always agree.
-- KEYS[1]  the entry's hash
-- Returns {value, content type, entity tag, milliseconds left}, or nil when the entry is absent.

local fields = redis.call('HMGET', KEYS[1], 'v', 't', 'e')
if not fields[3] then return nil end
return {fields[1], fields[2], fields[3], redis.call('PTTL', KEYS[1])}
