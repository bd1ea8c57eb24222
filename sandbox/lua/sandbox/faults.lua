-- Faults on cue: a /v1 request can be answered with an error status, dropped, or slowed down.
-- Kept in the shared dict so that every worker applies the same ones:
--   faults:n             how many faults were added (ids 1..n, in order)
--   fault:<id>           the fault, as JSON; never changed once added
--   fault:<id>:used      how often it fired (incr: atomic across workers, so `count` holds)
--   fault:<id>:draws     how many random draws it made: draw k of a seed is always the same
--                        number, so a seeded sequence does not depend on which worker draws

local cjson = require "cjson.safe"
local config = require "sandbox.config"
local ratelimit = require "sandbox.ratelimit"
local respond = require "sandbox.respond"

local ngx = ngx
local dict = ngx.shared.sandbox

local _M = {}

local KINDS = { status = true, close = true, slow = true }

-- Draw k (1, 2, …) of a seed, uniform in [0, 1). MD5 mixes well and needs no bit operations.
local function draw(seed, k)
  return tonumber(ngx.md5(seed .. ":" .. k):sub(1, 8), 16) / 4294967296
end

local function integer(v, min, max)
  return type(v) == "number" and v == math.floor(v) and v >= min and v <= max
end

local function number(v, min, max)
  return type(v) == "number" and v >= min and v <= max
end

-- Each field's check; a string result replaces the value (a normalised endpoint).
local FIELDS = {
  endpoint = function(v)
    local method, path = (type(v) == "string" and v or ""):match("^(%u+) (/%S*)$")
    return method and ratelimit.endpoint(method, path)
  end,
  tenant = function(v) return config.tenants[v] ~= nil end,
  kind = function(v) return KINDS[v] ~= nil end,
  count = function(v) return integer(v, 1, 1e9) end,
  probability = function(v) return number(v, 0, 1) end,
  seed = function(v) return integer(v, -2 ^ 53, 2 ^ 53) or type(v) == "string" end,
  status = function(v) return respond.ERROR_CODES[v] ~= nil end,
  seconds = function(v) return number(v, 0, 300) end,
}
-- fields that only make sense with one kind
local ONLY = { status = "status", seconds = "slow" }

---Checks and adds a fault. Returns it (with its id), or nil and the name of the bad field.
function _M.add(spec)
  local fault = {}
  for field, value in pairs(spec) do
    local check = FIELDS[field]
    if value ~= cjson.null then -- null = absent
      local ok = check and check(value)
      if not ok or (ONLY[field] and ONLY[field] ~= spec.kind) then return nil, field end
      fault[field] = type(ok) == "string" and ok or value
    end
  end
  if not fault.kind then return nil, "kind" end
  if fault.kind == "status" then fault.status = fault.status or 503 end
  if fault.kind == "slow" then fault.seconds = fault.seconds or 1 end
  if fault.probability then fault.seed = fault.seed or 0 end
  fault.id = dict:incr("faults:n", 1, 0)
  dict:set("fault:" .. fault.id, cjson.encode(fault))
  return fault
end

-- Whether the fault fires for this request; counts the firing. With `count` and `probability`
-- both, each request draws and the fault fires at most `count` times.
local function fires(fault, req)
  if fault.endpoint and fault.endpoint ~= req.endpoint then return false end
  if fault.tenant and fault.tenant ~= req.tenant.name then return false end
  -- HEAD only checks the key: a fault touches it only when its endpoint names HEAD
  if req.method == "HEAD" and not fault.endpoint then return false end
  local key = "fault:" .. fault.id
  if fault.count and (dict:get(key .. ":used") or 0) >= fault.count then return false end
  if fault.probability then
    local k = dict:incr(key .. ":draws", 1, 0)
    if draw(fault.seed, k) >= fault.probability then return false end
  end
  -- two workers may both pass the check above: the atomic incr decides which one fires
  local used = dict:incr(key .. ":used", 1, 0)
  return not fault.count or used <= fault.count
end

-- Fault `id`, or nil in the moment between another worker's incr of faults:n and its set.
local function load(id)
  local raw = dict:get("fault:" .. id)
  return raw and cjson.decode(raw)
end

---The first fault that fires for the request, or nil.
function _M.pick(req)
  local n = dict:get("faults:n")
  if not n then return nil end
  for id = 1, n do
    local fault = load(id)
    if fault and fires(fault, req) then return fault end
  end
  return nil
end

---Every fault added since the last reset, with how often it fired and drew.
function _M.list()
  local out = {}
  for id = 1, dict:get("faults:n") or 0 do
    local fault = load(id)
    if fault then
      fault.used = dict:get("fault:" .. id .. ":used") or 0
      fault.draws = dict:get("fault:" .. id .. ":draws") or 0
      out[#out + 1] = fault
    end
  end
  return out
end

return _M
