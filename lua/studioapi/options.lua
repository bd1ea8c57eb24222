--- Strict option tables (luaposix style): an unknown name raises, naming it, and so does a value
-- of the wrong type, so a typo never silently falls back to a default.
local format, tostring, type, pairs, error = string.format, tostring, type, pairs, error

local _M = {}

--- Checks `opts` against `schema` (name → "string", "number", "table|false", …) and raises at
-- `level` (as for `error`) on the first mismatch. `where` starts the message ("studioapi.new").
function _M.check(where, opts, schema, level)
  for name, value in pairs(opts) do
    local want = schema[name]
    if not want then
      error(format("%s: unknown option '%s'", where, tostring(name)), level + 1)
    end
    local got = type(value)
    if not (want:find(got, 1, true) or (value == false and want:find("false", 1, true))) then
      error(format("%s: option '%s' must be a %s, got %s", where, name,
                   (want:gsub("|", " or ")), got), level + 1)
    end
  end
end

return _M
