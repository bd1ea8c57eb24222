-- Examples shaped by the operations table's schemas (lua/studioapi/operations.lua): every field
-- with a value of its type and format, the same for the same seed. The generic responder answers
-- with these; stateful handlers use them for nested parts they do not model themselves.

local gen = require "sandbox.gen"
local json = require "sandbox.json"
local operations = require "studioapi.operations"

local byte = string.byte

local _M = {}

local schemas = operations.schemas
_M.schemas = schemas

-- Nested objects deeper than this are left out (the deepest schema today has 6 levels; the cap
-- keeps a future self-referencing schema from recursing for ever).
local MAX_DEPTH = 8

---A seed from a string (an operation and its path): the same text, the same example.
function _M.seed(base, text)
  local h = base % 2147483647
  for k = 1, #text do h = (h * 31 + byte(text, k)) % 2147483647 end
  return h
end

local value

-- Strings by format; fields without one get a URL, an address or "<field> <n>".
local FORMATS = {
  date = function(r) return gen.date(gen.TODAY + r:int(-400, 400)) end,
  ["date-time"] = function(r, tenant)
    return gen.datetime(gen.TODAY + r:int(-30, 30), r:int(6 * 60, 21 * 60), tenant.zone)
  end,
  uuid = function(r) return r:uuid() end,
  ["ISO 3166-1"] = function(_, tenant) return tenant.country end,
  ["ISO 4217"] = function(_, tenant) return tenant.currency end,
  ["ISO 639-1"] = function(_, tenant) return tenant.language end,
}

local function text(r, tenant, name, f)
  local by_format = FORMATS[f.format]
  if by_format then return by_format(r, tenant) end
  local n = r:int(1, 999)
  local lower = name:lower()
  if lower:find("url$") then
    return ("https://files.example.com/%s/%s/%d?expires=1767225600"):format(tenant.name, name, n)
  end
  if lower:find("email") then return ("sample%d@%s.example.com"):format(n, tenant.name) end
  return ("%s %d"):format(name, n)
end

local function object(r, tenant, name, depth)
  local schema = schemas[name]
  local out = {}
  if depth > MAX_DEPTH or not schema or not schema.fields then return out end
  -- fields in name order: pairs() order differs between runs and interpreters
  local names = {}
  for field in pairs(schema.fields) do names[#names + 1] = field end
  table.sort(names)
  for _, field in ipairs(names) do
    local v = value(r, tenant, field, schema.fields[field], depth)
    if v ~= nil then out[field] = v end
  end
  return out
end

-- A value for field `name` described by `f` ({type, format, ref, items, enum, default}).
function value(r, tenant, name, f, depth)
  if f.ref then
    if depth >= MAX_DEPTH then return nil end
    return object(r, tenant, f.ref, depth + 1)
  end
  if f.default ~= nil then return f.default end
  if f.enum then return r:pick(f.enum) end
  local t = f.type
  if t == "integer" then
    return f.format == "int64" and r:int(1000, 9999999) or r:int(1, 500)
  elseif t == "number" then
    return r:int(100, 99999) / 100
  elseif t == "boolean" then
    return r:chance(50)
  elseif t == "string" then
    return text(r, tenant, name, f)
  elseif t == "array" then
    local items = {}
    if f.items and not (f.items.ref and depth >= MAX_DEPTH) then
      for k = 1, r:int(1, 2) do items[k] = value(r, tenant, name, f.items, depth) end
    end
    return json.array(items)
  elseif t == "object" then
    return {} -- a free-form object
  end
  return nil
end

---An example of object schema `name` for a tenant, from `seed`.
function _M.object(tenant, name, seed)
  return object(gen.rng(tenant.seed, seed, 9), tenant, name, 1)
end

---1–2 examples of object schema `name`, as a JSON array.
function _M.list(tenant, name, seed)
  local r = gen.rng(tenant.seed, seed, 9)
  local items = {}
  for k = 1, r:int(1, 2) do items[k] = object(r, tenant, name, 1) end
  return json.array(items)
end

return _M
