-- Benchmark: 1,000,000 customers in 2,000 chunks of 500 through `client.customers:each`, against
-- a raw C loop (bench/raw_paginate.c: libcurl + Debian's cJSON, one chunk after the other).
--   make bench    (server pinned to core 1, this to core 0)
--   taskset -c 0 lua5.4 bench/paginate.lua [ROUNDS]
-- Prints records/s for both, their ratio, and the peak RSS of this Lua process, sampled at every
-- chunk so a growth shows. Goals: ratio ≥ 1.0, peak RSS ≤ 16 MiB and flat.
-- The chunks come from the sandbox's /bench/customers route: one pre-built chunk body whose
-- envelope (offset, hasNext) is filled in per request, so the server costs next to nothing and
-- both sides decode the same bytes.
local studioapi = require "studioapi"
local RUNTIME = rawget(_G, "jit") and jit.version or _VERSION -- "LuaJIT 2.1…" or "Lua 5.4"
local core = require "studioapi.core"
local sandbox = require "spec.support.sandbox"

local CHUNKS = 2000 -- what the sandbox's /bench/customers serves
local ROUNDS = tonumber(arg[1]) or 3
local SLICE = 500
local RAW = os.getenv("RAW_PAGINATE") or "build/bench/raw_paginate"

local info = sandbox.info()
local list_url = info.bench_url .. "/customers"

local function rss_kib()
  local f = io.open("/proc/self/status")
  if not f then return 0 end
  local kib = f:read("*a"):match("VmRSS:%s*(%d+)")
  f:close()
  return tonumber(kib) or 0
end

local function run_raw()
  local cmd = ("%s %q %d %q"):format(RAW, list_url, SLICE, info.ca_file)
  local p = assert(io.popen(cmd))
  local out = p:read("*a")
  assert(p:close(), "raw_paginate failed: " .. out)
  local records, secs = out:match("(%d+) records in %d+ chunks, ([%d.]+) s")
  return tonumber(records), tonumber(secs)
end

local function run_studioapi()
  local client = assert(studioapi.new {
    base_url = info.bench_url, api_key = "bench-key-not-checked", ca_file = info.ca_file,
    retry = false, rate_limit = false,
  })
  collectgarbage()
  local peak, samples = rss_kib(), {}
  local records, chunk_seen = 0, -1
  -- customers:each(q) is customers:list(q):items(); the pager itself shows the chunk count.
  local pager = client.customers:list({ sliceSize = SLICE })
  local quarter = math.max(1, math.floor(CHUNKS / 4))
  local start = core.now()
  for customer in pager:items() do
    records = records + 1
    if customer.id == nil then error("record without id") end
    if pager.chunks ~= chunk_seen then
      chunk_seen = pager.chunks
      local rss = rss_kib()
      if rss > peak then peak = rss end
      if chunk_seen % quarter == 0 then samples[#samples + 1] = rss end
    end
  end
  local elapsed = core.now() - start
  client:close()
  return records, elapsed, peak, samples
end

local best_raw, best_ours, peak_all, samples_all = math.huge, math.huge, 0, nil
for round = 1, ROUNDS do
  local raw_records, raw_secs = run_raw()
  local records, secs, peak, samples = run_studioapi()
  assert(raw_records == records, ("record counts differ: raw %d, studioapi %d")
                                  :format(raw_records, records))
  print(("round %d: raw C %.0f records/s, studioapi %.0f records/s, peak RSS %.1f MiB")
        :format(round, raw_records / raw_secs, records / secs, peak / 1024))
  best_raw = math.min(best_raw, raw_secs)
  best_ours = math.min(best_ours, secs)
  if peak > peak_all then peak_all, samples_all = peak, samples end
end
local records = CHUNKS * SLICE
local rss_line = {}
for i, kib in ipairs(samples_all or {}) do rss_line[i] = ("%.1f"):format(kib / 1024) end
print(("paginate (%s, %d records in %d chunks of %d, best of %d): raw C libcurl+cJSON %.0f " ..
       "records/s, studioapi %.0f records/s, ratio %.2f, peak RSS %.1f MiB (by quarter: %s)")
      :format(RUNTIME, records, CHUNKS, SLICE, ROUNDS, records / best_raw, records / best_ours,
              best_raw / best_ours, peak_all / 1024, table.concat(rss_line, ", ")))
