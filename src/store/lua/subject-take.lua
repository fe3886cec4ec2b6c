-- Takes the entries of a subject's index that a revocation ends: reads and removes them in one step, so that two
-- revocations share the work and every session admitted before it is ended by one of them.
-- KEYS[1]  the subject's index   KEYS[2]  its liveness hints (see subject-admit.lua)
-- ARGV[1]  a reference to keep ('' for none)   ARGV[2…] the references to take; all of them when none is given
-- Returns {reference, createdAt, …} of the entries taken.

local taken = {}
if #ARGV > 1 then
  for i = 2, #ARGV do
    local score = redis.call('ZSCORE', KEYS[1], ARGV[i])
    if score and ARGV[i] ~= ARGV[1] then
      redis.call('ZREM', KEYS[1], ARGV[i])
      redis.call('ZREM', KEYS[2], ARGV[i])
      table.insert(taken, ARGV[i])
      table.insert(taken, score)
    end
  end
  return taken
end
local kept = ARGV[1] ~= '' and redis.call('ZSCORE', KEYS[1], ARGV[1])
local hint = kept and redis.call('ZSCORE', KEYS[2], ARGV[1])
local expires = kept and expiry_of(KEYS[1], now_ms())
for _, entry in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')) do table.insert(taken, entry) end
redis.call('DEL', KEYS[1], KEYS[2])
if not kept then return taken end
redis.call('ZADD', KEYS[1], kept, ARGV[1])
redis.call('ZADD', KEYS[2], hint or 0, ARGV[1])
if expires > 0 then
  for _, key in ipairs(KEYS) do redis.call('PEXPIREAT', key, ms(expires)) end
end
for i = #taken - 1, 1, -2 do
  if taken[i] == ARGV[1] then
    table.remove(taken, i + 1)
    table.remove(taken, i)
  end
end
return taken
