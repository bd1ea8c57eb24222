--- Entities: decoded JSON objects with a metatable per schema of the API.
-- The data stays exactly as the API sent it (field names, nesting; JSON null is absent), so
-- `studioapi.json.encode(entity)` gives the API's JSON back. Helpers live in the metatables:
-- `customer:full_name()`, `money:format()`, `entity:time(field)`, `entity:url_expires_at(field)`.
local operations = require "studioapi.operations"

local type, ipairs, pairs, setmetatable, getmetatable = type, ipairs, pairs, setmetatable,
                                                        getmetatable
local floor, format = math.floor, string.format

local schemas = operations.schemas

local _M = {}

-- How an entity was fetched (for refresh). Weak keys: the entity's own lifetime decides, and the
-- JSON stays free of bookkeeping fields. When it was fetched lives in its metatable (below).
local origins = setmetatable({}, { __mode = "k" })

--------------------------------------------------------------------------------------------------
-- Date-times: the API writes three styles; all parse to the same table.

local function days_from_civil(y, m, d)
  -- Howard Hinnant's algorithm: days since 1970-01-01 in the proleptic Gregorian calendar,
  -- with plain arithmetic so no time zone of the host can leak in (os.time would).
  if m <= 2 then y = y - 1 end
  local era = floor(y / 400)
  local yoe = y - era * 400
  local mp = (m + 9) % 12
  local doy = floor((153 * mp + 2) / 5) + d - 1
  local doe = yoe * 365 + floor(yoe / 4) - floor(yoe / 100) + doy
  return era * 146097 + doe - 719468
end

--- Parses `2022-06-15`, `2022-06-15T23:59:59.999+02:00[Europe/Berlin]`, `2024-06-13T10:33:00Z`
-- and `2025-09-21T00:00:00` (local, no zone).
-- @treturn table|nil `{year, month, day, hour, min, sec, offset?, zone?, epoch?}`: `offset` in
-- seconds east of UTC and `epoch` (seconds, with the fraction) only when the text carries an offset
function _M.parse_time(s)
  if type(s) ~= "string" then return nil end
  local y, mo, d, rest = s:match("^(%d%d%d%d)%-(%d%d)%-(%d%d)(.*)$")
  if not y then return nil end
  local t = { year = tonumber(y), month = tonumber(mo), day = tonumber(d), hour = 0, min = 0,
              sec = 0 }
  if rest ~= "" then
    local h, mi, sec, frac, tail = rest:match("^T(%d%d):(%d%d):?(%d?%d?)(%.?%d*)(.*)$")
    if not h then return nil end
    t.hour, t.min, t.sec = tonumber(h), tonumber(mi), tonumber(sec) or 0
    if #frac > 1 then t.sec = t.sec + tonumber("0" .. frac) end
    local zone = tail:match("%[([^%]]+)%]$")
    if zone then
      t.zone = zone
      tail = tail:sub(1, -(#zone + 3))
    end
    if tail == "Z" then
      t.offset = 0
    elseif tail ~= "" then
      local sign, oh, om = tail:match("^([+-])(%d%d):?(%d%d)$")
      if not sign then return nil end
      t.offset = (tonumber(oh) * 3600 + tonumber(om) * 60) * (sign == "-" and -1 or 1)
    end
  end
  if t.month < 1 or t.month > 12 or t.day < 1 or t.day > 31 or t.hour > 23 or t.min > 59
     or t.sec >= 61 then
    return nil
  end
  if t.offset or rest == "" then
    local days = days_from_civil(t.year, t.month, t.day)
    t.epoch = days * 86400 + t.hour * 3600 + t.min * 60 + t.sec - (t.offset or 0)
  end
  return t
end

--------------------------------------------------------------------------------------------------
-- Methods every entity has

local Entity = {}

--- The schema name of this entity ("Customer", "Money", …).
function Entity:schema()
  return getmetatable(self).__schema
end

--- Parses a date or date-time field (see `parse_time`).
function Entity:time(field)
  return _M.parse_time(self[field])
end

--- The epoch second at which the signed URL in `field` stops working, or nil when the API
-- documents no lifetime for it (or the field is absent).
function Entity:url_expires_at(field)
  local mt = getmetatable(self)
  local lifetimes = schemas[mt.__schema].url_lifetimes
  local lifetime = lifetimes and lifetimes[field]
  local at = mt.__fetched
  if not lifetime or not at or self[field] == nil then return nil end
  return floor(at) + lifetime
end

--- Whether the signed URL in `field` has expired by `now` (epoch seconds, default os.time()).
-- A URL with no documented lifetime never counts as expired here.
function Entity:url_expired(field, now)
  local at = self:url_expires_at(field)
  return at ~= nil and (now or os.time()) >= at
end

--- When this entity was fetched (epoch seconds).
function Entity:fetched_at()
  return getmetatable(self).__fetched
end

-- Helpers per schema, on top of Entity's.
local HELPERS = {}

HELPERS.Customer = {
  --- "First [Second] Last [SecondLast]", skipping absent parts.
  full_name = function(self)
    local parts = {}
    for _, f in ipairs { "firstName", "secondFirstName", "lastName", "secondLastName" } do
      local v = self[f]
      if type(v) == "string" and v ~= "" then parts[#parts + 1] = v end
    end
    return table.concat(parts, " ")
  end,
}

HELPERS.Money = {
  --- "49.90 EUR": two decimals (the API's currencies use cents), then the ISO 4217 code.
  format = function(self)
    return format("%.2f %s", self.amount or 0, self.currency or "")
  end,
}

--------------------------------------------------------------------------------------------------
-- Metatables and the walk

-- The methods of each schema: Entity's, plus its own helpers.
local indexes = {}

local function index_for(name)
  local index = indexes[name]
  if not index then
    index = setmetatable({}, { __index = Entity })
    for k, fn in pairs(HELPERS[name] or {}) do index[k] = fn end
    indexes[name] = index
  end
  return index
end

-- Everything decoded from one answer shares one metatable per schema, which also holds the fetch
-- time: one small table per schema and answer, instead of bookkeeping per record (a pager hands
-- out a million of them).
local function metatable(ctx, name)
  local mt = rawget(ctx, name)
  if not mt then
    mt = { __index = index_for(name), __name = "studioapi." .. name, __schema = name,
           __fetched = ctx.now, __entity = true }
    ctx[name] = mt
  end
  return mt
end

-- A context makes a schema's metatable on first use, also when the C decoder asks for it.
local Context = { __index = metatable }

--- A wrapping context: the metatables for everything fetched at `now` (epoch seconds).
function _M.context(now)
  return setmetatable({ now = now or os.time() }, Context)
end

-- Per schema, only the fields that hold nested objects: the walk skips every scalar.
local plans = {}

local function plan_for(name)
  local plan = plans[name]
  if plan then return plan end
  plan = {}
  local schema = schemas[name]
  for field, f in pairs(schema and schema.fields or {}) do
    if f.ref then
      plan[#plan + 1] = { field, f.ref, false }
    elseif f.items and f.items.ref then
      plan[#plan + 1] = { field, f.items.ref, true }
    end
  end
  plans[name] = plan
  return plan
end

local wrap

local function wrap_object(obj, name, ctx)
  if type(obj) ~= "table" or getmetatable(obj) ~= nil then return obj end
  setmetatable(obj, metatable(ctx, name))
  for _, step in ipairs(plan_for(name)) do
    local v = obj[step[1]]
    if v ~= nil then
      if step[3] then
        if type(v) == "table" then
          for i = 1, #v do wrap_object(v[i], step[2], ctx) end
        end
      else
        wrap_object(v, step[2], ctx)
      end
    end
  end
  return obj
end

--- Gives `value` (a decoded response) the metatables of `shape`: a schema name, or
-- `{array = name}` for a list. `ctx` (from `context`) is optional: pass one to share the
-- metatables across the records of one chunk. Returns `value`.
function wrap(value, shape, ctx)
  ctx = ctx or _M.context()
  if type(shape) == "table" then
    if type(value) == "table" then
      for i = 1, #value do wrap_object(value[i], shape.array, ctx) end
    end
    return value
  end
  if shape and schemas[shape] and schemas[shape].fields then
    return wrap_object(value, shape, ctx)
  end
  return value
end
_M.wrap = wrap

--------------------------------------------------------------------------------------------------
-- Plans: the same walk, done by the C decoder as it makes the objects

-- Per schema, one node {schema = name, fields = {field = node | {items = node}}} (fields only
-- for the members that hold objects), shared by every answer: the metatables, which hold the
-- fetch time, come from the context given with the plan. Nodes of schemas that refer to each
-- other refer to each other too; the decoder follows the data, so a cycle costs nothing.
local nodes = {}

local function node_for(name)
  local node = nodes[name]
  if node then return node end
  node = { schema = name }
  nodes[name] = node
  local schema = schemas[name]
  local fields
  for field, f in pairs(schema and schema.fields or {}) do
    if f.ref then
      fields = fields or {}
      fields[field] = node_for(f.ref)
    elseif f.items and f.items.ref then
      fields = fields or {}
      fields[field] = { items = node_for(f.items.ref) }
    end
  end
  node.fields = fields
  return node
end

local array_plans, chunk_plans, lazy_chunk_plans = {}, {}, {}

--- The decoder's plan for a response of `shape` (as for `wrap`), or nil when nothing in it
-- becomes an entity. Decoding with it and a `context` gives what `wrap` would.
function _M.plan(shape)
  if type(shape) == "table" then
    local plan = array_plans[shape.array]
    if not plan then
      plan = { items = node_for(shape.array) }
      array_plans[shape.array] = plan
    end
    return plan
  end
  if shape and schemas[shape] and schemas[shape].fields then return node_for(shape) end
  return nil
end

--- The plan for a chunk `{result = [items], offset, hasNext}` whose items are of schema `name`
-- (nil: plain items): the items become entities, the chunk itself stays a plain table. With
-- `lazy`, `result` comes as a cursor that decodes the items one at a time (studioapi.pager).
function _M.chunk_plan(name, lazy)
  local cache = lazy and lazy_chunk_plans or chunk_plans
  local plan = cache[name or false]
  if not plan then
    plan = { fields = { result = { items = name and node_for(name) or nil, lazy = lazy } } }
    cache[name or false] = plan
  end
  return plan
end

--- Records how an entity was fetched, so `client:refresh` can fetch it again.
function _M.set_origin(entity, op_id, params)
  if type(entity) == "table" then origins[entity] = { op_id, params } end
end

function _M.origin(entity)
  local o = origins[entity]
  if o then return o[1], o[2] end
  return nil
end

function _M.is_entity(x)
  local mt = getmetatable(x)
  return type(mt) == "table" and mt.__entity == true
end

_M.Entity = Entity
return _M
