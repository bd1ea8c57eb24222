-- The webhook receiver: keys in constant time, event checks, dedupe, the queue and its handlers,
-- and clients bound to the tenant an event came from (against the sandbox's real tenants).
local webhook = require "studioapi.webhook"
local json = require "studioapi.json"
local sandbox = require "spec.support.sandbox"

local acme = sandbox.tenant("acme")
local zenith = sandbox.tenant("zenith")

local ROTATED_KEY = "zenith-webhook-key-next-7c1e"

local function tenants()
  return {
    { name = "acme", base_url = acme.base_url, api_key = acme.api_key,
      webhook_key = acme.webhook_key },
    { name = "zenith", base_url = zenith.base_url, api_key = zenith.api_key,
      webhook_keys = { zenith.webhook_key, ROTATED_KEY } },
  }
end

local function new_receiver(extra)
  local opts = { tenants = tenants(), client = { ca_file = acme.ca_file } }
  for k, v in pairs(extra or {}) do opts[k] = v end
  return webhook.new(opts)
end

local uuid_seq = 0
local function next_uuid()
  uuid_seq = uuid_seq + 1
  return ("0b7c2e9a-5d41-4f3e-9c1a-%012d"):format(uuid_seq)
end

-- A delivery body; `fields` override or add top-level fields, `element` the payload element's.
local function body(fields, element)
  local el = { timestamp = 1718274780123, type = "CUSTOMER_CREATED" }
  for k, v in pairs(element or {}) do el[k] = v end
  local doc = { entityId = 1210206596, uuid = next_uuid(), payload = json.array { el } }
  for k, v in pairs(fields or {}) do doc[k] = v end
  return json.encode(doc), doc.uuid
end

local function headers(key)
  return { ["Content-Type"] = "application/json", ["x-api-key"] = key or acme.webhook_key }
end

local function raises(pattern, fn)
  local ok, msg = pcall(fn)
  assert.is_false(ok)
  assert.truthy(tostring(msg):find(pattern, 1, true), "unexpected error: " .. tostring(msg))
  return tostring(msg)
end

local SECRETS = { acme.api_key, acme.webhook_key, zenith.api_key, zenith.webhook_key, ROTATED_KEY }

local function assert_no_secret(text)
  text = tostring(text)
  for _, secret in ipairs(SECRETS) do
    assert.falsy(text:find(secret, 1, true), "a key shows in: " .. text)
  end
end

describe("webhook.new()", function()
  it("raises on an unknown option, naming it", function()
    raises("webhook.new: unknown option 'tenant'", function() webhook.new { tenant = {} } end)
    raises("unknown option 'max_queu'", function() new_receiver { max_queu = 3 } end)
  end)

  it("raises on a wrong option type or a missing option", function()
    raises("option 'max_queue' must be a number, got string", function()
      new_receiver { max_queue = "10" }
    end)
    raises("option 'dedupe' must be a table or false, got boolean", function()
      new_receiver { dedupe = true }
    end)
    raises("option 'max_queue' must be a positive integer", function()
      new_receiver { max_queue = 0 }
    end)
    raises("option 'tenants' is required", function() webhook.new {} end)
    raises("expected an options table", function() webhook.new() end)
    raises("must list at least one tenant", function() webhook.new { tenants = {} } end)
  end)

  it("raises on a bad tenant entry, naming the tenant and the field", function()
    local list = tenants()
    list[2].webhok_key = "x"
    raises("tenant #2 (zenith): unknown option 'webhok_key'", function()
      webhook.new { tenants = list }
    end)
    local host = acme.base_url:match("^https?://([^/:]+)")
    raises("tenant #1 (" .. host .. "): option 'api_key' is required", function()
      webhook.new { tenants = { { base_url = acme.base_url, webhook_key = "k" } } }
    end)
    raises("tenant #1 (acme): option 'webhook_key' (or 'webhook_keys') is required", function()
      webhook.new { tenants = { { name = "acme", base_url = acme.base_url, api_key = "a" } } }
    end)
    raises("webhook_keys[2] must be a string, got number", function()
      webhook.new { tenants = { { base_url = acme.base_url, api_key = "a",
                                  webhook_keys = { "k", 42 } } } }
    end)
  end)

  it("raises on a webhook key registered for two tenants, without showing it", function()
    local list = tenants()
    list[2].webhook_keys = { ROTATED_KEY, acme.webhook_key }
    local msg = raises("tenant #2 (zenith): a webhook key is also registered for tenant acme",
                       function() webhook.new { tenants = list } end)
    assert_no_secret(msg)
  end)

  it("refuses a dedupe store without the store methods and client options that set the key",
     function()
    raises("option 'dedupe' must have check_and_add(uuid), or seen(uuid) and add(uuid)", function()
      new_receiver { dedupe = { seen = function() return false end } }
    end)
    raises("option 'client' must not set 'api_key'", function()
      new_receiver { client = { api_key = "x" } }
    end)
  end)

  it("names the tenant by its host when no name is given", function()
    local r = webhook.new { tenants = { { base_url = "https://acme.open-api.example.com/v1",
                                          api_key = "a", webhook_key = "w" } } }
    assert.equal("acme.open-api.example.com", r.tenants[1].name)
  end)
end)

describe("the registry", function()
  it("never shows a key in tostring of the receiver, a tenant, an event or an error", function()
    local r = new_receiver()
    local text = tostring(r)
    assert.truthy(text:find("acme " .. acme.base_url, 1, true), text)
    assert.truthy(text:find("zenith " .. zenith.base_url, 1, true), text)
    assert_no_secret(text)

    local event, tenant = r:parse(headers(), body())
    assert.equal("studioapi.webhook.Tenant acme (" .. acme.base_url .. ")", tostring(tenant))
    assert_no_secret(tostring(event))
    for _, key in ipairs { acme.webhook_key, "wrong-" .. acme.webhook_key, "" } do
      local _, err = r:parse(headers(key), body())
      assert_no_secret(tostring(err))
      assert_no_secret(err.message)
    end
  end)

  it("keeps no key in the tables it hands out", function()
    local r = new_receiver()
    local function walk(t, seen)
      if seen[t] then return end
      seen[t] = true
      for k, v in pairs(t) do
        for _, x in ipairs { k, v } do
          if type(x) == "string" then assert_no_secret(x) end
          if type(x) == "table" then walk(x, seen) end
        end
      end
    end
    local event, tenant = r:parse(headers(), body())
    walk(r, {})
    walk(tenant, {})
    walk(event, {})
    assert.same({ "acme", "zenith" }, { r.tenants[1].name, r.tenants[2].name })
  end)
end)

describe("receiver:parse()", function()
  local r
  before_each(function() r = new_receiver() end)

  it("returns the event and the tenant, whatever the case of the header name", function()
    for _, name in ipairs { "x-api-key", "X-API-KEY", "X-Api-Key" } do
      local text, uuid = body()
      local event, tenant = r:parse({ [name] = acme.webhook_key }, text)
      assert.is_table(event, tostring(tenant))
      assert.equal(r.tenants[1], tenant)
      assert.equal(acme.base_url, tenant.base_url)
      assert.equal("acme", tenant.name)
      assert.equal(uuid, event.uuid)
      assert.equal(1210206596, event.entityId)
      assert.equal("CUSTOMER_CREATED", event.type)
      assert.equal(1, #event.payload)
    end
  end)

  it("finds the tenant by its own key", function()
    local _, tenant = r:parse(headers(zenith.webhook_key), body())
    assert.equal("zenith", tenant.name)
    assert.equal(zenith.base_url, tenant.base_url)
  end)

  it("converts the timestamp from milliseconds to seconds, keeping the fraction", function()
    local event = r:parse(headers(), body())
    assert.equal(1718274780.123, event.timestamp)
    assert.equal(1718274780123, event.timestamp_ms)
    event = r:parse(headers(), body(nil, { timestamp = 1642779144000 }))
    assert.equal(1642779144, event.timestamp)
  end)

  it("gives content, {} when absent, and keeps unknown types and fields", function()
    local event = r:parse(headers(), body())
    assert.same({}, event.content)
    event = r:parse(headers(), body({ futureField = "x" },
      { type = "CUSTOMER_TELEPORTED", extra = 7,
        content = { contractId = 42, idlePeriodAmount = json.null } }))
    assert.equal("CUSTOMER_TELEPORTED", event.type)
    assert.same({ contractId = 42 }, event.content)
    assert.equal(7, event.payload[1].extra)
    assert.equal("x", event.raw.futureField)
  end)

  it("takes the first payload element and keeps all in event.payload", function()
    local event = r:parse(headers(), body({ payload = json.array {
      { timestamp = 1000, type = "CONTRACT_CREATED", content = { contractId = 1 } },
      { timestamp = 2000, type = "CONTRACT_UPDATED" },
    } }))
    assert.equal("CONTRACT_CREATED", event.type)
    assert.equal(1, event.timestamp)
    assert.equal(2, #event.payload)
    assert.equal("CONTRACT_UPDATED", event.payload[2].type)
  end)

  it("stamps the arrival time with the given clock", function()
    r = new_receiver { clock = function() return 1718274781.5 end }
    assert.equal(1718274781.5, r:parse(headers(), body()).received_at)
  end)

  it("accepts both keys of a tenant during a key rotation", function()
    local _, old = r:parse(headers(zenith.webhook_key), body())
    local _, new = r:parse(headers(ROTATED_KEY), body())
    assert.equal("zenith", old.name)
    assert.equal(old, new)
  end)

  it("accepts a header given as a list of one value", function()
    local event = r:parse({ ["x-api-key"] = { acme.webhook_key } }, body())
    assert.is_table(event)
  end)

  describe("with a wrong key", function()
    local function unauthorized(hdrs, text, message)
      local event, err = r:parse(hdrs, text or body())
      assert.is_nil(event)
      assert.equal("unauthorized", err.code)
      assert.equal(401, err.status)
      assert.is_false(err.retryable)
      if message then assert.equal(message, err.message) end
      return err
    end

    it("refuses an unknown key and does not decode the body", function()
      local decode = spy.on(json, "decode")
      local ok, failure = pcall(function()
        unauthorized(headers("not-a-registered-key"), "{ this is not JSON", "unknown webhook key")
        unauthorized(headers(acme.api_key), (body()))  -- the Open API key is not a webhook key
      end)
      decode:revert()
      assert(ok, failure)
      assert.spy(decode).was_not_called()
      -- the same body with the right key is decoded (and found to be invalid)
      decode = spy.on(json, "decode")
      local _, err = r:parse(headers(), "{ this is not JSON")
      decode:revert()
      assert.spy(decode).was_called(1)
      assert.equal("invalid_argument", err.code)
    end)

    -- Timing is too noisy to assert on; the number of Lua VM instructions is exact. Each key is
    -- compared whole, so the work must not depend on where a wrong key differs, nor on which
    -- tenant's key matched.
    it("does the same work whichever key matched and wherever a wrong key differs", function()
      local keys = { "key-aaaa-1", "key-bbbb-2", "key-cccc-3" }
      local list = {}
      for i, key in ipairs(keys) do
        list[i] = { name = "t" .. i, base_url = "https://t" .. i .. ".example.com/v1",
                    api_key = "a" .. i, webhook_key = key }
      end
      local cr = webhook.new { tenants = list }
      local jit_on = rawget(_G, "jit") and jit.status()
      -- Count hooks see interpreted code only: stop compiling, and drop the traces compiled
      -- by the earlier specs (jit.off alone keeps running them).
      if jit_on then jit.off() jit.flush() end
      local function instructions(key)
        local n = 0
        debug.sethook(function() n = n + 1 end, "", 1)
        local _, err = cr:parse({ ["x-api-key"] = key }, "")
        debug.sethook()
        return n, err.code
      end
      local counts = {}
      for _, key in ipairs { "key-aaaa-1", "key-bbbb-2", "key-cccc-3", "Xey-aaaa-1",
                             "key-aaaa-X", "XXXXXXXXXX", "key-cccc-4" } do
        local n, code = instructions(key)
        counts[code] = counts[code] or {}
        counts[code][#counts[code] + 1] = n
      end
      if jit_on then jit.on() end
      assert.equal(3, #counts.invalid_argument)       -- the matches: empty body
      assert.equal(4, #counts.unauthorized)
      for _, group in pairs(counts) do
        for i = 2, #group do assert.equal(group[1], group[i]) end
      end
    end)

    it("refuses keys that are prefixes, extensions or case variants of a real key", function()
      local key = acme.webhook_key
      for _, wrong in ipairs { key:sub(1, -2), key .. "x", key .. "\0", key:upper(),
                               key:sub(2) .. key:sub(1, 1), ("x"):rep(#key), ("x"):rep(300) } do
        unauthorized(headers(wrong), nil, "unknown webhook key")
      end
    end)

    it("refuses a missing or empty key", function()
      unauthorized({ ["Content-Type"] = "application/json" }, nil, "missing x-api-key header")
      unauthorized(headers(""), nil, "missing x-api-key header")
      unauthorized({ ["x-api-key"] = {} }, nil, "missing x-api-key header")
    end)

    it("refuses a key sent more than once, even when it is right", function()
      unauthorized({ ["x-api-key"] = { acme.webhook_key, acme.webhook_key } }, nil,
                   "x-api-key header sent more than once")
      unauthorized({ ["x-api-key"] = acme.webhook_key, ["X-API-KEY"] = acme.webhook_key }, nil,
                   "x-api-key header sent more than once")
    end)

    it("does not record the uuid of a refused delivery", function()
      local text = body()
      unauthorized(headers("wrong"), text)
      assert.is_table(r:parse(headers(), text))
    end)
  end)

  describe("with a body that is not an event", function()
    local function invalid(text, message)
      local event, err = r:parse(headers(), text)
      assert.is_nil(event)
      assert.equal("invalid_argument", err.code)
      assert.equal(400, err.status)
      assert.truthy(err.message:find(message, 1, true), err.message)
      return err
    end

    it("refuses an empty body or one that is not JSON", function()
      invalid(nil, "body is empty")
      invalid("", "body is empty")
      invalid("{\"entityId\": 1,", "body is not valid JSON")
      invalid("[1, 2]", "body must be a JSON object, got array")
      invalid("42", "body must be a JSON object, got number")
    end)

    it("names a missing or mistyped top-level field", function()
      invalid(body { entityId = json.null }, "entityId is missing")
      invalid(body { entityId = "1210206596" }, "entityId must be an integer, got string")
      invalid(body { entityId = 1.5 }, "entityId must be an integer, got 1.5")
      invalid(body { uuid = json.null }, "uuid is missing")
      invalid(body { uuid = "" }, "uuid must be a non-empty string, got string")
      invalid(body { uuid = 17 }, "uuid must be a non-empty string, got number")
      invalid(body { payload = json.null }, "payload is missing")
      invalid(body { payload = { type = "CUSTOMER_CREATED", timestamp = 1 } },
              "payload must be an array, got object")
      invalid(body { payload = "CUSTOMER_CREATED" }, "payload must be an array, got string")
      invalid(body { payload = json.array {} }, "payload is empty")
    end)

    it("names a bad payload element", function()
      invalid(body { payload = json.array { "CUSTOMER_CREATED" } },
              "payload[1] must be an object, got string")
      invalid(body(nil, { timestamp = json.null }), "payload[1].timestamp is missing")
      invalid(body(nil, { timestamp = "2024-06-13T10:33:00Z" }),
              "payload[1].timestamp must be a number (epoch milliseconds), got string")
      invalid(body(nil, { type = json.null }), "payload[1].type is missing")
      invalid(body(nil, { type = 7 }), "payload[1].type must be a non-empty string, got number")
      invalid(body(nil, { type = "" }), "payload[1].type must be a non-empty string")
      invalid(body(nil, { content = "x" }), "payload[1].content must be an object, got string")
      invalid(body { payload = json.array { { timestamp = 1, type = "CUSTOMER_CREATED" },
                                            { timestamp = 2 } } },
              "payload[2].type is missing")
    end)

    it("does not record the uuid of an invalid event", function()
      local text, uuid = body(nil, { timestamp = "soon" })
      invalid(text, "timestamp")
      local event = r:parse(headers(), (body { uuid = uuid }))
      assert.equal(uuid, event.uuid)
    end)
  end)

  it("reports a uuid seen before as a duplicate", function()
    local text, uuid = body()
    assert.is_table(r:parse(headers(), text))
    local event, err = r:parse(headers(), text)
    assert.is_nil(event)
    assert.equal("duplicate", err.code)
    assert.equal(200, err.status)
    assert.truthy(err.message:find(uuid, 1, true))
    -- the same uuid is a duplicate whatever else the delivery says
    event, err = r:parse(headers(), (body({ uuid = uuid }, { type = "CUSTOMER_UPDATED" })))
    assert.is_nil(event)
    assert.equal("duplicate", err.code)
  end)

  it("lets every repeat through with dedupe = false", function()
    r = new_receiver { dedupe = false }
    local text = body()
    assert.is_table(r:parse(headers(), text))
    assert.is_table(r:parse(headers(), text))
  end)

  it("raises on headers or a body of the wrong type", function()
    raises("headers must be a table, got nil", function() r:parse(nil, body()) end)
    raises("body must be a string, got table", function() r:parse(headers(), {}) end)
  end)
end)

describe("dedupe stores", function()
  it("the memory store forgets the oldest uuid first, and holds at most its size", function()
    local store = webhook.memory_store(3)
    for _, u in ipairs { "a", "b", "c" } do assert.is_false(store:check_and_add(u)) end
    assert.is_true(store:check_and_add("a"))
    assert.is_false(store:check_and_add("d"))       -- evicts "a", the oldest
    assert.is_false(store:seen("a"))
    assert.is_true(store:seen("b"))
    assert.is_true(store:seen("d"))
    assert.equal(3, store.count)
    for i = 1, 1000 do store:add("u" .. i) end
    assert.equal(3, store.count)
    local n = 0
    for _ in pairs(store._set) do n = n + 1 end
    assert.equal(3, n)
    assert.is_true(store:seen("u1000"))
    assert.is_false(store:seen("u997"))
    assert.equal("studioapi.webhook.MemoryStore (3 of 3 uuids)", tostring(store))
  end)

  it("a receiver's bounded store lets an evicted uuid through again", function()
    local r = new_receiver { dedupe = webhook.memory_store(2) }
    local first = body()
    assert.is_table(r:parse(headers(), first))
    assert.is_table(r:parse(headers(), (body())))
    local _, err = r:parse(headers(), first)
    assert.equal("duplicate", err.code)
    assert.is_table(r:parse(headers(), (body())))   -- third uuid: the first is forgotten
    assert.is_table(r:parse(headers(), first))
  end)

  it("the default store remembers 10,000 uuids", function()
    local r = new_receiver()
    assert.equal(10000, r.dedupe.size)
  end)

  it("uses a plugged store with check_and_add", function()
    local calls, set = {}, {}
    local store = {}
    function store:check_and_add(uuid)
      assert.equal(store, self)
      calls[#calls + 1] = uuid
      local was = set[uuid] ~= nil
      set[uuid] = true
      return was
    end
    local r = new_receiver { dedupe = store }
    local text, uuid = body()
    assert.is_table(r:parse(headers(), text))
    local _, err = r:parse(headers(), text)
    assert.equal("duplicate", err.code)
    r:parse(headers("wrong"), text)
    r:parse(headers(), (body(nil, { type = 1 })))
    assert.same({ uuid, uuid }, calls)               -- refused deliveries never reach the store
  end)

  it("uses a plugged store with seen and add", function()
    local log, set = {}, {}
    local store = {
      seen = function(_, uuid) log[#log + 1] = "seen " .. uuid return set[uuid] == true end,
      add = function(_, uuid) log[#log + 1] = "add " .. uuid set[uuid] = true end,
    }
    local r = new_receiver { dedupe = store }
    local text, uuid = body()
    assert.equal(200, (r:handle(headers(), text)))
    local status, err = r:handle(headers(), text)
    assert.equal(200, status)
    assert.equal("duplicate", err.code)
    assert.same({ "seen " .. uuid, "add " .. uuid, "seen " .. uuid }, log)
  end)
end)

describe("webhook.EVENT_TYPES", function()
  it("lists the 44 event types, sorted, and as a set", function()
    local list = webhook.EVENT_TYPES
    assert.equal(44, #list)
    local n = 0
    for k, v in pairs(list) do
      if type(k) == "string" then
        n = n + 1
        assert.is_true(v)
      end
    end
    assert.equal(44, n)
    for i = 1, #list do
      assert.is_true(list[list[i]])
      assert.is_true(webhook.known(list[i]))
      if i > 1 then assert.truthy(list[i - 1] < list[i]) end
      assert.truthy(list[i]:match("^[A-Z_]+$"))
    end
  end)

  it("knows the documented types and nothing else", function()
    for _, t in ipairs { "CUSTOMER_CREATED", "CLASS_BOOKING_CANCELLED",
                         "AUTOMATIC_CUSTOMER_CHECKOUT", "CONTRACT_IDLE_PERIOD_CANCELLED",
                         "TAX_ADVISOR_EXPORT_CREATED",
                         "FINANCE_DEBT_COLLECTION_CONFIGURATION_UPDATED",
                         "CUSTOMER_COMMUNICATION_PREFERENCES_UPDATED" } do
      assert.is_true(webhook.known(t), t)
    end
    for _, t in ipairs { "CUSTOMER_CRATED", "CLASS_BOOKING_CANCELED", "customer_created", "*",
                         "" } do
      assert.is_false(webhook.known(t), t)
    end
    assert.is_false(webhook.known(nil))
  end)
end)

describe("receiver:on()", function()
  it("raises on an event type the API does not know, naming it", function()
    local r = new_receiver()
    raises("receiver:on: unknown event type 'CUSTOMER_CRATED'", function()
      r:on("CUSTOMER_CRATED", function() end)
    end)
    raises("event type must be a string, got nil", function() r:on(nil, function() end) end)
    raises("handler must be a function, got string", function() r:on("*", "print") end)
    raises("receiver:on: unknown option 'allow'", function()
      r:on("CUSTOMER_CREATED", function() end, { allow = true })
    end)
  end)

  it("takes an unknown type with allow_unknown, and the handler gets such events", function()
    local r = new_receiver()
    local got
    assert.equal(r, r:on("CUSTOMER_TELEPORTED", function(e) got = e.entityId end,
                         { allow_unknown = true }))
    assert.equal(200, (r:handle(headers(), (body({ entityId = 5 },
                                                 { type = "CUSTOMER_TELEPORTED" })))))
    r:drain()
    assert.equal(5, got)
  end)
end)

describe("receiver:handle() and receiver:drain()", function()
  it("queues the event, answers 200 at once and never calls a handler", function()
    local r = new_receiver()
    local called = false
    r:on("CUSTOMER_CREATED", function() called = true end)
    r:on("*", function() called = true end)
    local status, err = r:handle(headers(), body())
    assert.equal(200, status)
    assert.is_nil(err)
    assert.is_false(called)
    assert.equal(1, r:pending())
    assert.truthy(tostring(r):find("1 queued", 1, true))
    assert.equal(1, (r:drain()))
    assert.is_true(called)
    assert.equal(0, r:pending())
  end)

  it("answers 401 and 400 with the error, and queues nothing", function()
    local r = new_receiver()
    local status, err = r:handle(headers("wrong"), body())
    assert.equal(401, status)
    assert.equal("unauthorized", err.code)
    status, err = r:handle(headers(), "nope")
    assert.equal(400, status)
    assert.equal("invalid_argument", err.code)
    assert.equal(0, r:pending())
  end)

  it("answers 200 to a repeated delivery and runs its handler once", function()
    local r = new_receiver()
    local runs = 0
    r:on("CUSTOMER_CREATED", function() runs = runs + 1 end)
    local text = body()
    assert.equal(200, (r:handle(headers(), text)))
    local status, err = r:handle(headers(), text)
    assert.equal(200, status)
    assert.equal("duplicate", err.code)
    assert.equal(1, r:pending())
    assert.equal(1, (r:drain()))
    assert.equal(200, (r:handle(headers(), text)))   -- also after the drain
    assert.equal(0, (r:drain()))
    assert.equal(1, runs)
  end)

  it("runs the type's handlers, then the '*' ones, each with event, tenant and receiver",
     function()
    local r = new_receiver()
    local order = {}
    local function record(tag)
      return function(event, tenant, receiver)
        assert.equal(r, receiver)
        order[#order + 1] = tag .. " " .. event.type .. " " .. tenant.name .. " " .. event.entityId
      end
    end
    r:on("*", record("any1"))
    r:on("CUSTOMER_CREATED", record("created1"))
    r:on("CONTRACT_CREATED", record("contract"))
    r:on("CUSTOMER_CREATED", record("created2"))
    r:on("*", record("any2"))
    r:handle(headers(), (body({ entityId = 1 })))
    r:handle(headers(zenith.webhook_key), (body({ entityId = 2 }, { type = "CONTRACT_CREATED" })))
    r:handle(headers(), (body({ entityId = 3 }, { type = "EMPLOYEE_DELETED" })))
    local handled, failures = r:drain()
    assert.equal(3, handled)
    assert.same({}, failures)
    assert.same({
      "created1 CUSTOMER_CREATED acme 1", "created2 CUSTOMER_CREATED acme 1",
      "any1 CUSTOMER_CREATED acme 1", "any2 CUSTOMER_CREATED acme 1",
      "contract CONTRACT_CREATED zenith 2", "any1 CONTRACT_CREATED zenith 2",
      "any2 CONTRACT_CREATED zenith 2",
      "any1 EMPLOYEE_DELETED acme 3", "any2 EMPLOYEE_DELETED acme 3",
    }, order)
  end)

  it("goes on after a handler fails and reports the failure with a traceback", function()
    local r = new_receiver()
    local ran = {}
    r:on("CUSTOMER_CREATED", function() error("boom") end)
    r:on("CUSTOMER_CREATED", function(e) ran[#ran + 1] = "second " .. e.entityId end)
    r:on("*", function(e) ran[#ran + 1] = "any " .. e.entityId end)
    r:on("*", function() error({ code = "custom" }) end)
    r:handle(headers(), (body({ entityId = 1 })))
    r:handle(headers(), (body({ entityId = 2 })))
    local handled, failures = r:drain()
    assert.equal(2, handled)
    assert.same({ "second 1", "any 1", "second 2", "any 2" }, ran)
    assert.equal(4, #failures)
    assert.equal(1, failures[1].event.entityId)
    assert.equal("acme", failures[1].tenant.name)
    assert.truthy(tostring(failures[1].error):find("boom", 1, true))
    assert.truthy(failures[1].traceback:find("stack traceback", 1, true))
    assert.same({ code = "custom" }, failures[2].error)
    assert.equal(2, failures[4].event.entityId)
  end)

  it("drains at most max events, in arrival order", function()
    local r = new_receiver()
    local seen = {}
    r:on("*", function(e) seen[#seen + 1] = e.entityId end)
    for i = 1, 5 do r:handle(headers(), (body({ entityId = i }))) end
    assert.equal(2, (r:drain(2)))
    assert.same({ 1, 2 }, seen)
    assert.equal(3, r:pending())
    assert.equal(0, (r:drain(0)))
    assert.equal(3, (r:drain()))
    assert.same({ 1, 2, 3, 4, 5 }, seen)
    assert.equal(0, (r:drain()))
    raises("max must be a non-negative integer", function() r:drain(-1) end)
  end)

  it("answers 503 when the queue is full, and takes the event when it comes again", function()
    local r = new_receiver { max_queue = 2 }
    assert.equal(200, (r:handle(headers(), (body()))))
    assert.equal(200, (r:handle(headers(), (body()))))
    local text = body()
    local status, err = r:handle(headers(), text)
    assert.equal(503, status)
    assert.equal("unavailable", err.code)
    assert.is_true(err.retryable)
    assert.equal(2, r:pending())
    r:drain()
    status, err = r:handle(headers(), text)          -- the platform's retry
    assert.equal(200, status)
    assert.is_nil(err)
    assert.equal(1, r:pending())
  end)

  it("holds up to 10,000 events by default", function()
    assert.equal(10000, new_receiver().max_queue)
  end)
end)

describe("receiver:client()", function()
  local r
  setup(function() r = new_receiver() end)
  teardown(function() r:close() end)

  it("gives a client bound to the tenant's base URL and Open API key", function()
    local _, tenant = r:parse(headers(), body())
    local client = assert(r:client(tenant))
    assert.equal(acme.base_url, client.base_url)
    assert.is_true(client:ping())
    local _, other = r:parse(headers(zenith.webhook_key), body())
    local zclient = assert(r:client(other))
    assert.equal(zenith.base_url, zclient.base_url)
    assert.is_true(zclient:ping())
  end)

  it("makes one client per tenant", function()
    local a1 = r:client(r.tenants[1])
    assert.equal(a1, r:client(r.tenants[1]))
    assert.equal(a1, r:client("acme"))
    assert.not_equal(a1, r:client(r.tenants[2]))
  end)

  it("raises for something that is not one of its tenants", function()
    raises("is not a tenant of this receiver", function()
      r:client({ base_url = acme.base_url })
    end)
    raises("is not a tenant of this receiver", function() r:client("nobody") end)
    local other = new_receiver()
    raises("is not a tenant of this receiver", function() r:client(other.tenants[1]) end)
  end)

  it("returns the error when the tenant's settings are refused", function()
    local bad = webhook.new { tenants = { { name = "plain", base_url = "http://example.com/v1",
                                            api_key = "a", webhook_key = "w" } } }
    local client, err = bad:client(bad.tenants[1])
    assert.is_nil(client)
    assert.equal("invalid_argument", err.code)
  end)

  it("can be closed and makes a new client afterwards", function()
    local r2 = new_receiver()
    local c1 = assert(r2:client("acme"))
    r2:close()
    assert.equal("studioapi.Client (closed)", tostring(c1))
    local c2 = assert(r2:client("acme"))
    assert.not_equal(c1, c2)
    assert.is_true(c2:ping())
    r2:close()
  end)
end)

describe("without studioapi.json", function()
  local fallback
  setup(function()
    local loaded, preload = package.loaded, package.preload
    local saved = { json = loaded["studioapi.json"], webhook = loaded["studioapi.webhook"],
                    preload = preload["studioapi.json"] }
    loaded["studioapi.json"], loaded["studioapi.webhook"] = nil, nil
    preload["studioapi.json"] = function() error("no C codec here") end
    local ok, mod = pcall(require, "studioapi.webhook")
    loaded["studioapi.json"], loaded["studioapi.webhook"] = saved.json, saved.webhook
    preload["studioapi.json"] = saved.preload
    assert(ok, mod)
    fallback = mod
  end)

  it("decodes with lua-cjson and drops JSON nulls from objects", function()
    assert.not_equal(webhook, fallback)
    local r = fallback.new { tenants = tenants() }
    local text = '{"entityId": 42, "uuid": "u-1", "extra": null, "payload": [{"timestamp": '
      .. '1718274780123, "type": "CONTRACT_CREATED", "content": {"contractId": 7, "x": null}}]}'
    local event, tenant = r:parse(headers(), text)
    assert.is_table(event, tostring(tenant))
    assert.equal(1718274780.123, event.timestamp)
    assert.equal("studioapi.webhook.Event CONTRACT_CREATED u-1 (entityId 42)", tostring(event))
    assert.same({ contractId = 7 }, event.content)
    assert.is_nil(event.raw.extra)
    local _, err = r:parse(headers(), "{ nope")
    assert.equal("invalid_argument", err.code)
    _, err = r:parse(headers(), '{"entityId": 1, "uuid": "u-2", "payload": null}')
    assert.equal("payload is missing", err.message)
    _, err = r:parse(headers(), '{"entityId": 1, "uuid": "u-3", "payload": []}')
    assert.equal("payload is empty", err.message)
  end)
end)
