-- Shared prelude of the scripts that honour RFC 9110 preconditions; loaded in front of each of them.
-- An encoded list is '' (header absent), '*', or entity tags separated by newlines. The caller keeps
-- weak tags in If-Match (so they never equal a stored strong tag) and strips W/ in If-None-Match
-- (weak comparison), which leaves plain string equality to do here.

local function listed(list, tag)
  return string.find('\n' .. list .. '\n', '\n' .. tag .. '\n', 1, true) ~= nil
end

local function precondition_holds(current, if_match, if_none_match)
  if if_match ~= '' then
    if not current then return false end
    if if_match ~= '*' and not listed(if_match, current) then return false end
  end
  if if_none_match ~= '' and current then
    if if_none_match == '*' or listed(if_none_match, current) then return false end
  end
  return true
end
