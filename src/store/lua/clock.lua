-- Shared prelude: Redis's own clock, so that every replica of the service agrees on what "now" is.

local function now_ms()
  local time = redis.call('TIME')
  return tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
end

-- Timestamps travel as decimal strings: Lua's tostring would switch to exponent notation for large numbers.
local function ms(value)
  return string.format('%d', value)
end

-- The instant a key expires, exactly (Redis 7's PEXPIRETIME); now + PTTL, from two clock readings, can be a
-- millisecond off, and was seen to be in CI. Older servers answer an error, and get the estimate.
local function expiry_of(key, now)
  local stored = redis.pcall('PEXPIRETIME', key)
  if type(stored) == 'number' then return stored end
  return now + redis.call('PTTL', key)
end
