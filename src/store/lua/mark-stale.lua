-- Shared prelude: marks a live cache entry stale instead of removing it (a soft purge). From now on it is served
-- only as stale, for what is left of its stale window (see cache-put.lua), and the first reader that asks for a
-- lease refreshes it, as for any stale entry. An entry with no stale window cannot be served stale: it is removed.
-- The caller has checked that the entry is there (and is the write it means), and ended its lease.
-- Returns 1 when the entry was fresh and is now stale, 0 when it was stale already, -1 when it was removed.

local function mark_stale(key, fresh_until, now)
  if fresh_until and tonumber(fresh_until) <= now then return 0 end
  local expires_in = redis.call('PTTL', key)
  -- An entry written before f existed is fresh until its key expires: it has no stale window.
  local window = fresh_until and expires_in - (tonumber(fresh_until) - now) or 0
  if expires_in < 0 or window <= 0 then
    redis.call('DEL', key)
    return -1
  end
  redis.call('HSET', key, 'f', ms(now))
  redis.call('PEXPIRE', key, window)
  return 1
end
