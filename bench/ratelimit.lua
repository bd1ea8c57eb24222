-- Benchmark: how much of the API's rate limit the client-side limiter uses, and whether it ever
-- trips it. One client sends GETs to one endpoint as fast as the limiter lets it, for a few
-- windows, under a scaled-down limit the sandbox enforces as the API does (fixed windows,
-- lockout after the request over the limit). What reached the server is read from the
-- sandbox's request log (arrival times, statuses).
--   make bench BENCHES=ratelimit   (starts the sandbox; or with one running:)
--   lua5.4 bench/ratelimit.lua [LIMIT] [WINDOW] [WINDOWS]        (default 100 5 3)
-- Goal: >= 95 % of the allowed rate, 0 x 429.
-- Figures: "in the first N windows" = requests that arrived within N windows of the first one,
-- against N x LIMIT; "steady" = WINDOW over the mean time from a request to the one LIMIT
-- later (it can never be shorter than WINDOW): the long-run share, which the burst at the
-- start of every window hides in the first figure.
local studioapi = require "studioapi"
local RUNTIME = rawget(_G, "jit") and jit.version or _VERSION -- "LuaJIT 2.1…" or "Lua 5.4"
local core = require "studioapi.core"
local sandbox = require "spec.support.sandbox"

local LIMIT = tonumber(arg[1]) or 100
local WINDOW = tonumber(arg[2]) or 5
local WINDOWS = tonumber(arg[3]) or 3
local PATH = "/studios/information"
local ENDPOINT = "GET " .. PATH

local function run()
  local client = assert(studioapi.new(sandbox.client_options("acme", {
    rate_limit = { limit = LIMIT, window = WINDOW, max_wait = 2 * WINDOW },
  })))
  local failed = {}
  local stop = core.now() + WINDOWS * WINDOW
  repeat
    local res, err = client:get(PATH)
    if not res then failed[#failed + 1] = tostring(err) end
  until core.now() >= stop
  client:close()
  return failed
end

-- The endpoint's requests in the log, in order of arrival (seq breaks ties of a millisecond).
local function arrivals()
  local out = {}
  for _, r in ipairs(sandbox.log { tenant = "acme" }) do
    if r.endpoint == ENDPOINT then out[#out + 1] = r end
  end
  table.sort(out, function(a, b)
    return a.time < b.time or (a.time == b.time and a.seq < b.seq)
  end)
  return out
end

local function busiest(log)
  local most, j = 0, 1
  for i = 1, #log do
    while log[i].time - log[j].time >= WINDOW do j = j + 1 end
    if i - j + 1 > most then most = i - j + 1 end
  end
  return most
end

local function figures(log)
  local t0, first, refused = log[1].time, 0, 0
  for _, r in ipairs(log) do
    if r.time < t0 + WINDOWS * WINDOW then first = first + 1 end
    if r.status == 429 then refused = refused + 1 end
  end
  local spacing, n, shortest = 0, 0, math.huge
  for i = 1, #log - LIMIT do
    local d = log[i + LIMIT].time - log[i].time
    spacing, n, shortest = spacing + d, n + 1, math.min(shortest, d)
  end
  return { first = first, refused = refused, spacing = n > 0 and spacing / n or nil,
           shortest = shortest, busiest = busiest(log) }
end

sandbox.reset()
sandbox.limits { limit = LIMIT, window = WINDOW, lockout = WINDOW }
local started = core.now()
local failed = run()
local elapsed = core.now() - started
local log = arrivals()
sandbox.reset()

local f = figures(log)
print(("ratelimit (%s, limit %d per %g s, %d windows, %.1f s): %d requests, %d client errors")
  :format(RUNTIME, LIMIT, WINDOW, WINDOWS, elapsed, #log, #failed))
for k = 1, math.min(#failed, 3) do print("  error: " .. failed[k]) end
print(("  in the first %d windows: %d of %d allowed = %.1f %%"):format(WINDOWS, f.first,
  WINDOWS * LIMIT, 100 * f.first / (WINDOWS * LIMIT)))
if f.spacing then
  print(("  steady: %d requests per %.3f s on average (shortest %.3f s) = %.1f %% of the "
    .. "allowed rate"):format(LIMIT, f.spacing, f.shortest, 100 * WINDOW / f.spacing))
end
print(("  busiest %g s window: %d (limit %d); 429s: %d"):format(WINDOW, f.busiest, LIMIT,
  f.refused))
