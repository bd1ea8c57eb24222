-- The control API under /_sandbox/ (docs/internals.md, "Resilience"): limits, faults, the request
-- log and a reset, so that specs can make the server misbehave on cue and see what reached it.
-- Admin key only; JSON in, JSON out; errors in the API's shape. Its own requests are not logged.

local cjson = require "cjson.safe"
local config = require "sandbox.config"
local faults = require "sandbox.faults"
local json = require "sandbox.json"
local lang = require "sandbox.lang"
local params = require "sandbox.params"
local ratelimit = require "sandbox.ratelimit"
local reqlog = require "sandbox.reqlog"
local respond = require "sandbox.respond"

local ngx = ngx
local dict = ngx.shared.sandbox

local _M = {}

-- The JSON object in the request body ({} when there is none), or nil after answering 400.
local function body(req)
  ngx.req.read_body()
  local raw = ngx.req.get_body_data() or "" -- bodies up to 1 MiB stay in memory
  if raw:find("^%s*$") then return {} end
  local value = cjson.decode(raw)
  if type(value) ~= "table" or value[1] ~= nil then return respond.invalid(req, "body") end
  return value
end

local function limits()
  local limit, window, lockout = ratelimit.settings()
  return { limit = limit, window = window, lockout = lockout }
end

local function state()
  local lockouts, counters = ratelimit.state()
  return {
    limits = limits(), faults = json.array(faults.list()),
    lockouts = json.array(lockouts), counters = json.array(counters),
  }
end

-- POST /_sandbox/reset: everything in the dict goes but the log's sequence number.
local function reset(req)
  for _, key in ipairs(dict:get_keys(0)) do
    if key ~= "log:n" then dict:delete(key) end
  end
  reqlog.clear()
  return respond.json(req, 200, state())
end

local LIMIT_CHECKS = {
  limit = function(v) return math.floor(v) == v and v >= 0 and v <= 1e9 end,
  window = function(v) return v >= 0.001 and v <= 1e9 end,
  lockout = function(v) return v >= 0 and v <= 1e9 end,
}

-- POST /_sandbox/limits {limit?, window?, lockout?}: a field left out keeps its value.
local function set_limits(req)
  local spec = body(req)
  if not spec then return end
  local new = limits()
  for field, value in pairs(spec) do
    local check = LIMIT_CHECKS[field]
    if not check or type(value) ~= "number" or not check(value) then
      return respond.invalid(req, field)
    end
    new[field] = value
  end
  ratelimit.configure(new.limit, new.window, new.lockout)
  return respond.json(req, 200, new)
end

-- POST /_sandbox/faults {endpoint?, tenant?, kind, count?, probability?, seed?, status?, seconds?}
local function add_fault(req)
  local spec = body(req)
  if not spec then return end
  local fault, field = faults.add(spec)
  if not fault then return respond.invalid(req, field) end
  return respond.json(req, 200, fault)
end

-- GET /_sandbox/log?tenant=acme&since=<seq>
local function log(req)
  local since = params.integer(req, req.args, "since", 0, 0, 2 ^ 53)
  if not since then return end
  local tenant = req.args.tenant
  if tenant ~= nil and not config.tenants[tenant] then return respond.invalid(req, "tenant") end
  return respond.json(req, 200, { requests = json.array(reqlog.list(tenant, since)) })
end

local CALLS = {
  ["POST /_sandbox/reset"] = reset,
  ["POST /_sandbox/limits"] = set_limits,
  ["POST /_sandbox/faults"] = add_fault,
  ["GET /_sandbox/log"] = log,
  ["GET /_sandbox/state"] = function(req) return respond.json(req, 200, state()) end,
}

function _M.handle()
  local headers = ngx.req.get_headers(200)
  local req = {
    method = ngx.req.get_method(), path = ngx.var.uri,
    lang = lang.resolve(headers["accept-language"], "en"),
  }
  if headers["x-api-key"] ~= config.admin_key then
    return respond.error(req, 401, "error.authentication.invalid_api_key")
  end
  req.args = ngx.req.get_uri_args(200)
  local call = CALLS[req.method .. " " .. req.path]
  if not call then return respond.no_route(req) end
  return call(req)
end

return _M
