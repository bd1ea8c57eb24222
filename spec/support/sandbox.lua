--- The running sandbox as the specs see it: what `sandbox/sandboxctl start` wrote into
--- $SANDBOX_DIR/sandbox.lua (default build/sandbox, relative to the working directory).
---
---   local sandbox = require "spec.support.sandbox"
---   local acme = sandbox.tenant("acme")   -- { base_url, api_key, webhook_key, ca_file }
---   sandbox.url("/customers")             -- "https://acme.localhost:PORT/v1/customers"
---
--- Runs on Lua 5.4 and LuaJIT. The file is read on every call: a restarted sandbox (new port)
--- is seen at once, and a stopped one (stop removes the file) raises instead of hanging later.
---
--- The control API (docs/internals.md, "Resilience") and plain requests go through the curl CLI,
--- never through studioapi: the support code must not depend on the client under test.
---
---   sandbox.reset()                                  -- in after_each of every spec that changes
---   sandbox.limits { limit = 5, window = 2, lockout = 2 }
---   sandbox.fault { kind = "status", status = 503, count = 2, endpoint = "GET /customers" }
---   sandbox.log { tenant = "acme", since = seq }     -- { {seq, time, method, path, …}, … }
---   sandbox.curl("GET", sandbox.url("/customers"), { key = acme.api_key })
---
--- Uploads, signed URLs and webhooks (sandbox/README.md):
---
---   sandbox.parts(res.headers)                       -- x-sandbox-parts of an upload answer
---   sandbox.url_lifetime(2)                          -- signed URLs last 2 s (nil: as the API's)
---   sandbox.webhooks { tenant = "acme", url = "https://hooks.localhost:PORT/webhooks" }
---   sandbox.send_webhook { tenant = "acme", type = "CUSTOMER_UPDATED", entityId = 1008 }
---   sandbox.webhook_log { tenant = "acme", since = seq }  -- { {seq, uuid, type, status, …}, … }

local cjson = require "cjson"

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

-- The CLI gets its arguments through a shell: quote each one whole.
local function quote(s)
  return "'" .. tostring(s):gsub("'", [['\'']]) .. "'"
end

---One request with the curl CLI. opts: key (x-api-key), headers (array of "Name: value"), body
---(string), timeout (seconds, default 10). Returns { status (0 when nothing was answered),
---headers (lower-case names), body, exit (curl's exit code: 52 = empty reply), seconds }.
function _M.curl(method, url, opts)
  opts = opts or {}
  -- `make asan` preloads the sanitizer for the module under test; the curl CLI is not that, and
  -- under the preload it can hang on a lock before it sends anything
  local args = { "env -u LD_PRELOAD curl", "-sS", "-i", "--cacert", quote(_M.info().ca_file),
    "--max-time", quote(opts.timeout or 10), "-w", quote("\n@@%{http_code} %{time_total}") }
  -- -X HEAD would make curl wait for a body that never comes; -I knows better
  args[#args + 1] = method == "HEAD" and "-I" or "-X " .. quote(method)
  if opts.key then args[#args + 1] = "-H " .. quote("x-api-key: " .. opts.key) end
  for _, h in ipairs(opts.headers or {}) do args[#args + 1] = "-H " .. quote(h) end
  if opts.body then args[#args + 1] = "--data-binary " .. quote(opts.body) end
  args[#args + 1] = quote(url)
  local p = assert(io.popen(table.concat(args, " ") .. " 2>/dev/null; printf ' %d' $?"))
  local out = p:read("*a")
  p:close()
  local text, status, seconds, exit = out:match("^(.*)\n@@(%d+) ([%d.]+) (%d+)$")
  if not text then error("sandbox.curl: cannot read curl's output: " .. out, 2) end
  local head, body = text:match("^(.-)\r\n\r\n(.*)$")
  local res = { status = tonumber(status), headers = {}, body = body or "",
                exit = tonumber(exit), seconds = tonumber(seconds) }
  for name, value in (head or ""):gmatch("\n([^:\r\n]+):%s*([^\r\n]*)") do
    res.headers[name:lower()] = value
  end
  return res
end

---A control call: method, path under /_sandbox/ ("/reset"), an optional table sent as JSON.
---Returns the decoded answer and the status; raises when there is no JSON answer.
function _M.control(method, path, body)
  local info = _M.info()
  local res = _M.curl(method, ("https://127.0.0.1:%d/_sandbox%s"):format(info.port, path), {
    key = info.admin_key, body = body and cjson.encode(body),
    headers = body and { "Content-Type: application/json" },
  })
  local ok, value = pcall(cjson.decode, res.body)
  if not ok then error(("sandbox: %s %s answered %d: %s"):format(method, path, res.status,
    res.body), 2) end
  return value, res.status
end

-- A control call that must succeed.
local function must(method, path, body)
  local value, status = _M.control(method, path, body)
  if status ~= 200 then
    error(("sandbox: %s %s answered %d: %s"):format(method, path, status,
      tostring(value.errorMessage)), 3)
  end
  return value
end

---Back to the configured limits, no faults, no lockouts, an empty log. Returns the state.
function _M.reset() return must("POST", "/reset") end

---Sets {limit, window, lockout} (fields left out keep their value); returns all three.
function _M.limits(limits) return must("POST", "/limits", limits) end

---Adds a fault {endpoint?, tenant?, kind, count?, probability?, seed?, status?, seconds?};
---returns it with its id.
function _M.fault(fault) return must("POST", "/faults", fault) end

---The requests the sandbox logged {tenant?, since?}: an array, oldest first.
function _M.log(filter)
  filter = filter or {}
  local query = {}
  if filter.tenant then query[#query + 1] = "tenant=" .. filter.tenant end
  if filter.since then query[#query + 1] = ("since=%d"):format(filter.since) end
  local path = "/log" .. (query[1] and "?" .. table.concat(query, "&") or "")
  return must("GET", path).requests
end

---What the sandbox logged for one endpoint ("GET /studios/information") of a tenant (default
-- acme), in order of arrival; seq breaks ties of the same millisecond.
function _M.logged(endpoint, tenant)
  local out = {}
  for _, r in ipairs(_M.log { tenant = tenant or "acme" }) do
    if r.endpoint == endpoint then out[#out + 1] = r end
  end
  table.sort(out, function(a, b) return a.time < b.time or (a.time == b.time and a.seq < b.seq) end)
  return out
end

---Current limits, faults (with used and draws), lockouts and counters, the URL lifetime and the
---webhook registrations.
function _M.state() return must("GET", "/state") end

---What x-sandbox-parts says about an upload's parts (headers with lower-case names, as
---sandbox.curl and the client give them): { {name, filename, content_type, size, sha256,
---json}, … }, or nil when the header is absent.
function _M.parts(headers)
  local raw = headers and headers["x-sandbox-parts"]
  return raw and cjson.decode(raw) or nil
end

---Signed URLs made from now on last `seconds` (nil: the config's, or the API's 900 s).
function _M.url_lifetime(seconds)
  return must("POST", "/url-lifetime", { seconds = seconds == nil and cjson.null or seconds })
end

---Registers where a tenant's webhooks go: {tenant, url (false: nowhere), retries?, interval?};
---returns the registration. A reset goes back to the config's (none).
function _M.webhooks(spec)
  local body = {}
  for k, v in pairs(spec) do body[k] = v end
  if body.url == false then body.url = cjson.null end
  return must("POST", "/webhooks", body)
end

---Sends one event now: {tenant, type, entityId, content?, uuid?, key? (false: no key), body?,
---url?}; returns the delivery after its first attempt {seq, uuid, status, attempts, state, …}.
function _M.send_webhook(spec)
  return must("POST", "/webhooks/send", spec)
end

---The deliveries {tenant?, since?}: an array, oldest first. `state` is pending, retrying,
---delivered or failed; `status` what the receiver answered last (0: no answer).
function _M.webhook_log(filter)
  filter = filter or {}
  local query = {}
  if filter.tenant then query[#query + 1] = "tenant=" .. filter.tenant end
  if filter.since then query[#query + 1] = ("since=%d"):format(filter.since) end
  local path = "/webhooks/log" .. (query[1] and "?" .. table.concat(query, "&") or "")
  return must("GET", path).deliveries
end

return _M
