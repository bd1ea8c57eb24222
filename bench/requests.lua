-- Benchmark: sequential keep-alive HTTPS GETs of a ~1 KB JSON body, decoded to Lua tables,
-- against the same workload from a raw C libcurl loop (bench/raw_curl.c, cJSON), back to back.
--   make bench    (starts the sandbox pinned to core 1 and runs this pinned to core 0)
--   taskset -c 0 lua5.4 bench/requests.lua [COUNT] [ROUNDS]
-- Goal: studioapi ≥ 0.95× the raw loop. The server is nginx serving a static file, so the loopback
-- round trip bounds both sides and any per-request overhead of ours shows directly.
local studioapi = require "studioapi"
local RUNTIME = rawget(_G, "jit") and jit.version or _VERSION -- "LuaJIT 2.1…" or "Lua 5.4"
local core = require "studioapi.core"
local sandbox = require "spec.support.sandbox"

local COUNT = tonumber(arg[1]) or 20000
local ROUNDS = tonumber(arg[2]) or 3
local RAW = os.getenv("RAW_CURL") or "build/bench/raw_curl"

local info = sandbox.info()
local url = info.bench_url .. "/customer.json"

local function run_raw()
  local cmd = ("%s %q %d %q"):format(RAW, url, COUNT, info.ca_file)
  local p = assert(io.popen(cmd))
  local out = p:read("*a")
  assert(p:close(), "raw_curl failed: " .. out)
  return assert(tonumber(out:match("in ([%d.]+) s")), out)
end

local function run_studioapi()
  local client = assert(studioapi.new {
    base_url = info.bench_url, api_key = "bench-key-not-checked", ca_file = info.ca_file,
    retry = false, rate_limit = false,
  })
  assert(client:get("/customer.json")) -- connect and handshake outside the timing, as raw_curl's
                                       -- first request is inside it: a wash over 20,000
  local get = client.get
  local start = core.now()
  for _ = 1, COUNT do
    local customer = get(client, "/customer.json")
    if type(customer) ~= "table" then error("request failed") end
  end
  local elapsed = core.now() - start
  client:close()
  return elapsed
end

local function median(t)
  table.sort(t)
  return t[math.ceil(#t / 2)]
end

local raw, ours = {}, {}
for round = 1, ROUNDS do
  raw[round] = run_raw()
  ours[round] = run_studioapi()
  print(("round %d: raw_curl %.0f req/s, studioapi %.0f req/s"):format(
    round, COUNT / raw[round], COUNT / ours[round]))
end
local raw_rate, our_rate = COUNT / median(raw), COUNT / median(ours)
print(("requests (%s, %d sequential GETs, median of %d): raw C libcurl+cJSON %.0f req/s, " ..
       "studioapi %.0f req/s, ratio %.2f"):format(RUNTIME, COUNT, ROUNDS, raw_rate, our_rate,
                                                  our_rate / raw_rate))
