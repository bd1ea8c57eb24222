-- The sandbox's entry points, called from the rendered nginx.conf:
--   init (master, once)  init_worker  handle (content phase)  log (log phase)
-- A request passes: tenant and key → key required (HEAD: 401 without a body) → on /v1: rate
-- limit, then a fault (a faulted request has counted, as the API's counter sees it) → HEAD
-- answer → route → handler. The log phase records it all (sandbox.reqlog).

local config = require "sandbox.config"
local customers = require "sandbox.customers"
local faults = require "sandbox.faults"
local json = require "sandbox.json"
local lang = require "sandbox.lang"
local ratelimit = require "sandbox.ratelimit"
local reqlog = require "sandbox.reqlog"
local respond = require "sandbox.respond"
local routes = require "sandbox.routes"
local store = require "sandbox.store"
local urls = require "sandbox.urls"

local ngx = ngx

local _M = {}

-- The ~1 KB customer that the static /bench/ location serves, from the same generator as the API.
local function write_bench_file(dir)
  local tenant = config.tenants.acme
  local body = json.encode(customers.customer(tenant, 1, "DECIMAL"))
  local path = dir .. "/customer.json"
  local f = assert(io.open(path .. ".tmp", "wb"))
  assert(f:write(body))
  assert(f:close())
  assert(os.rename(path .. ".tmp", path))
end

-- The per-start secret of the signed URLs: 32 random bytes.
local function new_secret()
  local f = assert(io.open("/dev/urandom", "rb"))
  local s = f:read(32)
  f:close()
  assert(s and #s == 32, "cannot read /dev/urandom")
  return s
end

---Runs in the master before the workers fork: they inherit the loaded modules and config.
function _M.init(opts)
  config.load(opts.tenants)
  write_bench_file(opts.bench_dir)
  store.init(opts.store_dir)
  urls.init(new_secret(), config.url_lifetime)
end

function _M.init_worker()
  -- trace ids must differ between workers and runs
  math.randomseed(ngx.now() * 1000 + ngx.worker.pid())
end

-- The tenant a request's key opens, or nil. On a tenant's host only that tenant's key counts;
-- on other hosts (127.0.0.1, localhost) the key alone decides.
local function tenant_of(key, host_tenant)
  if type(key) ~= "string" then return nil end -- absent, or sent twice
  local tenant = config.by_key(key)
  if host_tenant and tenant ~= host_tenant then return nil end
  return tenant
end

local function handle(req, handler, ...)
  local ok, err = pcall(handler, req, ...)
  if not ok then
    ngx.log(ngx.ERR, "sandbox: ", req.method, " ", req.path, ": ", err)
    return respond.error(req, 500, "error.server.internal")
  end
end

-- The attempt number a retrying client sends (x-studioapi-attempt), else 1.
local function attempt(value)
  local n = type(value) == "string" and tonumber(value:match("^%d+$") or "")
  return n and n >= 1 and n or 1
end

-- Rate limit, then faults; returns only when the request goes on to its route.
local function misbehave(req)
  local wait = ratelimit.check(req.tenant.name, req.endpoint)
  if wait then
    return respond.error(req, 429, "error.request.rate_limited", nil, nil,
      { ["Retry-After"] = ("%d"):format(math.max(1, math.ceil(wait))) })
  end
  local fault = faults.pick(req)
  if not fault then return end
  if fault.kind == "close" then return ngx.exit(444) end
  if fault.kind == "status" then
    local status = fault.status
    local reference = status == 400 and "fault" or nil -- a 400 names a field
    return respond.error(req, status, respond.ERROR_CODES[status],
      { field = reference, method = req.method, path = req.path }, reference)
  end
  ngx.sleep(fault.seconds) -- slow: then answer as usual
end

function _M.handle()
  local headers = ngx.req.get_headers(200)
  local host_tenant = config.by_host(ngx.var.host)
  local tenant = tenant_of(headers["x-api-key"], host_tenant)
  local known = tenant or host_tenant
  local default = known and known.language or "en"
  local method, path = ngx.req.get_method(), ngx.var.uri
  local req = {
    method = method, path = path, tenant = tenant,
    lang = lang.resolve(headers["accept-language"], default),
    -- for the log: arrival, not the end; the endpoint as the rate limit counts it
    time = ngx.req.start_time(), endpoint = ratelimit.endpoint(method, path),
    attempt = attempt(headers["x-studioapi-attempt"]),
  }
  ngx.ctx.sandbox = req

  -- HEAD only checks the key, on any path; on /v1 it counts toward the limit like any request
  if not tenant then
    if method == "HEAD" then return respond.raw(req, 401, "") end
    return respond.error(req, 401, "error.authentication.invalid_api_key")
  end
  if path:find("^/v1/") then misbehave(req) end
  if method == "HEAD" then return respond.raw(req, 200, "") end

  req.args = ngx.req.get_uri_args(200)
  local handler, a1, a2, a3 = routes.find(method, path)
  if not handler then return respond.no_route(req) end
  return handle(req, handler, a1, a2, a3)
end

-- The entry is written in the body filter at the end of the answer, before nginx sends its last
-- bytes: a client that has the whole answer can read the log and find it there (the log phase
-- runs after the answer went out, too late for a spec that checks right away). An answer that
-- never reaches a body filter (nginx's 444, a dropped connection) is written in the log phase,
-- as status 0: nothing was answered.
function _M.body_filter()
  if ngx.arg[2] then _M.log() end
end

function _M.log()
  local req = ngx.ctx.sandbox
  if not req or req.logged then return end
  req.logged = true
  local status = ngx.status
  reqlog.record {
    time = math.floor(req.time * 1000 + 0.5) / 1000, tenant = req.tenant and req.tenant.name,
    method = req.method, path = req.path, endpoint = req.endpoint,
    status = status == 444 and 0 or status, attempt = req.attempt,
    -- the request body's size: as parsed (multipart), else as announced
    bytes = req.body_bytes or tonumber(ngx.var.content_length) or 0,
  }
end

return _M
