-- Reads a page of a namespace's log of session ends, and whether events after the cursor were dropped unread.
-- KEYS[1]  the namespace's log   KEYS[2]  the id of the newest event dropped from it (session-events-add.lua)
-- ARGV[1]  the cursor: the id of the last event read, '' to start from the oldest kept   ARGV[2]  events at most
-- Returns {missed (1 or 0), {{id, {field, value, …}}, …}}.

local function parts(id)
  local at, sequence = string.match(id, '^(%d+)-(%d+)$')
  return tonumber(at), tonumber(sequence)
end

local function is_before(a, b)
  local a_at, a_sequence = parts(a)
  local b_at, b_sequence = parts(b)
  return a_at < b_at or (a_at == b_at and a_sequence < b_sequence)
end

local from = ARGV[1] == '' and '-' or '(' .. ARGV[1]
local events = redis.call('XRANGE', KEYS[1], from, '+', 'COUNT', ARGV[2])
local dropped = ARGV[1] ~= '' and redis.call('GET', KEYS[2])
return { (dropped and is_before(ARGV[1], dropped)) and 1 or 0, events }
