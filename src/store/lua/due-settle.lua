-- Settles a subject that a sweep claimed: due next at the earliest hint its index now holds, or no more when the index
-- is empty; but when a note came since the claim (a newer version), the index may hold a session the sweep did not
-- see, so the subject stays due at the claim's end at the latest.
-- KEYS[1]  the subjects due   KEYS[2]  their versions
-- ARGV[1]  the subject   ARGV[2]  the version claimed   ARGV[3]  the earliest hint left ('' for an empty index)

if (redis.call('HGET', KEYS[2], ARGV[1]) or '0') == ARGV[2] then
  if ARGV[3] == '' then
    redis.call('ZREM', KEYS[1], ARGV[1])
    redis.call('HDEL', KEYS[2], ARGV[1])
  else
    redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
  end
elseif ARGV[3] ~= '' then
  redis.call('ZADD', KEYS[1], 'LT', ARGV[3], ARGV[1])
end
