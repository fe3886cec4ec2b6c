-- Reads a cache entry with how long it stays fresh and how old it is, and, when it is missing or stale, the state
-- of its lease: taking one for the caller when asked and none is held. One atomic step, so exactly one caller of
-- all replicas is granted a lease.
-- KEYS[1]  the entry's hash (v value, t content type, e entity tag, f fresh until, a stored at, i stale-if-error;
--          l lease token, x lease expires at; see cache-put.lua)
-- ARGV[1]  the lease's time to live in milliseconds to take one, or '' to take none
-- ARGV[2]  the new lease's token
-- ARGV[3]  the most value bytes to return, or '' for any: a larger value is left in Redis, and said to be there
-- Returns {value, content type, entity tag, ms fresh left (0 or less when stale), ms since stored (-1 unknown),
--          lease state ('' none, 'granted', 'held'), ms the lease has left, 1 if the value was too large to return
--          (else 0), its stale-if-error seconds (nil for none)}; the first three are nil on a miss, and the value is
--          when it is too large.

local now = now_ms()
if ARGV[3] ~= '' and redis.call('HSTRLEN', KEYS[1], 'v') > tonumber(ARGV[3]) then
  local h = redis.call('HMGET', KEYS[1], 't', 'e', 'f', 'a')
  local fresh = h[3] and tonumber(h[3]) - now or redis.call('PTTL', KEYS[1])
  return {false, h[1], h[2], fresh, h[4] and now - tonumber(h[4]) or -1, '', 0, 1}
end
local h = redis.call('HMGET', KEYS[1], 'v', 't', 'e', 'f', 'a', 'l', 'x', 'i')
local fresh, age = 0, -1
if h[3] then
  -- Entries written before f and a existed are fresh until their key expires.
  if h[4] then fresh = tonumber(h[4]) - now else fresh = redis.call('PTTL', KEYS[1]) end
  if h[5] then age = now - tonumber(h[5]) end
  if fresh > 0 then return {h[1], h[2], h[3], fresh, age, '', 0, 0, h[8]} end
end

-- A miss or a stale entry: somebody must compute the value, and the lease says who.
local lease_left = h[7] and (tonumber(h[7]) - now) or 0
if h[6] and lease_left > 0 then return {h[1], h[2], h[3], fresh, age, 'held', lease_left, 0, h[8]} end
if ARGV[1] == '' then return {h[1], h[2], h[3], fresh, age, '', 0, 0, h[8]} end
redis.call('HSET', KEYS[1], 'l', ARGV[2], 'x', ms(now + tonumber(ARGV[1])))
-- On a miss the hash holds the lease alone, and goes with it; a stale entry keeps its own expiry.
if not h[3] then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return {h[1], h[2], h[3], fresh, age, 'granted', tonumber(ARGV[1]), 0, h[8]}
