--- Checks an operation's parameters against the operations table and builds its path and query.
-- Everything is checked before a byte is sent, and a violation is `nil, err` with
-- `code = "invalid_argument"`, `reference` = the parameter's name and a message that says what
-- is allowed: the same shape as the API's own 400 answers, without the round trip.
local errors = require "studioapi.errors"

local type, pairs, ipairs, tostring = type, pairs, ipairs, tostring
local format, gsub, byte = string.format, string.gsub, string.byte
local floor = math.floor

local _M = {}

-- Shapes of the string formats the API uses in parameters.
local FORMATS = {
  date = "^%d%d%d%d%-%d%d%-%d%d$",
  ["date-time"] = "^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d",
  uuid = "^%x%x%x%x%x%x%x%x%-%x%x%x%x%-%x%x%x%x%-%x%x%x%x%-%x%x%x%x%x%x%x%x%x%x%x%x$",
}

local function violation(op_id, name, message)
  return errors.new { code = "invalid_argument", reference = name,
                      message = format("%s: parameter '%s' %s", op_id, name, message) }
end

local function enum_text(enum)
  local quoted = {}
  for i, v in ipairs(enum) do quoted[i] = tostring(v) end
  return table.concat(quoted, ", ")
end

-- Checks one value against a parameter (or array item) description; returns an error message.
local function check_value(p, v)
  local t = p.type
  if t == "integer" then
    if type(v) ~= "number" or v ~= floor(v) or v ~= v or v == math.huge or v == -math.huge then
      return "must be an integer, got " .. (type(v) == "number" and tostring(v) or type(v))
    end
  elseif t == "number" then
    if type(v) ~= "number" or v ~= v then return "must be a number, got " .. type(v) end
  elseif t == "boolean" then
    if type(v) ~= "boolean" then return "must be a boolean, got " .. type(v) end
  elseif t == "string" then
    if type(v) ~= "string" then return "must be a string, got " .. type(v) end
    local shape = FORMATS[p.format]
    if shape and not v:match(shape) then return format("must be a %s, got %q", p.format, v) end
  elseif t == "array" then
    if type(v) ~= "table" then return "must be an array (a table), got " .. type(v) end
    local n = #v
    for k in pairs(v) do
      if type(k) ~= "number" or k < 1 or k > n or k ~= floor(k) then
        return "must be an array (a sequence)"
      end
    end
    for i = 1, n do
      local msg = p.items and check_value(p.items, v[i])
      if msg then return format("item %d %s", i, msg) end
    end
    return nil
  end
  if p.enum then
    local found = false
    for _, allowed in ipairs(p.enum) do
      if v == allowed then found = true break end
    end
    if not found then return format("must be one of %s, got %s", enum_text(p.enum), tostring(v)) end
  end
  if p.minimum and v < p.minimum or p.maximum and v > p.maximum then
    if p.minimum and p.maximum then
      return format("must be between %s and %s, got %s", p.minimum, p.maximum, tostring(v))
    elseif p.minimum then
      return format("must be at least %s, got %s", p.minimum, tostring(v))
    end
    return format("must be at most %s, got %s", p.maximum, tostring(v))
  end
  return nil
end
_M.check_value = check_value

local function escape_segment(s)
  return (gsub(s, "[^%w%-%._~]", function(c) return format("%%%02X", byte(c)) end))
end

local function path_value(v)
  if type(v) == "number" then return format("%d", v) end
  return tostring(v)
end

-- Keys of `params` that are not parameters of the operation (on_progress: for uploads).
local RESERVED = { body = true, parts = true, on_progress = true }

--- Checks `params` for operation `op` (named `op_id`) and returns `path, query`, or `nil, err`.
-- `params` holds path and query parameters by their API names; `body`, `parts` and `on_progress`
-- are left alone.
function _M.build(op_id, op, params)
  local query = {}
  local path = op.path
  local known = {}
  for _, p in ipairs(op.params or {}) do
    local name = p.name
    known[name] = true
    local v = params[name]
    if v == nil then
      if p.required then return nil, violation(op_id, name, "is required") end
    else
      local msg = check_value(p, v)
      if msg then return nil, violation(op_id, name, msg) end
      if p["in"] == "path" then
        local segment = escape_segment(path_value(v))
        -- A function, not a string, as the replacement: "%2F" must not read as a capture.
        path = path:gsub("{" .. name .. "}", function() return segment end, 1)
      else
        query[name] = v
      end
    end
  end
  for name in pairs(params) do
    if not known[name] and not RESERVED[name] then
      return nil, violation(op_id, tostring(name), "is not a parameter of this operation")
    end
  end
  return path, query
end

return _M
