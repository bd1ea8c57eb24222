-- The generic responder: every operation without a stateful handler answers 200 with a body
-- shaped by its response schema (sandbox.example), the same for the same path every time:
--   response schema S   an example of S; integer path parameters fill the fields of their name,
--                        and the last one fills `id` when the path ends with it
--   {array = S}          a JSON array of 1–2 examples
--   chunked              the envelope over 2 examples, in the operation's chunk mode
--   none                 200 with an empty body
-- The request has passed sandbox.check already. Writes change nothing.

local api = require "sandbox.api"
local check = require "sandbox.check"
local chunk = require "sandbox.chunk"
local example = require "sandbox.example"
local gen = require "sandbox.gen"
local respond = require "sandbox.respond"

local _M = {}

local schemas = example.schemas

-- Cursor-mode examples get ids on this spaced-out sequence, so their cursors work.
local IDS = gen.ids(100, 7, 3)
local CHUNK_ITEMS = 2

-- The path parameters by name, integers as numbers.
local function path_params(op, values)
  local named, last, k = {}, nil, 0
  for _, p in ipairs(op.params or {}) do
    if p["in"] == "path" then
      k = k + 1
      named[p.name] = p.type == "integer" and tonumber(values[k]) or values[k]
      last = p.name
    end
  end
  return named, last
end

local function chunked(req, op, seed)
  local tenant, schema = req.tenant, op.item_schema
  local has_id = schemas[schema].fields.id ~= nil
  local function item(k)
    local obj = example.object(tenant, schema, seed + k)
    if op.chunked == "cursor" and has_id then obj.id = IDS:id(k) end
    return obj
  end
  if op.chunked == "cursor" then return chunk.cursor(req, CHUNK_ITEMS, IDS, item) end
  return chunk.slice(req, CHUNK_ITEMS, item)
end

---Answers operation `op` for a request that passed the checks.
function _M.answer(req, op, values)
  local tenant = req.tenant
  if op.body and op.body.kind == "multipart" and not check.multipart(req, op) then return end
  local named, last = path_params(op, values)
  -- a customer of this studio must exist (cross-studio ones live in other studios)
  if named.customerId and not op.path:find("^/cross%-studio/")
    and not api.exists(tenant, named.customerId) then
    return respond.error(req, 404, "error.customer.not_found",
      { id = ("%d"):format(named.customerId) })
  end

  local response = op.response
  if response == nil then return respond.raw(req, 200, "") end
  local seed = example.seed(tenant.seed, req.method .. " " .. req.path)
  if op.chunked then return chunked(req, op, seed) end
  if type(response) == "table" then
    return respond.json(req, 200, example.list(tenant, response.array, seed))
  end
  local obj = example.object(tenant, response, seed)
  local fields = schemas[response].fields
  for name, v in pairs(named) do
    if fields[name] and type(v) == "number" then obj[name] = v end
  end
  if last and fields.id and type(named[last]) == "number" and op.path:find("}$") then
    obj.id = named[last]
  end
  return respond.json(req, 200, obj)
end

return _M
