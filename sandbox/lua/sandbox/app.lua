-- The sandbox's entry points, called from the rendered nginx.conf:
--   init (master, once)  init_worker  handle (content phase)  log (log phase)
-- A request passes: tenant and key → HEAD answer → key required → route → handler.
-- Rate limits and fault injection belong between the key check and the route.

local config = require "sandbox.config"
local customers = require "sandbox.customers"
local json = require "sandbox.json"
local lang = require "sandbox.lang"
local reqlog = require "sandbox.reqlog"
local respond = require "sandbox.respond"
local routes = require "sandbox.routes"

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

---Runs in the master before the workers fork: they inherit the loaded modules and config.
function _M.init(opts)
  config.load(opts.tenants)
  write_bench_file(opts.bench_dir)
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

local function handle(req, handler, c1, c2)
  local ok, err = pcall(handler, req, c1, c2)
  if not ok then
    ngx.log(ngx.ERR, "sandbox: ", req.method, " ", req.path, ": ", err)
    return respond.error(req, 500, "error.server.internal")
  end
end

function _M.handle()
  local headers = ngx.req.get_headers(200)
  local host_tenant = config.by_host(ngx.var.host)
  local tenant = tenant_of(headers["x-api-key"], host_tenant)
  local known = tenant or host_tenant
  local default = known and known.language or "en"
  local req = {
    method = ngx.req.get_method(), path = ngx.var.uri, tenant = tenant,
    lang = lang.resolve(headers["accept-language"], default),
  }
  ngx.ctx.sandbox = req

  -- HEAD only checks the key, on any path: nothing else happens
  if req.method == "HEAD" then return respond.raw(req, tenant and 200 or 401, "") end
  if not tenant then return respond.error(req, 401, "error.authentication.invalid_api_key") end

  req.args = ngx.req.get_uri_args(200)
  local handler, c1, c2 = routes.find(req.method, req.path)
  if not handler then return respond.no_route(req) end
  return handle(req, handler, c1, c2)
end

function _M.log()
  local req = ngx.ctx.sandbox
  if not req then return end
  reqlog.record(req.tenant and req.tenant.name or "-", req.method, req.path, ngx.status,
    tonumber(ngx.var.request_time) or 0)
end

return _M
