-- Rate limits as the API has them: one counter per tenant key and endpoint, in fixed windows.
-- Everything lives in the shared dict, so both workers see the same counts: `incr` is atomic
-- across workers, and every key carries a TTL so that nothing needs cleaning up.
--   rl:<tenant>:<endpoint>  requests in the current window; the window starts with its first
--                           request and ends when the key expires
--   lo:<tenant>:<endpoint>  the time the lockout ends (epoch seconds), expiring then
--   limits                  "limit window lockout" set by the control API, else the config's

local config = require "sandbox.config"

local ngx = ngx
local dict = ngx.shared.sandbox
local max = math.max

local _M = {}

local UUID = "^%x%x%x%x%x%x%x%x%-%x%x%x%x%-%x%x%x%x%-%x%x%x%x%-%x%x%x%x%x%x%x%x%x%x%x%x$"

local function template(segment)
  if segment:find("^%d+$") or segment:find(UUID) then return "{id}" end
  return segment
end

---The endpoint a request counts against: "GET /customers/{id}/contracts" for
---GET /v1/customers/123/contracts (digits-only and UUID segments become {id}).
function _M.endpoint(method, path)
  path = path:gsub("^/v1/", "/"):gsub("[^/]+", template)
  return method .. " " .. path
end

---limit, window, lockout: what the control API set last, else the config (tenants.lua).
function _M.settings()
  local set = dict:get("limits")
  if set then
    local limit, window, lockout = set:match("^(%S+) (%S+) (%S+)$")
    return tonumber(limit), tonumber(window), tonumber(lockout)
  end
  local c = config.rate_limit
  return c.limit, c.window, c.lockout
end

---Sets the limits; counters and lockouts start afresh, as under a new regime.
function _M.configure(limit, window, lockout)
  dict:set("limits", ("%.17g %.17g %.17g"):format(limit, window, lockout))
  _M.clear()
end

---Forgets every counter and lockout (the keys are listed: a control call, not a request path).
function _M.clear()
  for _, key in ipairs(dict:get_keys(0)) do
    if key:find("^rl:") or key:find("^lo:") then dict:delete(key) end
  end
end

---Counts a request. Returns nil when it may pass, else the seconds until its endpoint opens
---again (for Retry-After). The request over the limit starts a lockout of `lockout` seconds,
---or until its window ends if that is later (the API refuses "for the rest of that minute");
---refused requests are not counted, so exactly `limit` pass per window, whatever the workers.
function _M.check(tenant, endpoint)
  local key = tenant .. ":" .. endpoint
  local now = ngx.now()
  local locked_until = dict:get("lo:" .. key)
  if locked_until then return locked_until - now end

  local limit, window, lockout = _M.settings()
  local count = dict:incr("rl:" .. key, 1, 0, window)
  if count <= limit then return nil end
  local seconds = max(lockout, dict:ttl("rl:" .. key) or 0, 0.001) -- a TTL of 0 = for ever
  -- `add`: when requests in several workers go over at once, the first one's lockout stands
  if not dict:add("lo:" .. key, now + seconds, seconds) then
    return (dict:get("lo:" .. key) or now + seconds) - now
  end
  return seconds
end

---The current lockouts and counters, for GET /_sandbox/state.
function _M.state()
  local lockouts, counters = {}, {}
  local now = ngx.now()
  for _, key in ipairs(dict:get_keys(0)) do
    local kind, tenant, endpoint = key:match("^(%l%l):([^:]+):(.*)$")
    if kind == "lo" then
      local ends = dict:get(key)
      if ends then
        lockouts[#lockouts + 1] = { tenant = tenant, endpoint = endpoint, seconds = ends - now }
      end
    elseif kind == "rl" then
      counters[#counters + 1] = {
        tenant = tenant, endpoint = endpoint, count = dict:get(key), seconds = dict:ttl(key),
      }
    end
  end
  return lockouts, counters
end

return _M
