-- The control API under /_sandbox/ (docs/internals.md, "Resilience"): limits, faults, the request
-- log and a reset, so that specs can make the server misbehave on cue and see what reached it;
-- the lifetime of signed URLs; webhook registrations, deliveries and sends on demand.
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
local store = require "sandbox.store"
local urls = require "sandbox.urls"
local webhooks = require "sandbox.webhooks"

local ngx = ngx

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

local function registrations()
  local out = {}
  for name, tenant in pairs(config.tenants) do
    local s = webhooks.settings(tenant)
    out[name] = { url = s.url or json.null, retries = s.retries, interval = s.interval }
  end
  return out
end

local function state()
  local lockouts, counters = ratelimit.state()
  return {
    limits = limits(), faults = json.array(faults.list()),
    lockouts = json.array(lockouts), counters = json.array(counters),
    url_lifetime = urls.lifetime("Customer", "imageUrl"), webhooks = registrations(),
  }
end

-- POST /_sandbox/reset: everything in the dict goes but the sequence numbers (log, deliveries,
-- ids); created records, stored files, URL lifetime and webhook registrations go back to the
-- config.
local function reset(req)
  store.clear()
  reqlog.clear()
  return respond.json(req, 200, state())
end

-- POST /_sandbox/url-lifetime {seconds}: the lifetime of every signed URL made from now on;
-- seconds = null goes back to the config's (or the API's).
local function url_lifetime(req)
  local spec = body(req)
  if not spec then return end
  local seconds = spec.seconds
  if seconds == cjson.null then
    urls.set_lifetime(nil)
  elseif type(seconds) ~= "number" or seconds <= 0 or seconds > 7 * 86400 then
    return respond.invalid(req, "seconds")
  else
    urls.set_lifetime(seconds)
  end
  return respond.json(req, 200, { seconds = urls.lifetime("Customer", "imageUrl") })
end

-- The tenant a control body names, or nil after answering 400.
local function tenant_of(req, spec)
  local tenant = type(spec.tenant) == "string" and config.tenants[spec.tenant]
  if not tenant then return respond.invalid(req, "tenant") end
  return tenant
end

-- POST /_sandbox/webhooks {tenant, url (null: none), retries?, interval?}: where that tenant's
-- events go, until a reset. Fields left out keep their value.
local function register(req)
  local spec = body(req)
  if not spec then return end
  local tenant = tenant_of(req, spec)
  if not tenant then return end
  local s = webhooks.settings(tenant)
  if spec.url == cjson.null then
    s.url = nil
  elseif spec.url ~= nil then
    local ok = webhooks.parse_url(spec.url)
    if not ok then return respond.invalid(req, "url") end
    s.url = spec.url
  end
  for field, max in pairs({ retries = 100, interval = 86400 }) do
    local v = spec[field]
    if v ~= nil then
      if type(v) ~= "number" or v < 0 or v > max or field == "retries" and v % 1 ~= 0 then
        return respond.invalid(req, field)
      end
      s[field] = v
    end
  end
  webhooks.configure(tenant, s)
  return respond.json(req, 200, registrations()[tenant.name])
end

-- GET /_sandbox/webhooks/log?since=&tenant=
local function webhook_log(req)
  local since = params.integer(req, req.args, "since", 0, 0, 2 ^ 53)
  if not since then return end
  local tenant = req.args.tenant
  if tenant ~= nil and not config.tenants[tenant] then return respond.invalid(req, "tenant") end
  return respond.json(req, 200, { deliveries = json.array(webhooks.log(since, tenant)) })
end

-- POST /_sandbox/webhooks/send {tenant, type, entityId, content?, uuid?, key?, body?, url?}:
-- one event now, to the tenant's URL (or `url`); `key` replaces the webhook key (false: none),
-- `body` the whole JSON body. Answers the delivery after its first attempt.
local function send(req)
  local spec = body(req)
  if not spec then return end
  local tenant = tenant_of(req, spec)
  if not tenant then return end
  if type(spec.type) ~= "string" or not spec.type:find("^[A-Z][A-Z0-9_]*$") then
    return respond.invalid(req, "type")
  end
  if type(spec.entityId) ~= "number" or spec.entityId % 1 ~= 0 then
    return respond.invalid(req, "entityId")
  end
  local checks = {
    content = function(v) return type(v) == "table" end,
    uuid = function(v) return type(v) == "string" and v ~= "" end,
    key = function(v) return v == false or type(v) == "string" end,
    body = function(v) return type(v) == "string" end,
    url = function(v) return webhooks.parse_url(v) ~= nil end,
  }
  for field, ok in pairs(checks) do
    if spec[field] ~= nil and not ok(spec[field]) then return respond.invalid(req, field) end
  end
  local entry, why = webhooks.send(tenant, spec)
  if not entry then return respond.invalid(req, why) end
  return respond.json(req, 200, entry)
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
  ["POST /_sandbox/url-lifetime"] = url_lifetime,
  ["GET /_sandbox/webhooks"] = function(req) return respond.json(req, 200, registrations()) end,
  ["POST /_sandbox/webhooks"] = register,
  ["GET /_sandbox/webhooks/log"] = webhook_log,
  ["POST /_sandbox/webhooks/send"] = send,
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
