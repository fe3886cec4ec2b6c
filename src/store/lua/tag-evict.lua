-- Deletes a cache entry for an invalidation of one of its tags, but only if it is still the write that the tag's
-- member names: a later write of the key, with other tags or none, is not the invalidated entry.
-- KEYS[1]  the entry's hash    ARGV[1]  the write id the tag's member names
-- Returns 1 when deleted, 0 otherwise.

if redis.call('HGET', KEYS[1], 'w') ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
return 1
