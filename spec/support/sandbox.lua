--- The running sandbox as the specs see it: what `sandbox/sandboxctl start` wrote into
--- $SANDBOX_DIR/sandbox.lua (default build/sandbox, relative to the working directory).
---
---   local sandbox = require "spec.support.sandbox"
---   local acme = sandbox.tenant("acme")   -- { base_url, api_key, webhook_key, ca_file }
---   sandbox.url("/customers")             -- "https://acme.localhost:PORT/v1/customers"
---
--- Runs on Lua 5.4 and LuaJIT. The file is read on every call: a restarted sandbox (new port)
--- is seen at once, and a stopped one (stop removes the file) raises instead of hanging later.

local _M = {}

local NOT_RUNNING = "sandbox not running: run make sandbox-start"

---The path of the file `sandboxctl start` writes.
function _M.path()
  local dir = os.getenv("SANDBOX_DIR")
  if not dir or dir == "" then dir = "build/sandbox" end
  return dir .. "/sandbox.lua"
end

---The table in $SANDBOX_DIR/sandbox.lua: port, ca_file, admin_key, tenants, bench_url.
---Raises "sandbox not running: run make sandbox-start (…)" when there is none.
function _M.info()
  local path = _M.path()
  if not _M.running() then error(("%s (no %s)"):format(NOT_RUNNING, path), 0) end
  -- an empty environment: the file is data, it has no business calling anything
  local chunk, err = loadfile(path, "t", {})
  if not chunk then error(("sandbox: cannot read %s: %s"):format(path, err), 0) end
  return chunk()
end

---True when a sandbox has been started (its file exists); for specs that skip without it.
function _M.running()
  local f = io.open(_M.path(), "r")
  if f then f:close() end
  return f ~= nil
end

---One tenant's connection facts: { base_url, api_key, webhook_key, ca_file }.
function _M.tenant(name)
  local info = _M.info()
  local t = info.tenants[name]
  if not t then error(("sandbox: no tenant '%s'"):format(tostring(name)), 2) end
  return { base_url = t.base_url, api_key = t.api_key, webhook_key = t.webhook_key,
           ca_file = info.ca_file }
end

---The full URL of an API path for a tenant (default "acme"): url("/customers").
function _M.url(path, tenant)
  return _M.tenant(tenant or "acme").base_url .. path
end

---The URL of a static benchmark file: bench_url("customer.json").
function _M.bench_url(file)
  return _M.info().bench_url .. "/" .. file
end

---Options for studioapi.new for a tenant, with `extra` merged over them.
function _M.client_options(tenant, extra)
  local t = _M.tenant(tenant or "acme")
  local opts = { base_url = t.base_url, api_key = t.api_key, ca_file = t.ca_file }
  for k, v in pairs(extra or {}) do opts[k] = v end
  return opts
end

return _M
