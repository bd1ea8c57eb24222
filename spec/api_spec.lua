-- The whole API from Lua: call by operationId, parameter checks, entities, friendly names.
local studioapi = require "studioapi"
local entity = require "studioapi.entity"
local operations = require "studioapi.operations"
local resources = require "studioapi.resources"
local sandbox = require "spec.support.sandbox"

local acme = sandbox.tenant("acme")
local json = studioapi.json

local function new_client()
  return assert(studioapi.new { base_url = acme.base_url, api_key = acme.api_key,
                                ca_file = acme.ca_file })
end

describe("client:call()", function()
  local client
  setup(function() client = new_client() end)
  teardown(function() client:close() end)

  it("calls an operation with path and query parameters by their API names", function()
    local customer = assert(client:call("getCustomerById", { customerId = 1008 }))
    assert.equal(1008, customer.id)
    assert.equal("Customer", customer:schema())
    local chunk = assert(client:call("getCustomers", { sliceSize = 50 }))
    assert.equal(50, #chunk.result)
    assert.equal("Customer", chunk.result[1]:schema())
  end)

  it("raises on an unknown operation or a params value that is not a table", function()
    assert.has_error(function() client:call("getCustomer", {}) end,
                     "client:call: unknown operation 'getCustomer'")
    assert.has_error(function() client:call("getCustomerById", 42) end,
                     "client:call: params must be a table, got number")
  end)

  describe("checks parameters before sending", function()
    local cases = {
      { "missing required", "getCustomerById", {}, "customerId", "is required" },
      { "wrong type", "getCustomerById", { customerId = "42" }, "customerId",
        "must be an integer, got string" },
      { "not integral", "getCustomerById", { customerId = 4.5 }, "customerId",
        "must be an integer, got 4.5" },
      { "below minimum", "getCustomers", { sliceSize = 49 }, "sliceSize",
        "must be between 50 and 500, got 49" },
      { "above maximum", "getEmployees", { sliceSize = 101 }, "sliceSize",
        "must be between 10 and 100, got 101" },
      { "not in the enum", "getCustomers", { customerStatus = "FORMER" }, "customerStatus",
        "must be one of MEMBER, PROSPECT, got FORMER" },
      { "unknown name", "getCustomers", { slicesize = 100 }, "slicesize",
        "is not a parameter of this operation" },
      { "a string where a string is due", "getCustomers", { offset = 5 }, "offset",
        "must be a string, got number" },
    }
    for _, case in ipairs(cases) do
      it(case[1], function()
        local res, err = client:call(case[2], case[3])
        assert.is_nil(res)
        assert.equal("invalid_argument", err.code)
        assert.equal(case[4], err.reference)
        assert.equal(("%s: parameter '%s' %s"):format(case[2], case[4], case[5]), err.message)
        assert.equal("not_sent", err.outcome or "not_sent")
      end)
    end

    it("checks array items and formats", function()
      local op = { path = "/x", params = {
        { name = "ids", ["in"] = "query", type = "array", items = { type = "integer" } },
        { name = "day", ["in"] = "query", type = "string", format = "date" },
      } }
      local params = require "studioapi.params"
      local _, err = params.build("op", op, { ids = { 1, "2" } })
      assert.equal("op: parameter 'ids' item 2 must be an integer, got string", err.message)
      _, err = params.build("op", op, { day = "15.06.2022" })
      assert.equal('op: parameter \'day\' must be a date, got "15.06.2022"', err.message)
      local path, query = params.build("op", op, { ids = { 1, 2 }, day = "2022-06-15" })
      assert.equal("/x", path)
      assert.same({ ids = { 1, 2 }, day = "2022-06-15" }, query)
    end)

    it("percent-encodes path parameters", function()
      local params = require "studioapi.params"
      local op = { path = "/a/{k}", params = { { name = "k", ["in"] = "path", type = "string",
                                                required = true } } }
      assert.equal("/a/x%2Fy%25", params.build("op", op, { k = "x/y%" }))
    end)
  end)

  it("sends an empty list body as [] where the operation takes an array", function()
    local res = assert(client:call("updateCommunicationPreferences",
                                   { customerId = 1008, body = {} }))
    assert.is_true(json.is_array(res))
    res = assert(client:call("setAdditionalInformationFieldAssignments",
                             { customerId = 1008, body = {} }))
    assert.is_true(json.is_array(res))
  end)

  it("requires a body where the operation has one, and refuses one where it has none", function()
    local _, err = client:call("searchCustomers", {})
    assert.equal("body", err.reference)
    _, err = client:call("getCustomers", { body = { a = 1 } })
    assert.equal("body", err.reference)
  end)
end)

describe("friendly namespaces", function()
  it("name every one of the API's operations", function()
    local n = 0
    for op_id in pairs(operations.operations) do
      n = n + 1
      assert.truthy(resources.NAMES[op_id], op_id .. " has no friendly name")
    end
    assert.equal(121, n)
    local seen = {}
    for op_id, name in pairs(resources.NAMES) do
      assert.is_nil(seen[name], name .. " names two operations")
      seen[name] = op_id
    end
  end)

  it("are bound to each client", function()
    local client = new_client()
    local customer = assert(client.customers:get(1008))
    assert.equal(1008, customer.id)
    local contracts = assert(client.customers:contracts(1008))
    assert.is_true(json.is_array(contracts))
    local studio = assert(client.studios:information())
    assert.equal("StudioInformation", studio:schema())
    local pager = client.customers:list({ sliceSize = 50 })
    assert.equal("cursor", pager.mode)
    local n = 0
    for c in client.customers:each({ sliceSize = 50 }, { max_items = 75 }) do
      assert.equal("Customer", c:schema())
      n = n + 1
    end
    assert.equal(75, n)
    assert.has_error(function() client.customers:get() end,
                     "customers:get: argument #1 (customerId) is required")
    client:close()
  end)
end)

describe("entities", function()
  local client, customer, contracts
  setup(function()
    client = new_client()
    customer = assert(client.customers:get(1008))
    contracts = assert(client.customers:contracts(1008))
  end)
  teardown(function() client:close() end)

  it("keep the API's field names and nest Money in contracts", function()
    assert.equal("string", type(customer.firstName))
    local c = contracts[1]
    assert.equal("Contract", c:schema())
    assert.equal("Money", c.priceDetails.basePrice:schema())
    local text = c.priceDetails.basePrice:format()
    assert.truthy(text:match("^%d+%.%d%d [A-Z][A-Z][A-Z]$"), text)
  end)

  it("give a customer's full name", function()
    local c = entity.wrap({ firstName = "Ana", secondFirstName = "María", lastName = "López" },
                          "Customer")
    assert.equal("Ana María López", c:full_name())
    assert.equal(customer.firstName .. " " .. customer.lastName, customer:full_name())
  end)

  it("encode back to the API's JSON, arrays staying arrays", function()
    local again = json.decode(json.encode(customer))
    assert.same(customer, setmetatable(again, getmetatable(customer)))
    local body = '{"id":1,"cardNumbers":[],"accessRefusal":false,"status":"MEMBER"}'
    local s = json.encode(entity.wrap(json.decode(body), "Customer"))
    assert.truthy(s:find('"cardNumbers":[]', 1, true))
  end)

  it("know when their signed URLs expire", function()
    local fetched = customer:fetched_at()
    assert.truthy(math.abs(fetched - os.time()) < 60)
    assert.equal(math.floor(fetched) + 900, customer:url_expires_at("imageUrl"))
    assert.is_false(customer:url_expired("imageUrl", fetched + 899))
    assert.is_true(customer:url_expired("imageUrl", fetched + 900))
    assert.is_nil(customer:url_expires_at("firstName"))
    assert.is_false(customer:url_expired("firstName"))
    local offer = entity.wrap({ id = 1, imageUrl = "https://x.example.com/o.png" },
                              "MembershipOffer")
    assert.equal(math.floor(offer:fetched_at()) + 7200, offer:url_expires_at("imageUrl"))
  end)

  it("are fetched again by refresh", function()
    local again = assert(client:refresh(customer))
    assert.are_not.equal(customer, again)
    assert.equal(customer.id, again.id)
    local listed = client.customers:each({ sliceSize = 50 })()
    local fresh = assert(client:refresh(listed))
    assert.equal(listed.id, fresh.id)
    assert.has_error(function() client:refresh({ id = 1 }) end,
                     "client:refresh: expected an entity")
  end)
end)

describe("studioapi.entity.parse_time()", function()
  it("reads a zoned date-time with a region suffix", function()
    local t = entity.parse_time("2022-06-15T23:59:59.999+02:00[Europe/Berlin]")
    assert.equal("Europe/Berlin", t.zone)
    assert.equal(7200, t.offset)
    assert.equal(23, t.hour)
    assert.is_true(math.abs(t.epoch - 1655330399.999) < 1e-6)
  end)

  it("reads UTC", function()
    local t = entity.parse_time("2024-06-13T10:33:00Z")
    assert.equal(0, t.offset)
    assert.equal(1718274780, t.epoch)
  end)

  it("reads a local date-time without zone (no epoch: the zone is unknown)", function()
    local t = entity.parse_time("2025-09-21T00:00:00")
    assert.same({ year = 2025, month = 9, day = 21, hour = 0, min = 0, sec = 0 }, t)
  end)

  it("reads a plain date as midnight UTC", function()
    assert.equal(0, entity.parse_time("1970-01-01").epoch)
    assert.equal(951782400, entity.parse_time("2000-02-29").epoch)
  end)

  it("refuses what is not a date", function()
    for _, s in ipairs { "2022-13-01", "15.06.2022", "2022-06-15T25:00:00", "2022-06-15T10:00:00+2",
                         "", 42 } do
      assert.is_nil(entity.parse_time(s), tostring(s))
    end
  end)
end)
