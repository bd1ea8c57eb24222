-- Renders the sandbox's runtime files from sandbox/tenants.lua; called by sandboxctl (Lua 5.4).
--   lua5.4 sandbox/render.lua conf   → $SBX_PREFIX/conf/nginx.conf
--   lua5.4 sandbox/render.lua info   → $SBX_PREFIX/sandbox.lua (what the specs read)
--   lua5.4 sandbox/render.lua hosts  → the tenants' and the files host names, for the certificate
-- Input comes from the environment: SBX_REPO, SBX_PREFIX, SBX_PORT (conf, info), SBX_WORKERS,
-- SBX_CPU (may be empty), SBX_IPV6, SBX_ROOT, SBX_HTTP2 ("1" or "0") (conf).

local function env(name)
  local v = os.getenv(name)
  if v == nil then error("render.lua: " .. name .. " is not set", 0) end
  return v
end

local repo, prefix = env("SBX_REPO"), env("SBX_PREFIX")

-- the host of the signed image and document URLs (sandbox.urls.HOST)
local FILES_HOST = "files.localhost"

-- nginx would read "$" as a variable and the rest as syntax: refuse such paths up front
for _, path in ipairs({ repo, prefix }) do
  if path:find('[%c"\\$;{}]') then
    error("render.lua: the path '" .. path .. "' has characters nginx cannot take", 0)
  end
end

-- A bad SANDBOX_CUSTOMERS or tenants file is the user's to fix: a message, not a traceback.
local ok, conf = pcall(dofile, repo .. "/sandbox/tenants.lua")
if not ok then
  io.stderr:write("sandboxctl: ", tostring(conf), "\n")
  os.exit(1)
end

-- Writes via a temporary file so that a reader never sees half a file.
local function write(path, text)
  local f = assert(io.open(path .. ".tmp", "w"))
  assert(f:write(text))
  assert(f:close())
  assert(os.rename(path .. ".tmp", path))
end

-- SANDBOX_BENCH_CHUNKS: the chunks of 500 customers GET /bench/customers serves.
local function bench_chunks()
  local value = os.getenv("SANDBOX_BENCH_CHUNKS")
  if not value or value == "" then return "2000" end
  local n = tonumber(value:match("^%d+$") or "")
  if not n or n < 1 or n > 1000000 then
    io.stderr:write("sandboxctl: SANDBOX_BENCH_CHUNKS must be an integer from 1 to 1000000, not '",
      value, "'\n")
    os.exit(1)
  end
  return ("%d"):format(n)
end

local function render_conf()
  local port = env("SBX_PORT")
  local any = select(2, next(conf.tenants))
  local cpu, workers = env("SBX_CPU"), tonumber(env("SBX_WORKERS"))
  local affinity = ""
  if cpu ~= "" then
    -- one mask per worker, all on the same core: "10" = core 1
    local mask = "1" .. ("0"):rep(tonumber(cpu))
    affinity = "worker_cpu_affinity" .. (" " .. mask):rep(workers) .. ";"
  end
  local suffix = env("SBX_HTTP2") == "1" and " ssl http2;" or " ssl;"
  local listen = "    listen 127.0.0.1:" .. port .. suffix
  if env("SBX_IPV6") == "1" then listen = listen .. "\n    listen [::1]:" .. port .. suffix end
  local values = {
    -- as root, workers run as root too: the default "nobody" may not read the repo or prefix
    user_line = env("SBX_ROOT") == "1" and "user root;" or "",
    workers = ("%d"):format(workers),
    affinity_line = affinity,
    customers = ("%d"):format(any.customers),
    rate_limit = ("%.15g"):format(conf.rate_limit.limit),
    rate_window = ("%.15g"):format(conf.rate_limit.window),
    lockout = ("%.15g"):format(conf.rate_limit.lockout),
    lua_dir = repo .. "/sandbox/lua",
    api_lua_dir = repo .. "/lua",
    bench_chunks = bench_chunks(),
    tenants_file = ("%q"):format(repo .. "/sandbox/tenants.lua"),
    bench_dir = ("%q"):format(prefix .. "/bench"),
    store_dir = ("%q"):format(prefix .. "/store"),
    ca_file = '"' .. prefix .. '/ca.pem"',
    listen_lines = listen,
    cert_file = '"' .. prefix .. '/tls/server.pem"',
    key_file = '"' .. prefix .. '/tls/server.key"',
    prefix = '"' .. prefix .. '"',
  }
  local f = assert(io.open(repo .. "/sandbox/nginx.conf.in"))
  local template = f:read("a")
  f:close()
  local text = template:gsub("%${([%w_]+)}", function(name)
    return assert(values[name], "render.lua: no value for ${" .. name .. "}")
  end)
  write(prefix .. "/conf/nginx.conf", text)
end

local function render_info()
  local port = env("SBX_PORT")
  local names = {}
  for name in pairs(conf.tenants) do names[#names + 1] = name end
  table.sort(names)
  local out = {
    "-- Written by sandbox/sandboxctl start, removed by stop: the running sandbox, for the specs.",
    "return {",
    ("  port = %s, ca_file = %q,"):format(port, prefix .. "/ca.pem"),
    ("  admin_key = %q,"):format(conf.admin_key),
    "  tenants = {",
  }
  for _, name in ipairs(names) do
    local t = conf.tenants[name]
    out[#out + 1] = ("    %s = { base_url = %q, api_key = %q, webhook_key = %q },")
      :format(name, ("https://%s:%s/v1"):format(t.host, port), t.api_key, t.webhook_key)
  end
  out[#out + 1] = "  },"
  out[#out + 1] = ("  bench_url = %q,  -- static files, no key check")
    :format("https://127.0.0.1:" .. port .. "/bench")
  out[#out + 1] = ("  files_host = %q,  -- the host of the signed image and document URLs")
    :format(FILES_HOST)
  out[#out + 1] = "}\n"
  write(prefix .. "/sandbox.lua", table.concat(out, "\n"))
end

-- Every host name the certificate names besides localhost: the tenants' and the files host.
local function hosts()
  local list = { FILES_HOST }
  for _, t in pairs(conf.tenants) do list[#list + 1] = t.host end
  table.sort(list)
  return list
end

local ACTIONS = {
  conf = render_conf,
  info = render_info,
  hosts = function() print(table.concat(hosts(), "\n")) end,
}

local action = ACTIONS[arg[1]]
if not action then
  io.stderr:write("usage: lua5.4 sandbox/render.lua conf|info|hosts\n")
  os.exit(2)
end
action()
