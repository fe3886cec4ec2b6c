-- Takes a session to move it to a new id (a rotation): reads it and deletes it in one step, so that from here on its
-- old id is refused, and a patch that comes later fails rather than landing on a copy that is about to go.
-- KEYS[1]  the session's hash (see session-get.lua)
-- ARGV[1]  its expected createdAt, or '' for whatever session is there
-- Returns {data, createdAt, updatedAt, idle ms, absoluteExpiresAt, subject or ''}, or nil when absent (or another
-- session than expected).

local s = redis.call('HMGET', KEYS[1], 'd', 'c', 'u', 'i', 'a', 's')
if not s[1] or (ARGV[1] ~= '' and s[2] ~= ARGV[1]) then return nil end
redis.call('DEL', KEYS[1])
return { s[1], s[2], s[3], s[4], s[5], s[6] or '' }
