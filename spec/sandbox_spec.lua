-- The sandbox's rate limits, faults, request log and control API (docs/internals.md,
-- "Resilience"), through the curl CLI only: the client under test plays no part here.
local sandbox = require "spec.support.sandbox"

-- os.execute's results differ between 5.1 and 5.4; sleep(1) fractions work on Debian
local function sleep(seconds)
  os.execute(("sleep %.3f"):format(seconds))
end

-- One request of a tenant (default acme) to a /v1 path with its key; `headers` as for curl.
local function request(method, path, tenant, headers)
  local t = sandbox.tenant(tenant or "acme")
  return sandbox.curl(method, t.base_url .. path, { key = t.api_key, headers = headers })
end

local function get(path, tenant, headers)
  return request("GET", path, tenant, headers)
end

-- `n` requests at once, on as many connections (nginx spreads them over its workers);
-- returns how many got each status.
local function parallel(n, path)
  local t = sandbox.tenant("acme")
  local args = {}
  for k = 1, n do args[k] = "-o /dev/null '" .. t.base_url .. path .. "'" end
  local p = assert(io.popen(("curl -s -Z --parallel-immediate --parallel-max %d --cacert '%s'"
    .. " -H 'x-api-key: %s' -w '%%{http_code}\\n' %s 2>/dev/null")
    :format(n, t.ca_file, t.api_key, table.concat(args, " "))))
  local counts = {}
  for status in p:lines() do counts[status] = (counts[status] or 0) + 1 end
  p:close()
  return counts
end

local function decode(body)
  return require("cjson").decode(body)
end

local function statuses(n, path, tenant)
  local out = {}
  for k = 1, n do out[k] = get(path, tenant).status end
  return table.concat(out, " ")
end

local CUSTOMER = "/customers/1008" -- customer 1 of every tenant

describe("the sandbox", function()
  -- whatever ran before, and for whatever runs after: configured limits, no faults
  before_each(function() sandbox.reset() end)
  after_each(function() sandbox.reset() end)

  describe("rate limit", function()
    it("refuses the request over the limit with the API's 429, then the endpoint until the "
      .. "lockout ends", function()
      sandbox.limits { limit = 5, window = 2, lockout = 2 }
      assert.equal("200 200 200 200 200", statuses(5, CUSTOMER))
      local res = get(CUSTOMER)
      assert.equal(429, res.status)
      assert.equal("2", res.headers["retry-after"])
      local err = decode(res.body)
      assert.equal("error.request.rate_limited", err.errorCode)
      assert.equal("Too many requests: the rate limit is exceeded.", err.errorMessage)
      assert.is_string(err.traceId)

      -- the same endpoint is another id, in another language
      res = get("/customers/1016", "acme", { "Accept-Language: de" })
      assert.equal(429, res.status)
      assert.equal("Zu viele Anfragen: das Limit ist überschritten.",
        decode(res.body).errorMessage)
      assert.equal(200, get("/employees").status, "another endpoint")
      assert.equal(200, get(CUSTOMER, "zenith").status, "another tenant")

      sleep(tonumber(get(CUSTOMER).headers["retry-after"]) + 0.1)
      assert.equal(200, get(CUSTOMER).status)
    end)

    it("counts HEAD as a request to its own endpoint", function()
      sandbox.limits { limit = 2, window = 5, lockout = 1 }
      for _ = 1, 2 do assert.equal(200, request("HEAD", CUSTOMER).status) end
      local res = request("HEAD", CUSTOMER)
      assert.equal(429, res.status)
      assert.equal("", res.body)
      assert.equal(200, get(CUSTOMER).status)
    end)

    it("counts neither requests refused with 401 nor control calls", function()
      sandbox.limits { limit = 2, window = 5, lockout = 1 }
      local t = sandbox.tenant("acme")
      for _ = 1, 3 do
        assert.equal(401, sandbox.curl("GET", t.base_url .. CUSTOMER, { key = "wrong" }).status)
        sandbox.state()
      end
      assert.equal("200 200 429", statuses(3, CUSTOMER))
    end)

    it("lets exactly `limit` requests pass when they come at once, over both workers", function()
      sandbox.limits { limit = 10, window = 5, lockout = 1 }
      assert.same({ ["200"] = 10, ["429"] = 14 }, parallel(24, "/employees"))
      assert.equal(24, #sandbox.log(), "every request logged once")
      local state = sandbox.state()
      assert.equal(1, #state.lockouts)
      assert.equal("GET /employees", state.lockouts[1].endpoint)
      assert.equal("acme", state.lockouts[1].tenant)
    end)

    it("takes its settings from the control API, fields left out keeping theirs", function()
      -- the configured ones (1000 per 60 s, lockout 60 s, unless SANDBOX_RATE_* said otherwise)
      local limits = sandbox.reset().limits
      assert.same({ limit = 7, window = limits.window, lockout = limits.lockout },
        sandbox.limits { limit = 7 })
      assert.same({ limit = 7, window = limits.window, lockout = limits.lockout },
        sandbox.state().limits)
      local res, status = sandbox.control("POST", "/limits", { window = 0 })
      assert.equal(400, status)
      assert.equal("window", res.reference)
    end)
  end)

  describe("faults", function()
    it("answer with a status for the next `count` requests, then normally", function()
      sandbox.fault { kind = "status", count = 2 }
      local res = get(CUSTOMER)
      assert.equal(503, res.status)
      assert.equal("error.server.unavailable", decode(res.body).errorCode)
      assert.equal("503 200", statuses(2, CUSTOMER))
      sandbox.fault { kind = "status", status = 500, count = 1 }
      assert.equal("500 200", statuses(2, CUSTOMER))
    end)

    it("close the connection without an answer", function()
      sandbox.fault { kind = "close", count = 1 }
      local res = get(CUSTOMER)
      assert.equal(52, res.exit) -- curl: empty reply from server
      assert.equal(0, res.status)
      assert.equal(200, get(CUSTOMER).status)
    end)

    it("slow an answer down", function()
      sandbox.fault { kind = "slow", seconds = 0.5, count = 1 }
      local res = get(CUSTOMER)
      assert.equal(200, res.status)
      assert.equal(1008, decode(res.body).id)
      assert.is_true(res.seconds >= 0.5, "took " .. res.seconds)
      assert.is_true(get(CUSTOMER).seconds < 0.5)
    end)

    it("match their endpoint and tenant only", function()
      sandbox.fault { kind = "status", status = 500, endpoint = "GET /customers/{id}",
                      tenant = "zenith" }
      assert.equal(200, get(CUSTOMER).status)
      assert.equal(200, get("/employees", "zenith").status)
      assert.equal(500, get(CUSTOMER, "zenith").status)
      -- HEAD only checks the key: only a fault that names a HEAD endpoint touches it
      sandbox.fault { kind = "status" }
      assert.equal(200, request("HEAD", CUSTOMER).status)
      sandbox.fault { kind = "status", endpoint = "HEAD /customers/{id}" }
      assert.equal(503, request("HEAD", CUSTOMER, "zenith").status)
      -- an endpoint may be given as a path: it is normalised
      local fault = sandbox.fault { kind = "close", endpoint = "GET /v1/employees/503" }
      assert.equal("GET /employees/{id}", fault.endpoint)
    end)

    it("draw a seeded probability: the same sequence after a reset", function()
      local spec = { kind = "status", probability = 0.5, seed = 7, endpoint = "GET /employees" }
      sandbox.fault(spec)
      local first = statuses(16, "/employees")
      sandbox.reset()
      sandbox.fault(spec)
      assert.equal(first, statuses(16, "/employees"))
      assert.matches("200", first)
      assert.matches("503", first)
    end)

    it("take the first one that fires; a faulted request counts toward the limit", function()
      sandbox.limits { limit = 3, window = 5, lockout = 1 }
      sandbox.fault { kind = "status", status = 502, count = 1 }
      sandbox.fault { kind = "status", status = 504, count = 1 }
      assert.equal("502 504 200 429", statuses(4, CUSTOMER))
    end)

    it("fire exactly `count` times when requests come at once", function()
      sandbox.fault { kind = "status", count = 3, endpoint = "GET /employees" }
      assert.same({ ["200"] = 13, ["503"] = 3 }, parallel(16, "/employees"))
      assert.equal(3, sandbox.state().faults[1].used)
    end)

    it("are refused with 400 naming the field when malformed", function()
      for field, fault in pairs {
        kind = { kind = "explode" },
        count = { kind = "close", count = 0 },
        probability = { kind = "close", probability = 2 },
        status = { kind = "status", status = 418 },
        seconds = { kind = "close", seconds = 1 },
        tenant = { kind = "close", tenant = "nobody" },
        endpoint = { kind = "close", endpoint = "/customers" },
        colour = { kind = "close", colour = "red" },
      } do
        local res, status = sandbox.control("POST", "/faults", fault)
        assert.equal(400, status, field)
        assert.equal(field, res.reference)
      end
    end)
  end)

  describe("request log", function()
    it("records each request's method, path, endpoint, status and attempt, oldest first",
      function()
      local before = os.time()
      get(CUSTOMER)
      get(CUSTOMER, "acme", { "x-studioapi-attempt: 3" })
      request("POST", "/_test/echo")
      sandbox.fault { kind = "close", count = 1 }
      get("/employees")
      get(CUSTOMER, "zenith")
      local log = sandbox.log { tenant = "acme" }
      assert.equal(4, #log)
      local e = log[1]
      assert.same({ "GET", "/v1/customers/1008", "GET /customers/{id}", 200, 1, "acme" },
        { e.method, e.path, e.endpoint, e.status, e.attempt, e.tenant })
      assert.equal(3, log[2].attempt)
      assert.equal("POST /_test/echo", log[3].endpoint)
      assert.equal(0, log[4].status) -- dropped
      for k = 2, 4 do assert.is_true(log[k].seq > log[k - 1].seq) end
      assert.is_true(e.time >= before - 1 and e.time <= os.time() + 1)

      assert.equal(5, #sandbox.log())
      local since = sandbox.log { since = log[2].seq }
      assert.equal(3, #since)
      assert.equal(log[3].seq, since[1].seq)
    end)

    it("forgets the requests before a reset, but keeps counting", function()
      get(CUSTOMER)
      local last = sandbox.log()[1].seq
      sandbox.reset()
      assert.same({}, sandbox.log())
      get(CUSTOMER)
      assert.equal(last + 1, sandbox.log()[1].seq)
    end)
  end)

  describe("keys", function()
    it("the admin key opens no /v1 route", function()
      local info = sandbox.info()
      local res = sandbox.curl("GET", sandbox.url(CUSTOMER), { key = info.admin_key })
      assert.equal(401, res.status)
      assert.equal("error.authentication.invalid_api_key", decode(res.body).errorCode)
    end)

    it("a tenant's key opens no control call", function()
      local info = sandbox.info()
      local url = ("https://127.0.0.1:%d/_sandbox/reset"):format(info.port)
      for _, key in ipairs { sandbox.tenant("acme").api_key, "" } do
        local res = sandbox.curl("POST", url, { key = key })
        assert.equal(401, res.status)
        assert.equal("error.authentication.invalid_api_key", decode(res.body).errorCode)
      end
    end)
  end)
end)
