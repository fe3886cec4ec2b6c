-- Records sessions that ended in a namespace's log of events, a stream that keeps the newest only: trimmed to
-- exactly that many, noting the id of the newest event it dropped, so that a reader whose cursor is older learns it
-- missed some.
-- KEYS[1]  the namespace's log (a stream)   KEYS[2]  the id of the newest event dropped from it
-- ARGV[1]  how many events the log keeps
-- ARGV     then quadruples of a reason, a session's reference, its subject, and the reference that replaced it ('')
-- The log is the namespace's, whatever the slot of the sessions: the service records what its steps ended, after.

for i = 2, #ARGV, 4 do
  local fields = { 'reason', ARGV[i], 'ref', ARGV[i + 1], 'subject', ARGV[i + 2] }
  if ARGV[i + 3] ~= '' then
    table.insert(fields, 'replacedBy')
    table.insert(fields, ARGV[i + 3])
  end
  redis.call('XADD', KEYS[1], '*', unpack(fields))
end
-- Trimmed in batches of a hundredth of the log, so that it holds at most 1 % more than it keeps: one trim costs
-- about three appends, and most appends then trim nothing.
local excess = redis.call('XLEN', KEYS[1]) - tonumber(ARGV[1])
if excess > math.floor(tonumber(ARGV[1]) / 100) then
  local dropped = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', excess)
  redis.call('SET', KEYS[2], dropped[#dropped][1])
  redis.call('XTRIM', KEYS[1], 'MAXLEN', ARGV[1])
end
