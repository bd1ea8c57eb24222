-- The retry policy in C (docs/internals.md, "Resilience"): what is retried, when, how often, and
-- what never is. What reached the server is counted in the sandbox's request log, never guessed
-- from timings; delays come from the events and the log's arrival times, never from speed.
local studioapi = require "studioapi"
local core = require "studioapi.core"
local sandbox = require "spec.support.sandbox"

local acme = sandbox.tenant("acme")

-- A client of acme; `events` (a table), when given, collects every event.
local function new_client(extra, events)
  extra = extra or {}
  if events then extra.on_event = function(ev) events[#events + 1] = ev end end
  return assert(studioapi.new(sandbox.client_options("acme", extra)))
end

local logged = sandbox.logged -- (endpoint [, tenant]): acme's requests to it, in order

local function of_type(events, type)
  local out = {}
  for _, ev in ipairs(events) do
    if ev.type == type then out[#out + 1] = ev end
  end
  return out
end

local INFO = "GET /studios/information"
local ECHO_POST = "POST /_test/echo"
-- the log's times are milliseconds: a gap may look up to 1 ms shorter than it was
local MS = 0.0011

describe("the retry policy", function()
  before_each(function() sandbox.reset() end)
  after_each(function() sandbox.reset() end)

  describe("retries", function()
    it("503 K times, then succeeds, with growing delays within [d/2, d]", function()
      sandbox.fault { endpoint = INFO, kind = "status", status = 503, count = 3 }
      local events = {}
      local client = new_client({ retry = { base_delay = 0.05, max_delay = 1 } }, events)
      local res = assert(client:request { path = "/studios/information" })
      client:close()
      assert.equal(200, res.status)
      assert.equal(4, res.attempts)
      local log = logged(INFO)
      assert.equal(4, #log)
      local retries = of_type(events, "retry")
      assert.equal(3, #retries)
      for n, ev in ipairs(retries) do
        local d = 0.05 * 2 ^ (n - 1)
        assert.equal("503", ev.reason)
        assert.equal(n + 1, ev.attempt)
        assert.equal("GET", ev.method)
        assert.equal("/studios/information", ev.path)
        assert.truthy(ev.delay >= d / 2 and ev.delay <= d, ("delay %g outside [%g, %g]")
          :format(ev.delay, d / 2, d))
        -- the server saw the retry no sooner than the delay, marked as attempt n + 1
        assert.equal(n + 1, log[n + 1].attempt)
        assert.truthy(log[n + 1].time - log[n].time >= ev.delay - MS)
      end
      assert.equal(1, log[1].attempt)
      assert.equal(200, log[4].status)
      -- d doubles, so the third delay (>= 0.1) outgrows the first (<= 0.05) whatever the jitter
      assert.truthy(log[4].time - log[3].time > log[2].time - log[1].time)
    end)

    it("stops after max_attempts and says how many were made", function()
      sandbox.fault { endpoint = INFO, kind = "status", status = 503, count = 10 }
      local client = new_client { retry = { max_attempts = 3, base_delay = 0.01 } }
      local res, err = client:get("/studios/information")
      client:close()
      assert.is_nil(res)
      assert.equal(503, err.status)
      assert.equal("unavailable", err.kind)
      assert.equal(3, err.attempts)
      assert.is_true(err.retryable)
      assert.equal("received", err.outcome)
      assert.equal(3, #logged(INFO))
    end)

    it("502 and 504 and timeouts of a GET", function()
      sandbox.fault { endpoint = INFO, kind = "status", status = 502, count = 1 }
      sandbox.fault { endpoint = INFO, kind = "status", status = 504, count = 1 }
      sandbox.fault { endpoint = INFO, kind = "slow", seconds = 1, count = 1 }
      local events = {}
      local client = new_client({ timeout = 0.3, retry = { base_delay = 0.01 } }, events)
      local res = assert(client:request { path = "/studios/information" })
      client:close()
      assert.equal(4, res.attempts)
      local reasons = {}
      for _, ev in ipairs(of_type(events, "retry")) do reasons[#reasons + 1] = ev.reason end
      assert.same({ "502", "504", "timeout" }, reasons)
    end)

    it("a GET whose connection dropped", function()
      sandbox.fault { endpoint = INFO, kind = "close", count = 2 }
      local events = {}
      local client = new_client({ retry = { base_delay = 0.01 } }, events)
      local res = assert(client:request { path = "/studios/information" })
      client:close()
      assert.equal(200, res.status)
      assert.equal(3, res.attempts)
      assert.equal("network", of_type(events, "retry")[1].reason)
      local log = logged(INFO)
      assert.equal(3, #log)
      assert.same({ 0, 0, 200 }, { log[1].status, log[2].status, log[3].status })
    end)

    it("a POST whose connection was refused, and then says not_sent", function()
      local events = {}
      local client = assert(studioapi.new {
        base_url = "http://127.0.0.1:1/v1", api_key = "k",
        retry = { max_attempts = 3, base_delay = 0.01 },
        on_event = function(ev) events[#events + 1] = ev end,
      })
      local res, err = client:post("/customers", { a = 1 })
      client:close()
      assert.is_nil(res)
      assert.equal("network", err.code)
      assert.equal("not_sent", err.outcome)
      assert.equal(3, err.attempts)
      assert.equal(2, #of_type(events, "retry"))
    end)

    it("a POST the caller declared idempotent", function()
      sandbox.fault { endpoint = ECHO_POST, kind = "status", status = 503, count = 1 }
      local client = new_client { retry = { base_delay = 0.01 } }
      local res = assert(client:request { method = "POST", path = "/_test/echo", json = { a = 1 },
                                          idempotent = true })
      client:close()
      assert.equal(2, res.attempts)
      assert.equal(2, #logged(ECHO_POST))
      assert.equal('{"a":1}', res.json.body) -- the body went out again, whole
    end)

    it("a POST after a 503 with retry_unsafe", function()
      sandbox.fault { endpoint = ECHO_POST, kind = "status", status = 503, count = 1 }
      local client = new_client { retry = { base_delay = 0.01, retry_unsafe = true } }
      local res = assert(client:post("/_test/echo", { a = 1 }))
      client:close()
      assert.equal("POST", res.method)
      assert.equal(2, #logged(ECHO_POST))
    end)
  end)

  describe("never repeats", function()
    it("a POST whose connection dropped: the outcome is unknown", function()
      sandbox.fault { endpoint = ECHO_POST, kind = "close", count = 1 }
      local client = new_client { retry = { base_delay = 0.01 } }
      local res, err = client:post("/_test/echo", { book = 1 })
      assert.is_nil(res)
      assert.equal("network", err.code)
      assert.equal("unknown", err.outcome)
      assert.equal(1, err.attempts)
      assert.is_nil(err.status)
      client:close()
      assert.equal(1, #logged(ECHO_POST))
    end)

    it("a POST on a reused connection that dropped, which libcurl would re-send", function()
      -- libcurl re-sends a request whose reused connection closed before any answer: the
      -- warm-up below makes the POST go out on a reused connection
      sandbox.fault { endpoint = ECHO_POST, kind = "close", count = 1 }
      local client = new_client { retry = { base_delay = 0.01 } }
      assert(client:get("/_test/echo"))
      local res, err = client:post("/_test/echo", { book = 2 })
      assert.is_nil(res)
      assert.equal("unknown", err.outcome)
      assert.equal(1, err.attempts)
      assert(client:get("/_test/echo")) -- and the client carries on
      client:close()
      assert.equal(1, #logged(ECHO_POST))
    end)

    it("a PATCH that got a 503", function()
      sandbox.fault { endpoint = "PATCH /_test/echo", kind = "status", status = 503, count = 1 }
      local client = new_client { retry = { base_delay = 0.01 } }
      local res, err = client:patch("/_test/echo", { a = 1 })
      client:close()
      assert.is_nil(res)
      assert.equal(503, err.status)
      assert.equal(1, err.attempts)
      assert.equal(1, #logged("PATCH /_test/echo"))
    end)

    it("a 4xx", function()
      for _, status in ipairs { 400, 401, 403, 404, 409 } do
        sandbox.reset()
        sandbox.fault { endpoint = INFO, kind = "status", status = status, count = 5 }
        local client = new_client { retry = { base_delay = 0.01 } }
        local res, err = client:get("/studios/information")
        client:close()
        assert.is_nil(res)
        assert.equal(status, err.status)
        assert.equal(1, err.attempts)
        assert.is_false(err.retryable)
        assert.equal(1, #logged(INFO), "status " .. status)
      end
    end)

    it("a 500", function()
      sandbox.fault { endpoint = INFO, kind = "status", status = 500, count = 5 }
      local client = new_client { retry = { base_delay = 0.01 } }
      local _, err = client:get("/studios/information")
      client:close()
      assert.equal(500, err.status)
      assert.equal(1, err.attempts)
      assert.equal(1, #logged(INFO))
    end)

    it("anything with retry = false", function()
      sandbox.fault { endpoint = INFO, kind = "status", status = 503, count = 5 }
      local client = new_client { retry = false }
      local _, err = client:get("/studios/information")
      client:close()
      assert.equal(1, err.attempts)
      assert.equal(1, #logged(INFO))
    end)
  end)

  describe("Retry-After", function()
    it("is honoured as the delay", function()
      local events = {}
      local client = new_client({ retry = { max_attempts = 2, base_delay = 0.01 } }, events)
      local _, err = client:get("/_test/status/503", { retryAfter = 1 })
      client:close()
      assert.equal(2, err.attempts)
      assert.equal(1, err.retry_after)
      assert.equal(1, of_type(events, "retry")[1].delay)
      local log = logged("GET /_test/status/{id}")
      assert.equal(2, #log)
      assert.truthy(log[2].time - log[1].time >= 1 - MS)
    end)

    it("is not waited for when it ends after the budget: the error tells it instead", function()
      local slept = {}
      local client = new_client { retry = { max_elapsed = 1, base_delay = 0.01 },
                                  sleep = function(s) slept[#slept + 1] = s end }
      local _, err = client:get("/_test/status/503", { retryAfter = 5 })
      client:close()
      assert.equal(1, err.attempts)
      assert.equal(5, err.retry_after)
      assert.same({}, slept)
    end)
  end)

  describe("with an injected sleep and clock", function()
    -- a fake clock that only the fake sleep moves: delays are recorded, nothing waits
    local function fake()
      local t = { now = 1000, slept = {} }
      t.clock = function() return t.now end
      t.sleep = function(s)
        t.slept[#t.slept + 1] = s
        t.now = t.now + s
      end
      return t
    end

    it("sleeps through them, with delays within [d/2, d] and growing", function()
      sandbox.fault { endpoint = INFO, kind = "status", status = 503, count = 5 }
      local f = fake()
      local client = new_client { retry = { max_attempts = 6, base_delay = 1, max_delay = 16 },
                                  sleep = f.sleep, clock = f.clock }
      local started = core.now()
      local res = assert(client:request { path = "/studios/information" })
      client:close()
      assert.equal(6, res.attempts)
      assert.equal(5, #f.slept)
      for n, s in ipairs(f.slept) do
        local d = 2 ^ (n - 1)
        assert.truthy(s >= d / 2 and s <= d,
                      ("delay %d: %g outside [%g, %g]"):format(n, s, d / 2, d))
        if n > 1 then assert.truthy(s >= f.slept[n - 1]) end
      end
      assert.truthy(core.now() - started < 15, "the real clock waited the fake delays")
    end)

    it("keeps to max_elapsed on that clock", function()
      sandbox.fault { endpoint = INFO, kind = "status", status = 503, count = 20 }
      local f = fake()
      local client = new_client { retry = { max_attempts = 20, base_delay = 4, max_delay = 4,
                                            max_elapsed = 10 }, sleep = f.sleep, clock = f.clock }
      local _, err = client:get("/studios/information")
      client:close()
      assert.equal(503, err.status)
      assert.truthy(f.now - 1000 <= 10)
      assert.truthy(err.attempts >= 3 and err.attempts <= 6, err.attempts) -- 2..4 s each
      assert.equal(err.attempts, #logged(INFO))
    end)

    it("raises a sleep function's error after cleaning up, and stays usable", function()
      sandbox.fault { endpoint = INFO, kind = "status", status = 503, count = 1 }
      local client = new_client { retry = { base_delay = 0.01 },
                                  sleep = function() error("no sleeping here") end }
      local ok, msg = pcall(client.get, client, "/studios/information")
      assert.is_false(ok)
      assert.truthy(tostring(msg):find("no sleeping here", 1, true))
      assert(client:get("/studios/information"))
      client:close()
    end)

    it("raises when the clock gives something else than a number", function()
      local client = new_client { clock = function() return "noon" end }
      local ok, msg = pcall(client.get, client, "/studios/information")
      assert.is_false(ok)
      assert.truthy(tostring(msg):find("the clock function must return a number, got string", 1,
                                        true))
      client:close()
    end)

    it("refuses to let a hook use its own client", function()
      sandbox.fault { endpoint = INFO, kind = "status", status = 503, count = 1 }
      local client
      client = new_client { retry = { base_delay = 0.01 },
                            sleep = function() client:get("/_test/echo") end }
      local ok, msg = pcall(client.get, client, "/studios/information")
      assert.is_false(ok)
      assert.truthy(tostring(msg):find("cannot be used from its own sleep", 1, true))
      client:close()
    end)
  end)

  describe("events", function()
    it("report each retry and never carry the key", function()
      sandbox.fault { endpoint = INFO, kind = "status", status = 503, count = 2 }
      local events = {}
      local client = new_client({ retry = { base_delay = 0.01 } }, events)
      assert(client:get("/studios/information"))
      client:close()
      local text = {}
      for _, ev in ipairs(events) do
        for k, v in pairs(ev) do text[#text + 1] = tostring(k) .. "=" .. tostring(v) end
      end
      text = table.concat(text, " ")
      assert.is_nil(text:find(acme.api_key, 1, true))
      assert.is_nil(text:find(acme.api_key:sub(1, 8), 1, true))
      assert.equal(2, #of_type(events, "retry"))
      assert.equal("GET /studios/information", of_type(events, "retry")[1].endpoint)
    end)
  end)

  describe("core.new", function()
    local function raises(text, opts)
      local o = sandbox.client_options("acme", opts)
      local ok, msg = pcall(core.new, o)
      assert.is_false(ok)
      assert.truthy(tostring(msg):find(text, 1, true), tostring(msg))
    end

    it("checks the retry options", function()
      raises("unknown option 'retry.max_attempt'", { retry = { max_attempt = 2 } })
      raises("option 'retry.max_attempts' must be an integer from 1 to 100",
             { retry = { max_attempts = 0 } })
      raises("option 'retry.base_delay' must be a number, got string",
             { retry = { base_delay = "1" } })
      raises("option 'retry.retry_unsafe' must be a boolean, got number",
             { retry = { retry_unsafe = 1 } })
      raises("option 'retry' must be a table or false, got boolean", { retry = true })
      raises("option 'sleep' must be a function, got number", { sleep = 1 })
    end)

    it("is checked by studioapi.new first", function()
      local client, err = studioapi.new(sandbox.client_options("acme",
        { retry = { max_attempts = 1.5 } }))
      assert.is_nil(client)
      assert.equal("invalid_argument", err.code)
      assert.truthy(err.message:find("retry.max_attempts", 1, true))
    end)
  end)
end)
