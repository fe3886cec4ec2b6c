-- Takes a session to move it to a new id (a rotation), so that from here on its old id is refused, and a patch that
-- comes later fails rather than landing on a copy that is about to go. A session of a subject leaves a tombstone
-- (its subject and times, without data or entity tag, so every other script finds no session there): its index entry
-- stays valid, and so is neither forgotten as gone by a listing nor missed by a revocation, until the rotation swaps
-- it for the new one (subject-swap.lua) and ends the tombstone.
-- KEYS[1]  the session's hash (see session-get.lua)
-- Returns {data, createdAt, updatedAt, idle ms, absoluteExpiresAt, subject or '', entity tag}, or nil when absent.

local s = redis.call('HMGET', KEYS[1], 'd', 'c', 'u', 'i', 'a', 's', 'e')
if not s[1] or not s[7] then return nil end
if s[6] then redis.call('HDEL', KEYS[1], 'd', 'e') else redis.call('DEL', KEYS[1]) end
return { s[1], s[2], s[3], s[4], s[5], s[6] or '', s[7] }
