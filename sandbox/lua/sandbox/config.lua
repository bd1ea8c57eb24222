-- The loaded tenants file and the lookups a request needs (host → tenant, key → tenant).
-- Loaded once in nginx's master (init_by_lua), so the workers inherit it without reading files.

local _M = {}

local REQUIRED = {
  host = "string", api_key = "string", webhook_key = "string", seed = "number",
  language = "string", customers = "number", employees = "number", classes = "number",
  studio_id = "number",
  country = "string", currency = "string", zone = "string",
}

local by_host, by_key = {}, {}

---Loads and checks the tenants file; raises with a message naming the bad entry.
function _M.load(path)
  local chunk = assert(loadfile(path))
  local conf = chunk()
  assert(type(conf.admin_key) == "string", "tenants: admin_key must be a string")
  for _, field in ipairs({ "limit", "window", "lockout" }) do
    assert(type(conf.rate_limit[field]) == "number", "tenants: rate_limit." .. field)
  end
  for name, t in pairs(conf.tenants) do
    for field, kind in pairs(REQUIRED) do
      if type(t[field]) ~= kind then
        error(("tenants: %s.%s must be a %s"):format(name, field, kind), 0)
      end
    end
    if t.webhook_url ~= nil and type(t.webhook_url) ~= "string" then
      error(("tenants: %s.webhook_url must be a string"):format(name), 0)
    end
    t.name = name
    by_host[t.host] = t
    by_key[t.api_key] = t
  end
  local hooks = conf.webhooks or {}
  for _, field in ipairs({ "retries", "interval" }) do
    if hooks[field] ~= nil and (type(hooks[field]) ~= "number" or hooks[field] < 0) then
      error("tenants: webhooks." .. field .. " must be a number >= 0", 0)
    end
  end
  if conf.url_lifetime ~= nil and (type(conf.url_lifetime) ~= "number"
    or conf.url_lifetime <= 0) then
    error("tenants: url_lifetime must be a positive number of seconds", 0)
  end
  _M.admin_key = conf.admin_key
  _M.rate_limit = conf.rate_limit
  _M.webhooks = { retries = hooks.retries or 0, interval = hooks.interval or 600 }
  _M.url_lifetime = conf.url_lifetime
  _M.tenants = conf.tenants
end

---The tenant a Host header names, or nil for other hosts (127.0.0.1, localhost …).
function _M.by_host(host)
  return by_host[host]
end

---The tenant an Open API key belongs to, or nil.
function _M.by_key(key)
  return by_key[key]
end

return _M
