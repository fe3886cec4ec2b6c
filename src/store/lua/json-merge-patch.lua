-- Shared prelude: RFC 7396 JSON merge patch over JSON text, without decoding values.
-- Redis's cjson would turn [] into {} and round numbers to 14 digits, so values are never decoded here:
-- objects are split into members, and everything else (strings, numbers, arrays) is kept as its exact text.
-- Both documents must be canonical, as JSON.stringify writes them: no insignificant whitespace, and keys
-- escaped one way only, so that equal keys are equal strings.

-- Returns the index just past the JSON value that starts at i.
local function skip_value(text, i)
  local first = string.sub(text, i, i)
  if first == '"' then
    local j = i + 1
    while true do
      local k = string.find(text, '["\\]', j)
      if string.sub(text, k, k) == '\\' then j = k + 2 else return k + 1 end
    end
  elseif first == '{' or first == '[' then
    local depth, j = 0, i
    while true do
      local k = string.find(text, '[][{}"]', j)
      local c = string.sub(text, k, k)
      if c == '"' then
        j = skip_value(text, k)
      else
        if c == '{' or c == '[' then depth = depth + 1 else depth = depth - 1 end
        j = k + 1
        if depth == 0 then return j end
      end
    end
  else
    return string.find(text, '[],}]', i) or (#text + 1)
  end
end

-- The members of a JSON object, in order, as {key text, value text} pairs.
local function members(object)
  local list, i = {}, 2
  if string.sub(object, 2, 2) == '}' then return list end
  while true do
    local key_end = skip_value(object, i)
    local value_end = skip_value(object, key_end + 1)
    list[#list + 1] = { string.sub(object, i, key_end - 1), string.sub(object, key_end + 1, value_end - 1) }
    if string.sub(object, value_end, value_end) == '}' then return list end
    i = value_end + 1
  end
end

local function is_object(text)
  return text ~= nil and string.sub(text, 1, 1) == '{'
end

-- MergePatch(Target, Patch) of RFC 7396 §2; target may be nil (absent).
local function merge_patch(target, patch)
  if not is_object(patch) then return patch end
  local result, position = {}, {}
  if is_object(target) then
    for _, member in ipairs(members(target)) do
      result[#result + 1] = member
      position[member[1]] = #result
    end
  end
  for _, member in ipairs(members(patch)) do
    local key, value = member[1], member[2]
    local at = position[key]
    if value == 'null' then
      if at then result[at] = false end
    elseif at then
      result[at] = { key, merge_patch(result[at][2], value) }
    else
      result[#result + 1] = { key, merge_patch(nil, value) }
      position[key] = #result
    end
  end
  local parts = {}
  for _, member in ipairs(result) do
    if member then parts[#parts + 1] = member[1] .. ':' .. member[2] end
  end
  return '{' .. table.concat(parts, ',') .. '}'
end
