-- What a listing shows of one session of a subject's index, read without sliding its expiry.
-- KEYS[1]  the session's hash (see session-get.lua)
-- ARGV[1]  the subject   ARGV[2]  the createdAt its index entry names
-- Returns {createdAt, updatedAt, absoluteExpiresAt, expiresAt}, or nil when that session is no more: expired,
-- ended, or replaced by another of the same id (whose subject or creation differs).

local s = redis.call('HMGET', KEYS[1], 's', 'c', 'u', 'a')
if s[1] ~= ARGV[1] or s[2] ~= ARGV[2] then return nil end
return { s[2], s[3], s[4], ms(expiry_of(KEYS[1], now_ms())) }
