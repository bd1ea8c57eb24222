-- The per-endpoint rate limiter in C (docs/internals.md, "Resilience"), against the sandbox's
-- limits: what reached the server is read from its request log (arrival times, statuses), never
-- inferred from speed. Each test uses endpoints of its own: the limiter's registry is
-- process-wide, so a lockout one test leaves behind must not hold up the next.
local studioapi = require "studioapi"
local core = require "studioapi.core"
local sandbox = require "spec.support.sandbox"

local acme = sandbox.tenant("acme")
-- the log's times are milliseconds: a gap may look up to 1 ms shorter than it was
local MS = 0.0011

local function new_client(extra, events, tenant)
  extra = extra or {}
  if events then extra.on_event = function(ev) events[#events + 1] = ev end end
  return assert(studioapi.new(sandbox.client_options(tenant or "acme", extra)))
end

-- What the sandbox logged for `endpoint` (of acme, unless `tenant`), in order of arrival.
local logged = sandbox.logged -- (endpoint [, tenant]): acme's requests to it, in order

local function count(log, status)
  local n = 0
  for _, r in ipairs(log) do
    if r.status == status then n = n + 1 end
  end
  return n
end

-- The most arrivals in any window of `window` seconds (half-open, as a fixed window counts).
local function busiest(log, window)
  local most, j = 0, 1
  for i = 1, #log do
    while log[i].time - log[j].time >= window - MS do j = j + 1 end
    if i - j + 1 > most then most = i - j + 1 end
  end
  return most
end

local function of_type(events, type)
  local out = {}
  for _, ev in ipairs(events) do
    if ev.type == type then out[#out + 1] = ev end
  end
  return out
end

describe("the rate limiter", function()
  before_each(function() sandbox.reset() end)
  after_each(function() sandbox.reset() end)

  it("runs a burst of 3 x limit without a 429 and never more than limit per window", function()
    sandbox.limits { limit = 20, window = 2, lockout = 2 }
    local events = {}
    local client = new_client({ rate_limit = { limit = 20, window = 2 } }, events)
    for _ = 1, 60 do assert(client:get("/studios/information")) end
    client:close()
    local log = logged("GET /studios/information")
    assert.equal(60, #log)
    assert.equal(60, count(log, 200))
    assert.truthy(busiest(log, 2) <= 20, "busiest window: " .. busiest(log, 2))
    local throttles = of_type(events, "throttle")
    assert.truthy(#throttles >= 2)
    for _, ev in ipairs(throttles) do
      assert.equal("limit", ev.reason)
      assert.equal("GET /studios/information", ev.endpoint)
      assert.truthy(ev.wait > 0 and ev.wait <= 2.05, ev.wait)
    end
  end)

  it("waits for a slot within max_wait", function()
    local events = {}
    local client = new_client({ rate_limit = { limit = 2, window = 0.5 } }, events)
    for _ = 1, 3 do assert(client:request { method = "HEAD", path = "/_rl/wait" }) end
    client:close()
    local log = logged("HEAD /_rl/wait")
    assert.equal(3, #log)
    assert.truthy(log[3].time - log[1].time >= 0.5 - MS)
    assert.equal(1, #of_type(events, "throttle"))
  end)

  it("fails fast with retry_after when max_wait is 0, sending nothing", function()
    local slept = {}
    local client = new_client { rate_limit = { limit = 3, window = 2, max_wait = 0 },
                                sleep = function(s) slept[#slept + 1] = s end }
    for _ = 1, 3 do assert(client:request { method = "HEAD", path = "/_rl/fast" }) end
    local res, err = client:request { method = "HEAD", path = "/_rl/fast" }
    client:close()
    assert.is_nil(res)
    assert.equal("rate_limited", err.code)
    assert.is_nil(err.status)
    assert.equal("not_sent", err.outcome)
    assert.equal(0, err.attempts)
    assert.is_true(err.retryable)
    assert.truthy(err.retry_after > 0 and err.retry_after <= 2.05, err.retry_after)
    assert.truthy(err.message:find("HEAD /_rl/fast", 1, true))
    assert.same({}, slept)
    assert.equal(3, #logged("HEAD /_rl/fast"))
  end)

  it("shares one budget between clients with the same key", function()
    sandbox.limits { limit = 10, window = 1, lockout = 2 }
    local a = new_client { rate_limit = { limit = 10, window = 1 } }
    local b = new_client { rate_limit = { limit = 10, window = 1 } }
    for k = 1, 30 do assert((k % 2 == 0 and a or b):get("/_test/empty")) end
    a:close()
    b:close()
    local log = logged("GET /_test/empty")
    assert.equal(30, count(log, 200))
    assert.truthy(busiest(log, 1) <= 10, "busiest window: " .. busiest(log, 1))
  end)

  it("keeps the budgets of different keys apart", function()
    local events = {}
    local a = new_client({ rate_limit = { limit = 5, window = 2 } }, events)
    local z = new_client({ rate_limit = { limit = 5, window = 2 } }, events, "zenith")
    for _ = 1, 5 do
      assert(a:request { method = "HEAD", path = "/_rl/keys" })
      assert(z:request { method = "HEAD", path = "/_rl/keys" })
    end
    a:close()
    z:close()
    assert.equal(0, #of_type(events, "throttle"))
  end)

  it("locks an endpoint on a 429, waits the lockout out and retries", function()
    -- the sandbox allows fewer than the client thinks: as if another process used the key
    sandbox.limits { limit = 3, window = 1, lockout = 1 }
    local events = {}
    local client = new_client({ rate_limit = { limit = 100, window = 1, max_wait = 5 } }, events)
    for _ = 1, 3 do assert(client:get("/customers/1008")) end
    local res = assert(client:request { path = "/customers/1008" })
    client:close()
    assert.equal(2, res.attempts)
    local lockouts = of_type(events, "lockout")
    assert.equal(1, #lockouts)
    assert.equal("GET /customers/{id}", lockouts[1].endpoint)
    assert.truthy(lockouts[1].seconds > 0 and lockouts[1].seconds <= 1.05)
    assert.equal("429", of_type(events, "retry")[1].reason)
    local log = logged("GET /customers/{id}")
    assert.equal(5, #log)
    assert.same({ 429, 1 }, { log[4].status, log[4].attempt })
    assert.same({ 200, 2 }, { log[5].status, log[5].attempt })
    assert.truthy(log[5].time - log[4].time >= lockouts[1].seconds - MS)
  end)

  it("locks for its lockout option when a 429 has no Retry-After", function()
    local events = {}
    local client = new_client({ retry = { max_attempts = 2 },
                                rate_limit = { lockout = 0.3, max_wait = 5 } }, events)
    local _, err = client:get("/_test/status/429")
    client:close()
    assert.equal(429, err.status)
    assert.equal("rate_limited", err.kind)
    assert.equal(2, err.attempts)
    assert.truthy(err.retry_after > 0.25 and err.retry_after <= 0.31, err.retry_after)
    local lockouts = of_type(events, "lockout")
    assert.equal(2, #lockouts)
    -- the option, plus a margin of 1 % for a server clock a little behind
    assert.truthy(lockouts[1].seconds >= 0.3 and lockouts[1].seconds <= 0.31, lockouts[1].seconds)
    local log = logged("GET /_test/status/{id}")
    assert.equal(2, #log)
    assert.truthy(log[2].time - log[1].time >= 0.3 - MS)
    core.sleep(0.31) -- leave the endpoint unlocked for whatever comes next
  end)

  it("keeps other endpoints flowing while one is locked", function()
    sandbox.limits { limit = 3, window = 2, lockout = 1 }
    local client = new_client { rate_limit = { limit = 100, window = 2, max_wait = 0 } }
    for _ = 1, 3 do assert(client:get("/customers/1008/contracts")) end
    local _, err = client:get("/customers/1008/contracts")
    assert.equal(429, err.status)
    assert.equal("received", err.outcome)
    assert.truthy(err.retry_after > 0 and err.retry_after <= 2.05, err.retry_after)
    local res, again = client:get("/customers/1008/contracts")
    assert.is_nil(res)
    assert.equal("rate_limited", again.code)
    assert.equal("not_sent", again.outcome)
    assert.truthy(client:get("/employees")) -- another endpoint: not held up
    client:close()
    assert.equal(4, #logged("GET /customers/{id}/contracts"))
    assert.equal(1, #logged("GET /employees"))
  end)

  it("off, still honours the sandbox's lockout: nothing is sent until it ends", function()
    sandbox.limits { limit = 5, window = 1, lockout = 2 }
    local client = new_client { rate_limit = false }
    local results, first429, deadline = {}, nil, core.now() + 6
    repeat
      local res, err = client:get("/employees/503")
      results[#results + 1] = res and 200 or (err.status or err.code)
      if err and err.status == 429 then
        first429 = first429 or err
        assert.equal("rate_limited", err.kind)
        assert.is_true(err.retryable)
      elseif err then
        assert.equal("rate_limited", err.code)
        assert.equal("not_sent", err.outcome)
        assert.truthy(err.retry_after > 0)
      end
      core.sleep(0.02)
    until (first429 and res) or core.now() > deadline
    client:close()
    assert.truthy(first429, table.concat(results, " "))
    -- Retry-After 2, plus the margin
    assert.truthy(first429.retry_after >= 2 and first429.retry_after <= 2.05,
                  first429.retry_after)
    local log = logged("GET /employees/{id}")
    assert.equal(1, count(log, 429))
    assert.equal(7, #log) -- 5 passed, the 429, then nothing until the lockout ended
    assert.truthy(log[7].time - log[6].time >= 2 - MS)
  end)

  it("names endpoints as the server does: ids and UUIDs as {id}, no query", function()
    local events = {}
    local client = new_client({ rate_limit = { limit = 1, window = 0.2 } }, events)
    local path = "/_rl/t/123e4567-e89b-12d3-a456-426614174000/items/42"
    assert(client:request { method = "HEAD", path = path, query = { x = 1 } })
    assert(client:request { method = "HEAD", path = path })
    client:close()
    local ev = of_type(events, "throttle")[1]
    assert.equal("HEAD /_rl/t/{id}/items/{id}", ev.endpoint)
    assert.equal(path, ev.path)
    assert.equal(2, #logged(ev.endpoint)) -- the sandbox's name for it is the same
  end)

  it("keeps its memory bounded over many endpoints", function()
    local client = new_client { rate_limit = { limit = 10, window = 0.01 } }
    local _, cap = core.limiter_endpoints()
    for k = 1, cap + 100 do
      assert(client:request { method = "HEAD", path = "/_rl/many/e" .. k })
      assert.truthy(core.limiter_endpoints() <= cap)
    end
    client:close()
  end)

  it("checks its options", function()
    local ok, msg = pcall(core.new, sandbox.client_options("acme", { rate_limit = { limits = 1 } }))
    assert.is_false(ok)
    assert.truthy(msg:find("unknown option 'rate_limit.limits'", 1, true), msg)
    ok, msg = pcall(core.new, sandbox.client_options("acme", { rate_limit = { window = 0 } }))
    assert.is_false(ok)
    assert.truthy(msg:find("option 'rate_limit.window' must be seconds from 0.001", 1, true), msg)
    local client, err = studioapi.new(sandbox.client_options("acme",
      { rate_limit = { limit = 0 } }))
    assert.is_nil(client)
    assert.equal("invalid_argument", err.code)
  end)

  it("puts no key into its events", function()
    local events = {}
    local client = new_client({ rate_limit = { limit = 1, window = 0.1 } }, events)
    for _ = 1, 2 do assert(client:request { method = "HEAD", path = "/_rl/nokey" }) end
    client:close()
    local text = {}
    for _, ev in ipairs(events) do
      for k, v in pairs(ev) do text[#text + 1] = tostring(k) .. "=" .. tostring(v) end
    end
    text = table.concat(text, " ")
    assert.truthy(text:find("type=throttle", 1, true))
    assert.is_nil(text:find(acme.api_key, 1, true))
  end)
end)
