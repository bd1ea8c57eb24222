-- Webhooks end to end: the sandbox sends them, the OpenResty example (examples/openresty: nginx's
-- Lua module, LuaJIT, studioapi.webhook) receives them. A customer created through the API with
-- the client arrives as CUSTOMER_CREATED; the example resolves the tenant from the webhook key and
-- fetches the new customer with receiver:client(tenant). A wrong key is refused before the body
-- is looked at, a repeated uuid is dropped, and the sandbox retries failed deliveries as told.
-- The example server runs in a prefix of its own and is stopped in teardown, also on failure.
local cjson = require "cjson"
local core = require "studioapi.core"
local studioapi = require "studioapi"
local sandbox = require "spec.support.sandbox"

local RUN = "examples/openresty/run"
local WAIT = 10 -- seconds at most for a delivery to be handled

local function quote(s)
  return "'" .. tostring(s):gsub("'", [['\'']]) .. "'"
end

-- os.execute's success on Lua 5.1/LuaJIT (0) and on 5.4 (true).
local function run(cmd)
  local r = os.execute(cmd)
  return r == true or r == 0
end

local function read(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  return s
end

-- Polls `probe` until it returns a value, at most WAIT seconds.
local function eventually(what, probe)
  local deadline = core.now() + WAIT
  repeat
    local value = probe()
    if value then return value end
    core.sleep(0.1)
  until core.now() > deadline
  error("waited " .. WAIT .. " s in vain for " .. what, 2)
end

local UUID4 = "^%x%x%x%x%x%x%x%x%-%x%x%x%x%-4%x%x%x%-[89ab]%x%x%x%-%x%x%x%x%x%x%x%x%x%x%x%x$"

local function new_uuid()
  local hex = {}
  for i = 1, 32 do hex[i] = ("%x"):format(math.random(0, 15)) end
  local s = table.concat(hex)
  return ("%s-%s-4%s-a%s-%s"):format(s:sub(1, 8), s:sub(9, 12), s:sub(14, 16), s:sub(18, 20),
    s:sub(21, 32))
end

describe("webhooks from the sandbox to the OpenResty example", function()
  local dir, env, base, client

  -- What the example's handlers saw: {events, refused, duplicates}.
  local function received()
    local res = sandbox.curl("GET", base .. "/received")
    assert.equal(200, res.status, res.body)
    return cjson.decode(res.body)
  end

  local function event_with(field, value)
    for _, e in ipairs(received().events) do
      if e[field] == value then return e end
    end
    return nil
  end

  local function delivery(uuid)
    for _, d in ipairs(sandbox.webhook_log()) do
      if d.uuid == uuid then return d end
    end
    return nil
  end

  setup(function()
    math.randomseed(os.time() + math.floor(core.now() * 1000) % 100000)
    local base_name = os.tmpname()
    os.remove(base_name)
    dir = base_name .. "-openresty"
    env = ("EXAMPLE_DIR=%s SANDBOX_DIR=%s "):format(quote(dir),
      quote(os.getenv("SANDBOX_DIR") or "build/sandbox"))
    if not run(env .. RUN .. " start >" .. quote(dir .. ".log") .. " 2>&1") then
      local log = read(dir .. ".log") or ""
      run(env .. RUN .. " stop >/dev/null 2>&1")
      error("the example server did not start:\n" .. log
        .. (read(dir .. "/logs/error.log") or ""))
    end
    base = assert(read(dir .. "/url")):match("^(%S+)")
    for _, tenant in ipairs { "acme", "zenith" } do
      sandbox.webhooks { tenant = tenant, url = base .. "/webhooks", retries = 0 }
    end
    client = assert(studioapi.new(sandbox.client_options("acme", { retry = false })))
  end)

  teardown(function()
    if client then client:close() end
    if env then run(env .. RUN .. " stop >/dev/null 2>&1") end
    -- back to no registrations (and the rest of the config)
    pcall(sandbox.reset)
    if dir then run("rm -rf " .. quote(dir) .. " " .. quote(dir .. ".log")) end
  end)

  it("delivers CUSTOMER_CREATED; the example resolves the tenant and fetches the customer",
    function()
    local log = sandbox.log()
    local since = log[#log] and log[#log].seq or 0
    local before = os.time()
    local created = assert(client:call("createCustomer", { body = {
      firstName = "Zoë", lastName = "Hookley", dateOfBirth = "1990-04-01",
      email = "zoe.hookley@example.com", street = "Main Street", houseNumber = "7",
      city = "Springfield", zipCode = "12345", countryCode = "US",
      language = { languageCode = "en" },
    } }))
    local id = created.customerId
    assert.equal("number", type(id))
    -- fetchable at once, by the spec's client too
    local customer = assert(client:call("getCustomerById", { customerId = id }))
    assert.equal("Zoë", customer.firstName)
    assert.equal("PROSPECT", customer.status)

    local event = eventually("CUSTOMER_CREATED " .. id, function()
      local e = event_with("entityId", id)
      return e and (e.fetched or e.fetch_error) and e
    end)
    assert.equal("CUSTOMER_CREATED", event.type)
    assert.equal("acme", event.tenant) -- from the webhook key alone
    assert.is_nil(event.fetch_error)
    assert.same({ id = id, firstName = "Zoë", lastName = "Hookley",
                  email = "zoe.hookley@example.com", status = "PROSPECT" }, event.fetched)
    assert.truthy(event.uuid:find(UUID4), event.uuid)
    local ms = event.timestamp_ms
    assert.is_true(ms >= (before - 5) * 1000 and ms <= (os.time() + 5) * 1000, tostring(ms))

    local d = delivery(event.uuid)
    assert.same({ "acme", "CUSTOMER_CREATED", id, 200, 1, "delivered" },
      { d.tenant, d.type, d.entityId, d.status, d.attempts, d.state })
    -- the example called the Open API with acme's key for that customer
    local fetched = false
    for _, r in ipairs(sandbox.log { tenant = "acme", since = since }) do
      if r.method == "GET" and r.path == "/v1/customers/" .. id and r.status == 200 then
        fetched = true
      end
    end
    assert.is_true(fetched, "no GET /v1/customers/" .. id .. " from acme in the request log")
  end)

  it("resolves each tenant from its own webhook key", function()
    local sent = sandbox.send_webhook { tenant = "zenith", type = "CUSTOMER_UPDATED",
                                        entityId = 1008 }
    assert.equal(200, sent.status)
    local event = eventually("the zenith event", function()
      return event_with("uuid", sent.uuid)
    end)
    assert.equal("zenith", event.tenant)
    assert.equal("CUSTOMER_UPDATED", event.type)
    assert.equal(1008, event.entityId)
  end)

  it("refuses a wrong key with 401 and never decodes the body", function()
    local refused_before = #received().refused
    -- not JSON at all: had the receiver decoded it, it would have answered 400
    local sent = sandbox.send_webhook { tenant = "acme", type = "CUSTOMER_UPDATED",
      entityId = 1008, key = "sbx-acme-wh-000000000000", body = "{not json" }
    assert.equal(401, sent.status)
    local d = delivery(sent.uuid)
    assert.same({ 401, 1, "failed" }, { d.status, d.attempts, d.state })
    local refused = received().refused
    assert.equal(refused_before + 1, #refused)
    assert.same({ status = 401, code = "unauthorized", message = "unknown webhook key" },
      refused[#refused])

    -- no key at all: the same
    sent = sandbox.send_webhook { tenant = "acme", type = "CUSTOMER_UPDATED", entityId = 1008,
                                  key = false }
    assert.equal(401, sent.status)
    -- the right key with that body: now the body is read, and refused
    sent = sandbox.send_webhook { tenant = "acme", type = "CUSTOMER_UPDATED", entityId = 1008,
                                  body = "{not json" }
    assert.equal(400, sent.status)
    refused = received().refused
    assert.equal(refused_before + 3, #refused)
    assert.equal("missing x-api-key header", refused[refused_before + 2].message)
    assert.equal("invalid_argument", refused[refused_before + 3].code)
  end)

  it("drops a duplicate delivery: the handler runs once", function()
    local uuid = new_uuid()
    local first = sandbox.send_webhook { tenant = "acme", type = "CLASS_BOOKING_CREATED",
                                         entityId = 80001, uuid = uuid }
    local second = sandbox.send_webhook { tenant = "acme", type = "CLASS_BOOKING_CREATED",
                                          entityId = 80001, uuid = uuid }
    -- both acknowledged: a repeat must not make the platform send it again
    assert.equal(200, first.status)
    assert.equal(200, second.status)
    assert.equal(uuid, first.uuid)
    eventually("the first delivery handled", function() return event_with("uuid", uuid) end)
    local state = received()
    local count = 0
    for _, e in ipairs(state.events) do
      if e.uuid == uuid then count = count + 1 end
    end
    assert.equal(1, count)
    local dropped = false
    for _, dup in ipairs(state.duplicates) do
      if dup.message:find(uuid, 1, true) then dropped = true end
    end
    assert.is_true(dropped)
  end)

  it("tries a failed delivery again as configured, then gives up", function()
    -- nothing listens on port 1: every attempt fails to connect
    sandbox.webhooks { tenant = "zenith", url = "https://127.0.0.1:1/webhooks", retries = 2,
                       interval = 0.2 }
    local sent = sandbox.send_webhook { tenant = "zenith", type = "CUSTOMER_UPDATED",
                                        entityId = 1008 }
    assert.equal(0, sent.status)
    assert.equal("retrying", sent.state)
    local d = eventually("the last attempt", function()
      local entry = delivery(sent.uuid)
      return entry.state == "failed" and entry
    end)
    assert.equal(3, d.attempts)
    assert.truthy(d.error:find("connect"), d.error)
    sandbox.webhooks { tenant = "zenith", url = base .. "/webhooks", retries = 0 }
  end)
end)
