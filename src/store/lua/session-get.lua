-- Reads a session and, unless told not to, slides its idle expiry in the same atomic step:
-- expiresAt = min(now + idle lifetime, absoluteExpiresAt).
-- KEYS[1]  the session's hash (d: data, c: createdAt, u: updatedAt, i: idle ms, a: absoluteExpiresAt, e: etag,
--          s: subject, when it has one)
-- ARGV[1]  '1' to slide the expiry, '0' to read only
-- Returns {data, etag, subject or '', createdAt, updatedAt, absoluteExpiresAt, expiresAt}, or nil when absent.

local s = redis.call('HMGET', KEYS[1], 'd', 'c', 'u', 'i', 'a', 'e', 's')
if not s[1] then return nil end
local now = now_ms()
local expires_at
if ARGV[1] == '1' then
  expires_at = math.min(now + tonumber(s[4]), tonumber(s[5]))
  redis.call('PEXPIREAT', KEYS[1], ms(expires_at))
else
  expires_at = expiry_of(KEYS[1], now)
end
return { s[1], s[6], s[7] or '', s[2], s[3], s[5], ms(expires_at) }
