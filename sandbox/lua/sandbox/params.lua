-- Checking request parameters. Each checker returns the value, or answers 400 (reference = the
-- parameter's name) and returns nil, so a handler reads `local n = …; if not n then return end`.
-- A parameter given twice arrives as a table and is invalid everywhere.

local respond = require "sandbox.respond"

local ngx = ngx

local _M = {}

-- Integers as the API's Java backend would parse them: optional "-", digits, within int64.
local function parse_integer(s)
  local digits = type(s) == "string" and s:match("^%-?(%d+)$")
  if not digits or #digits > 19 then return nil end
  return tonumber(s)
end
_M.parse_integer = parse_integer

local function parse_number(s)
  return type(s) == "string" and s:find("^%d+%.?%d*$") and tonumber(s) or nil
end

-- A numeric query parameter read by `parse`, within [min, max]; `default` when absent.
local function ranged(parse, req, args, name, default, min, max)
  local raw = args[name]
  if raw == nil then return default end
  local n = parse(raw)
  if not n then return respond.invalid(req, name) end
  if n < min or n > max then
    return respond.invalid(req, name, "error.validation.out_of_range", { min = min, max = max })
  end
  return n
end

---An integer query parameter within [min, max]; `default` when absent.
function _M.integer(req, args, name, default, min, max)
  return ranged(parse_integer, req, args, name, default, min, max)
end

---A number (fractions allowed) within [min, max]; for the test routes.
function _M.number(req, args, name, default, min, max)
  return ranged(parse_number, req, args, name, default, min, max)
end

---One of the strings in the set `allowed`; `default` when absent.
function _M.enum(req, args, name, default, allowed)
  local raw = args[name]
  if raw == nil then return default end
  if type(raw) ~= "string" or not allowed[raw] then return respond.invalid(req, name) end
  return raw
end

---The request body as a string ("" when there is none), wherever nginx kept it: in memory, or
---in a temporary file when it was large.
function _M.body()
  ngx.req.read_body()
  local body = ngx.req.get_body_data()
  if body then return body end
  local path = ngx.req.get_body_file()
  if not path then return "" end
  local f = assert(io.open(path, "rb"))
  body = f:read("*a")
  f:close()
  return body
end

---A path segment that must be an integer id.
function _M.id(req, name, raw)
  local n = parse_integer(raw)
  if not n then return respond.invalid(req, name) end
  return n
end

return _M
