-- Ends one session of a subject's index (a revocation, or the subject's limit), if it is still the session that
-- the index entry named: a session created since under the same id is another's, and stays.
-- KEYS[1]  the session's hash (see session-get.lua)
-- ARGV[1]  the subject   ARGV[2]  the createdAt its index entry names
-- Returns 1 when it ended the session, 0 when there was none to end.

local s = redis.call('HMGET', KEYS[1], 's', 'c')
if s[1] ~= ARGV[1] or s[2] ~= ARGV[2] then return 0 end
return redis.call('DEL', KEYS[1])
