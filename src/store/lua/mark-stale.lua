-- Shared prelude: marks a live cache entry stale instead of removing it (a soft purge). From now on it is served
-- only as stale, for what is left of its stale window (see cache-put.lua), and the first reader that asks for a
-- lease refreshes it, as for any stale entry. An entry with no stale window cannot be served stale: it is removed.
-- The caller has checked that the entry is there (and is the write it means), and ended its lease.
-- Returns 1 when the entry was fresh and is now stale, 0 when it was stale already, -1 when it was removed.

local function mark_stale(key, fresh_until, now)
  if fresh_until and tonumber(fresh_until) <= now then return 0 end
  -- An entry written before f existed is fresh until its key expires: it has no stale window.
  local window = 0
  if fresh_until then
    -- cache-put.lua puts the expiry at f + the window, on the clock f is read from: Redis 7's PEXPIRETIME gives the
    -- window back exactly. PTTL counts from the command's own clock, a moment off TIME, and so gave entries with no
    -- window one of a millisecond. Older servers answer an error and get that estimate (read after TIME, it errs
    -- short).
    local expires_at = redis.pcall('PEXPIRETIME', key)
    if type(expires_at) ~= 'number' then expires_at = now + redis.call('PTTL', key) end
    window = expires_at - tonumber(fresh_until)
  end
  if window <= 0 then
    redis.call('DEL', key)
    return -1
  end
  redis.call('HSET', key, 'f', ms(now))
  redis.call('PEXPIREAT', key, ms(now + window))
  return 1
end
