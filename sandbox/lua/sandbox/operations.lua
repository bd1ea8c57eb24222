-- The operations of the Open API as the client knows them: the generated table from the repo's
-- lua/studioapi/operations.lua (plain data, on lua_package_path), and the lookup of a request's
-- operation by method and path template. A literal segment beats a parameter at the same place
-- (/customers/by before /customers/{customerId}), the earlier segment first.

local operations = require "studioapi.operations"

local _M = {}

_M.operations = operations.operations
_M.schemas = operations.schemas

-- by method and segment count: { {op_id, op, segments = {literal or false, …}}, … }, most
-- specific first
local index = {}

local function split(path)
  local segments = {}
  for segment in path:gmatch("[^/]+") do segments[#segments + 1] = segment end
  return segments
end

do
  for op_id, op in pairs(operations.operations) do
    local segments, shape = split(op.path), {}
    for k, segment in ipairs(segments) do
      local literal = not segment:find("^{.*}$")
      segments[k] = literal and segment
      shape[k] = literal and "0" or "1"
    end
    local by_method = index[op.method] or {}
    index[op.method] = by_method
    local list = by_method[#segments] or {}
    by_method[#segments] = list
    list[#list + 1] = { op_id = op_id, op = op, segments = segments, shape = table.concat(shape) }
  end
  for _, by_method in pairs(index) do
    for _, list in pairs(by_method) do
      table.sort(list, function(a, b)
        if a.shape ~= b.shape then return a.shape < b.shape end
        return a.op_id < b.op_id
      end)
    end
  end
end

---The operation for a request: op_id, op and its path parameters' raw values in template order,
---or nil. `path` is the decoded path with /v1; empty segments ("//", a trailing "/") match none.
function _M.match(method, path)
  local rest = path:match("^/v1(/.*)$")
  if not rest or rest:find("//", 1, true) or rest:sub(-1) == "/" then return nil end
  local by_method = index[method]
  local segments = split(rest)
  local list = by_method and by_method[#segments]
  if not list then return nil end
  for _, entry in ipairs(list) do
    local values, ok = {}, true
    for k, literal in ipairs(entry.segments) do
      if literal then
        if literal ~= segments[k] then ok = false break end
      else
        values[#values + 1] = segments[k]
      end
    end
    if ok then return entry.op_id, entry.op, values end
  end
  return nil
end

return _M
