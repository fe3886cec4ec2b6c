-- Takes a batch of a tag's members for an invalidation: reads them and removes them in one step, so that two
-- invalidations share the work and a write that joins the tag during either is seen by its writer as taken (see
-- redis-cache-store.ts). Members whose entries have expired are taken too: they cost as much to leave.
-- KEYS[1]  the tag's sorted set (see tag-add.lua)
-- ARGV[1]  how many members at most; the batch keeps the script within a millisecond or so whatever the tag's size
-- Returns the members taken, "<write id>:<key>"; none once the tag is empty, which Redis then deletes.

local members = redis.call('ZRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1)
if #members > 0 then redis.call('ZREM', KEYS[1], unpack(members)) end
return members
