--- JSON as the Open API speaks it, over the C codec in studioapi.core.
-- Decoded objects are plain tables whose JSON nulls are simply absent; arrays carry `array_mt`
-- so they encode as arrays again, also when empty. A null inside an array stays as `json.null`
-- to keep the positions.
local core = require "studioapi.core"

local _M = {
  decode = core.json_decode,   -- (string) → value | nil, message
  encode = core.json_encode,   -- (value) → string; raises on values JSON cannot hold
  null = core.json_null,
  array_mt = core.json_array_mt,
}

--- Marks a table as a JSON array (so `{}` encodes as `[]`) and returns it.
function _M.array(t)
  return setmetatable(t or {}, core.json_array_mt)
end

function _M.is_array(t)
  return getmetatable(t) == core.json_array_mt
end

return _M
