-- Every operation of the operations table once through client:call against the sandbox, its
-- answer checked against the table (entity type, array, chunk envelope, empty body); the
-- sandbox's own parameter checks, asked with raw requests the client does not check; and both
-- chunk modes over 2,345 records, with a failure injected half-way and the walk resumed.
local studioapi = require "studioapi"
local operations = require "studioapi.operations"
local sandbox = require "spec.support.sandbox"

local ops, schemas = operations.operations, operations.schemas
local json = studioapi.json

local CUSTOMER = 1008 -- customer 1 of every tenant: 2,345 check-ins
local HISTORY, CLASSES = 2345, 2345

-- The client without retries: a failure the sandbox injects must reach the pager.
local function new_client()
  return assert(studioapi.new(sandbox.client_options("acme", { retry = false })))
end

-- The operation ids in name order, split into JSON ones and multipart ones.
local json_ops, multipart_ops = {}, {}
for op_id, op in pairs(ops) do
  local list = op.body and op.body.kind == "multipart" and multipart_ops or json_ops
  list[#list + 1] = op_id
end
table.sort(json_ops)
table.sort(multipart_ops)

--------------------------------------------------------------------------------------------------
-- Request bodies from the body schema: every field, the first enum value, one array item.

local STRINGS = {
  date = "2025-06-02", ["date-time"] = "2025-06-02T10:00:00.000+02:00[Europe/Berlin]",
  uuid = "0b7e3f0a-5c1d-4e2f-9a3b-4c5d6e7f8a9b", ["ISO 3166-1"] = "US", ["ISO 4217"] = "USD",
  ["ISO 639-1"] = "en",
}

local example

local function value(f, depth)
  if f.ref then return depth < 6 and example(f.ref, depth + 1) or nil end
  if f.enum then return f.enum[1] end
  if f.type == "integer" then return 1 end
  if f.type == "number" then return 1.5 end
  if f.type == "boolean" then return true end
  if f.type == "string" then return STRINGS[f.format] or "text" end
  if f.type == "array" then return json.array { f.items and value(f.items, depth) } end
  return {} -- a free-form object
end

function example(name, depth)
  local out = {}
  for field, f in pairs(schemas[name].fields or {}) do out[field] = value(f, depth or 1) end
  return out
end

local function body_for(op)
  local body = op.body
  if not body or body.kind ~= "json" then return nil end
  if body.type == "array" then return json.array { example(body.items) } end
  return example(body.schema)
end

--------------------------------------------------------------------------------------------------
-- Parameters: every required one, with ids the stateful routes know.

-- Ids of records that exist, fetched once (see the setup below).
local ids = {}

local function id_param(op, name)
  local path = op.path
  if name == "customerId" then return CUSTOMER end
  if name == "classId" and path:find("^/classes/") then return ids.class end
  if name == "classSlotId" then return ids.slot end
  if name == "bookingId" and path:find("^/classes/") then return ids.class_booking end
  if name == "bookingId" and path:find("^/appointments/") then return ids.appointment_booking end
  if name == "bookableAppointmentId" and path:find("^/appointments/") then
    return ids.appointment
  end
  if name == "membershipOfferId" then return ids.offer end
  if name == "id" then return path:find("^/employees/") and ids.employee or ids.document end
  return 1
end

-- Parameters the table does not require but the stateful routes need to find something.
local EXTRA = {
  getCustomerBy = { customerNumber = "100001" },
  getCustomerContractsBy = { customerNumber = "100001" },
  getBookableAppointmentSlots = { daysAhead = 6 },
}
local BODIES = {
  searchCustomers = { email = "member100001@acme.example.com" },
}

local function params_for(op_id, op)
  local params = {}
  for _, p in ipairs(op.params or {}) do
    if p.required then
      if p.type == "integer" then
        params[p.name] = id_param(op, p.name)
      else
        params[p.name] = p.enum and p.enum[1] or "sauna"
      end
    end
  end
  for k, v in pairs(EXTRA[op_id] or {}) do params[k] = v end
  params.body = BODIES[op_id] or body_for(op)
  return params
end

--------------------------------------------------------------------------------------------------
-- Checking an answer against the table.

local function assert_items(list, schema, what)
  for i, item in ipairs(list) do
    assert.equal(schema, item:schema(), ("%s: item %d"):format(what, i))
  end
end

local function assert_shape(op_id, op, result)
  local response = op.response
  if response == nil then
    assert.is_true(result, op_id .. ": an empty 200")
  elseif type(response) == "table" then
    assert.is_true(json.is_array(result), op_id .. ": a JSON array")
    assert.truthy(#result >= 1, op_id .. ": at least one item")
    assert_items(result, response.array, op_id)
  else
    assert.equal(response, result:schema(), op_id)
    if op.chunked then
      assert.equal("string", type(result.offset), op_id .. ": offset")
      assert.equal("boolean", type(result.hasNext), op_id .. ": hasNext")
      assert.is_true(json.is_array(result.result), op_id .. ": result")
      assert.truthy(#result.result >= 1, op_id .. ": at least one item")
      assert_items(result.result, op.item_schema, op_id)
    end
  end
end

--------------------------------------------------------------------------------------------------

describe("client:call over every operation", function()
  local client
  setup(function()
    client = new_client()
    local function call(op_id, params) return assert(client:call(op_id, params)) end
    for c in client:each("getActiveClasses", { sliceSize = 10 }) do
      local slots = call("getClassSlots", { classId = c.id, sliceSize = 10 }).result
      if slots[1] then
        ids.class, ids.slot = c.id, slots[1].id
        break
      end
    end
    ids.class_booking = call("getClassBookingsByCustomerId", { customerId = CUSTOMER })[1].bookingId
    ids.appointment = call("getBookableAppointments", {}).result[1].id
    ids.appointment_booking = call("getAppointmentBookings", { customerId = CUSTOMER })[1].bookingId
    ids.document = call("getDocuments", { customerId = CUSTOMER }).result[1].id
    ids.offer = call("getMembershipOffers", {})[1].id
    ids.employee = call("getEmployees", {}).result[1].id
  end)
  teardown(function() client:close() end)

  it("knows 121 operations, 3 of them uploads", function()
    assert.equal(118, #json_ops)
    assert.same({ "createIdlePeriodAmendment", "updateImage", "uploadDocument" }, multipart_ops)
  end)

  for _, op_id in ipairs(json_ops) do
    local op = ops[op_id]
    it(("answers %s (%s %s) in its response shape"):format(op_id, op.method, op.path), function()
      local result, err = client:call(op_id, params_for(op_id, op))
      assert(result, err and tostring(err))
      assert_shape(op_id, op, result)
    end)
  end

  -- Every part of an upload: a JSON part from its schema, a file part as bytes (the image a PNG,
  -- the only check on a file's bytes the client makes).
  local PNG = "\137PNG\r\n\26\n\0\0\0\rIHDR\0\0\0\1\0\0\0\1\8\6\0\0\0\31\21\196\137"
  local PDF = "%PDF-1.4\n% operations loop\n%%EOF\n"
  local function parts_for(op)
    local parts = {}
    for _, p in ipairs(op.body.parts) do
      if p.json then
        parts[p.name] = example(p.schema)
      else
        parts[p.name] = { content = p.name == "image" and PNG or PDF }
      end
    end
    return parts
  end

  for _, op_id in ipairs(multipart_ops) do
    local op = ops[op_id]
    it(("uploads %s (%s %s) and answers in its response shape"):format(op_id, op.method,
      op.path), function()
      local params = params_for(op_id, op)
      params.parts = parts_for(op)
      local result, err = client:call(op_id, params)
      assert(result, err and tostring(err))
      assert_shape(op_id, op, result)
    end)
  end
end)

describe("the sandbox checks requests against the operations table", function()
  local client
  setup(function() client = new_client() end)
  teardown(function() client:close() end)

  -- A raw request (the client's own checks play no part) that must fail with a 400.
  local function refused(spec, code, reference)
    local res, err = client:request(spec)
    assert.is_nil(res, spec.path)
    assert.equal(400, err.status, spec.path)
    assert.equal(code, err.code, spec.path)
    assert.equal(reference, err.reference, spec.path)
    return err
  end

  it("answers a missing required query parameter with error.validation.required", function()
    refused({ path = "/classes/booking" }, "error.validation.required", "customerId")
    refused({ path = "/customers/benefits" }, "error.validation.required", "cardNumber")
  end)

  it("translates the message", function()
    local err = refused({ path = "/appointments/booking", language = "de" },
      "error.validation.required", "customerId")
    assert.equal("customerId ist erforderlich.", err.message)
  end)

  it("answers an integer outside its limits with error.validation.out_of_range", function()
    refused({ path = "/classes", query = { sliceSize = 9 } },
      "error.validation.out_of_range", "sliceSize")
    refused({ path = "/debt-collection/7/debtors", query = { sliceSize = 51 } },
      "error.validation.out_of_range", "sliceSize")
    refused({ path = "/appointments/bookable/7018/slots", query = { daysAhead = 0 } },
      "error.validation.out_of_range", "daysAhead")
  end)

  it("answers a value outside the enum, a wrong type or format with invalid_value", function()
    local invalid = "error.validation.invalid_value"
    refused({ path = "/customers/1008/contracts", query = { status = "EXPIRED" } }, invalid,
      "status")
    refused({ path = "/customers/benefits",
              query = { cardNumber = "1", cardNumberFormat = "OCT" } }, invalid, "cardNumberFormat")
    refused({ path = "/classes/yoga" }, invalid, "classId")
    refused({ path = "/devices/x1/activate", method = "PUT" }, invalid, "deviceId")
    refused({ path = "/classes", query = { sliceSize = "ten" } }, invalid, "sliceSize")
    refused({ path = "/customers/1008/activities/checkins", query = { fromDate = "June" } },
      invalid, "fromDate")
  end)

  it("answers a missing body with error.validation.required, reference body", function()
    refused({ path = "/classes/booking/book", method = "POST" }, "error.validation.required",
      "body")
    refused({ path = "/debt-collection/update", method = "POST" }, "error.validation.required",
      "body")
  end)

  it("answers a body that is not the declared object or array with invalid_value", function()
    local invalid = "error.validation.invalid_value"
    refused({ path = "/classes/booking/book", method = "POST", body = "[]",
              content_type = "application/json" }, invalid, "body")
    refused({ path = "/classes/booking/book", method = "POST", body = "{not json",
              content_type = "application/json" }, invalid, "body")
    refused({ path = "/customers/1008/additional-information-field-assignments", method = "PUT",
              json = { additionalInformationFieldId = 1 } }, invalid, "body")
  end)

  it("wants multipart/form-data with a boundary for an upload, and answers its shape", function()
    refused({ path = "/customers/1008/documents", method = "POST", body = "x",
              content_type = "text/plain" }, "error.validation.multipart", "file")
    refused({ path = "/customers/1008/images", method = "PUT", body = "x",
              content_type = "multipart/form-data" }, "error.validation.multipart", "image")
    local form = table.concat({ "--b0", 'Content-Disposition: form-data; name="file"; '
      .. 'filename="a.txt"', "Content-Type: text/plain", "", "hello", "--b0--", "" }, "\r\n")
    local res = assert(client:request { path = "/customers/1008/documents", method = "POST",
      body = form, content_type = "multipart/form-data; boundary=b0" })
    assert.equal(200, res.status)
    assert.equal("number", type(res.json.id))
  end)

  it("answers 404 for ids the stateful routes do not know", function()
    for _, path in ipairs { "/classes/20015", "/customers/1001/documents",
      "/classes/booking/10089", "/appointments/bookable/7019", "/customers/1001/access-code" } do
      local res, err = client:request { path = path }
      assert.is_nil(res, path)
      assert.equal(404, err.status, path)
    end
  end)
end)

--------------------------------------------------------------------------------------------------
-- Chunk modes over 2,345 records

-- Classes have an id, check-ins a checkinId.
local function id_of(item)
  return item.id or item.checkinId
end

local function walk(client, op_id, query)
  local got = {}
  for item in client:each(op_id, query) do got[#got + 1] = id_of(item) end
  return got
end

local function assert_every_id_once(n, expected, got)
  assert.equal(n, #got)
  for i = 2, #got do
    if got[i] <= got[i - 1] then
      error(("ids out of order at #%d: %s after %s"):format(i, tostring(got[i]),
        tostring(got[i - 1])))
    end
  end
  if expected then
    for i = 1, n do
      if expected[i] ~= got[i] then
        error(("id #%d: expected %s, got %s"):format(i, tostring(expected[i]), tostring(got[i])))
      end
    end
  end
end

-- Consumes `first` items, injects one 503 on the endpoint, then goes on until it fails; resumes
-- with a new pager from (offset, skip). Returns every id seen.
local function walk_with_failure(client, op_id, query, endpoint, first)
  local got = {}
  local pager = client:pager(op_id, query)
  local items = pager:items()
  for _ = 1, first do got[#got + 1] = id_of(items()) end
  sandbox.fault { endpoint = endpoint, kind = "status", status = 503, count = 1 }
  local ok, err = pcall(function()
    for item in items do got[#got + 1] = id_of(item) end
  end)
  assert.is_false(ok)
  assert.is_true(studioapi.is_error(err))
  assert.equal(503, err.status)
  local resumed = client:pager(op_id, query, { offset = pager.offset, skip = pager.skip })
  for item in resumed:items() do got[#got + 1] = id_of(item) end
  return got
end

describe("chunk modes over 2,345 records", function()
  local client
  setup(function() client = new_client() end)
  teardown(function() client:close() end)
  -- A walk makes up to 335 requests to one endpoint and the suite runs twice in a minute: a
  -- raised limit keeps the API's 1000 a minute out of the way. Faults go with the reset too.
  before_each(function() sandbox.limits { limit = 100000 } end)
  after_each(function() sandbox.reset() end)

  describe("cursor mode (getActiveClasses)", function()
    local all
    it("gives every class once, in id order, for sliceSize 10, 33 and 100", function()
      for _, size in ipairs { 100, 33, 10 } do
        local got = walk(client, "getActiveClasses", { sliceSize = size })
        assert_every_id_once(CLASSES, all, got)
        all = all or got
      end
    end)

    it("resumes after a failed chunk with nothing lost and nothing repeated", function()
      all = all or walk(client, "getActiveClasses", { sliceSize = 100 })
      local got = walk_with_failure(client, "getActiveClasses", { sliceSize = 33 },
        "GET /classes", 100)
      assert_every_id_once(CLASSES, all, got)
    end)
  end)

  describe("slice mode (getCustomersCheckinHistory of customer 1008)", function()
    local all
    it("gives every check-in once, in order, for sliceSize 7, 25 and 50", function()
      for _, size in ipairs { 50, 25, 7 } do
        local got = walk(client, "getCustomersCheckinHistory",
          { customerId = CUSTOMER, sliceSize = size })
        assert_every_id_once(HISTORY, all, got)
        all = all or got
      end
    end)

    it("resumes after a failed chunk with nothing lost and nothing repeated", function()
      all = all or walk(client, "getCustomersCheckinHistory",
        { customerId = CUSTOMER, sliceSize = 50 })
      local got = walk_with_failure(client, "getCustomersCheckinHistory",
        { customerId = CUSTOMER, sliceSize = 25 }, "GET /customers/{id}/activities/checkins", 60)
      assert_every_id_once(HISTORY, all, got)
    end)
  end)
end)
