-- Ends a session when its preconditions hold, in one atomic step.
-- KEYS[1]  the session's hash (see session-get.lua)
-- ARGV[1]  encoded If-Match    ARGV[2]  encoded If-None-Match (see preconditions.lua)
-- Returns {1, subject or '', createdAt} when deleted (the caller then forgets it in its subject's index), {-1} when
-- absent, {0} when a precondition failed. Preconditions come first (RFC 9110 §13.2.2): If-Match on an absent
-- session is a failed precondition, not a missing one.

local s = redis.call('HMGET', KEYS[1], 'e', 's', 'c')
if not precondition_holds(s[1], ARGV[1], ARGV[2]) then return { 0 } end
if not s[1] then return { -1 } end
redis.call('DEL', KEYS[1])
return { 1, s[2] or '', s[3] }
