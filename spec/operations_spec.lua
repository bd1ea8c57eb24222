-- The generated operations table (lua/studioapi/operations.lua) against the reference facts
-- (api-reference.md §2, §3.8, §5), and the generator against the spec it was made from.
local operations = require "studioapi.operations"

local ops, schemas = operations.operations, operations.schemas

-- The vendor spec lives beside the repository (../shared in CI), or where STUDIOAPI_SPEC says.
local SPEC = os.getenv("STUDIOAPI_SPEC") or "../shared/spec/openapi.json"
local GENERATOR = "tools/gen_operations.lua"
local REGENERATE = "lua5.4 tools/gen_operations.lua ../shared/spec/openapi.json"

local function read(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local text = f:read("*a")
  f:close()
  return text
end

local function spec_text()
  local text = read(SPEC)
  assert(text, ("the Open API spec is missing at %s (run from the repository root with "
    .. "../shared beside it, or set STUDIOAPI_SPEC)"):format(SPEC))
  return text
end

local function shell_quote(s)
  return "'" .. s:gsub("'", "'\\''") .. "'"
end

-- os.execute answers `true|nil, "exit", code` on Lua 5.4 and a status number on LuaJIT.
local function run(cmd)
  local a, _, code = os.execute(cmd)
  if type(a) == "number" then return a == 0 end
  return a == true and (code == nil or code == 0)
end

-- Runs the generator into temporary files; returns the Lua text and the page.
local function generate(spec_path)
  local lua_out, md_out, err_out = os.tmpname(), os.tmpname(), os.tmpname()
  local ok = run(("lua5.4 %s %s %s %s 2>%s"):format(GENERATOR, shell_quote(spec_path),
    shell_quote(lua_out), shell_quote(md_out), shell_quote(err_out)))
  local lua_text, md_text, err_text = read(lua_out), read(md_out), read(err_out)
  os.remove(lua_out); os.remove(md_out); os.remove(err_out)
  return ok, lua_text, md_text, err_text
end

local function count(t)
  local n = 0
  for _ in pairs(t) do n = n + 1 end
  return n
end

local function param(op_id, name)
  for _, p in ipairs(ops[op_id].params or {}) do
    if p.name == name then return p end
  end
end

local function set(list)
  local s = {}
  for _, v in ipairs(list) do s[v] = true end
  return s
end

describe("studioapi.operations", function()
  it("is made from the spec version 1.5.0 and lists its 16 tags", function()
    assert.equal("1.5.0", operations.version)
    assert.equal(16, #operations.tags)
    assert.equal("Appointments", operations.tags[1])
    assert.equal("Trial Offers", operations.tags[16])
  end)

  it("holds 121 operations, each under a declared tag", function()
    assert.equal(121, count(ops))
    local tags = set(operations.tags)
    for id, op in pairs(ops) do
      assert.is_true(tags[op.tag], id)
      assert.matches("^/", op.path, 1, false, id)
      assert.is_nil(op.path:match("^/v1/"), id)
    end
  end)

  it("has every operationId of the spec exactly once", function()
    local seen, n = {}, 0
    for id in spec_text():gmatch('"operationId"%s*:%s*"([^"]+)"') do
      assert.is_nil(seen[id], "operationId used twice in the spec: " .. id)
      seen[id] = true
      n = n + 1
      assert.is_table(ops[id], id)
    end
    assert.equal(121, n)
  end)

  it("has each method and path only once", function()
    local seen = {}
    for id, op in pairs(ops) do
      local key = op.method .. " " .. op.path
      assert.is_nil(seen[key], key .. " is both " .. tostring(seen[key]) .. " and " .. id)
      seen[key] = id
      assert.is_true(set { "GET", "POST", "PUT", "PATCH", "DELETE" }[op.method], id)
    end
  end)

  it("lists every path parameter of a path, required, and no others", function()
    for id, op in pairs(ops) do
      local in_path = {}
      for name in op.path:gmatch("{([^}]+)}") do
        in_path[name] = true
        local p = param(id, name)
        assert.is_table(p, id .. ": no parameter " .. name)
        assert.equal("path", p["in"], id .. " " .. name)
        assert.is_true(p.required, id .. " " .. name)
      end
      for _, p in ipairs(op.params or {}) do
        if p["in"] == "path" then assert.is_true(in_path[p.name], id .. " " .. p.name) end
      end
    end
  end)

  it("gives every parameter a place and a plain type", function()
    local types = set { "integer", "number", "string", "boolean", "array" }
    for id, op in pairs(ops) do
      for _, p in ipairs(op.params or {}) do
        assert.is_true(p["in"] == "path" or p["in"] == "query", id .. " " .. p.name)
        assert.is_true(types[p.type], id .. " " .. p.name .. " has type " .. tostring(p.type))
        if p.type == "array" then assert.is_table(p.items, id .. " " .. p.name) end
      end
    end
  end)

  describe("getCustomers", function()
    local op = ops.getCustomers

    it("is GET /customers, chunked in cursor mode over Customer", function()
      assert.equal("GET", op.method)
      assert.equal("/customers", op.path)
      assert.equal("Customers", op.tag)
      assert.equal("cursor", op.chunked)
      assert.equal("Customer", op.item_schema)
      assert.equal("CustomerSlicedResult", op.response)
    end)

    it("takes sliceSize 50-500, default 100, and an offset without default", function()
      local size = param("getCustomers", "sliceSize")
      assert.same({ 100, 50, 500 }, { size.default, size.minimum, size.maximum })
      assert.equal("integer", size.type)
      assert.equal("query", size["in"])
      assert.is_nil(size.required)
      local offset = param("getCustomers", "offset")
      assert.equal("string", offset.type)
      assert.is_nil(offset.default)
    end)

    it("takes customerStatus MEMBER or PROSPECT, default MEMBER", function()
      local status = param("getCustomers", "customerStatus")
      assert.same({ "MEMBER", "PROSPECT" }, status.enum)
      assert.equal("MEMBER", status.default)
    end)

    it("resolves cardNumberFormat to its enum and marks lastOffsetId deprecated", function()
      local fmt = param("getCustomers", "cardNumberFormat")
      assert.equal("string", fmt.type)
      assert.same({ "DECIMAL", "HEX_MSB", "HEX_LSB" }, fmt.enum)
      assert.equal("DECIMAL", fmt.default)
      assert.is_true(param("getCustomers", "lastOffsetId").deprecated)
    end)
  end)

  it("keeps the default of cardNumberFormat on the operations that declare one only", function()
    assert.is_nil(param("getCrossStudioCustomerBy", "cardNumberFormat").default)
    assert.equal("DECIMAL", param("getCustomerBy", "cardNumberFormat").default)
  end)

  it("has getEmployees chunked in slice mode, sliceSize 10-100, default 50", function()
    local op = ops.getEmployees
    assert.equal("slice", op.chunked)
    assert.equal("Employee", op.item_schema)
    local size = param("getEmployees", "sliceSize")
    assert.same({ 50, 10, 100 }, { size.default, size.minimum, size.maximum })
    assert.equal("0", param("getEmployees", "offset").default)
  end)

  it("chunks exactly the enveloped lists, the id-based ones as cursors", function()
    local cursor = set { "getCustomers", "getActiveClasses", "getBookableAppointments",
                         "getBookableTrialOfferClasses", "getBookableTrialOfferAppointments" }
    local n = 0
    for id, op in pairs(ops) do
      local envelope = type(op.response) == "string" and schemas[op.response].fields
      local enveloped = envelope and envelope.result and envelope.hasNext and envelope.offset
      if enveloped then
        n = n + 1
        assert.equal(cursor[id] and "cursor" or "slice", op.chunked, id)
        assert.equal(envelope.result.items.ref, op.item_schema, id)
        assert.is_table(param(id, "offset"), id)
        assert.is_table(param(id, "sliceSize"), id)
      else
        assert.is_nil(op.chunked, id)
        assert.is_nil(op.item_schema, id)
      end
    end
    assert.equal(16, n)
  end)

  it("reads the 1-50 and 10-100 slice limits of §5", function()
    for _, id in ipairs { "getCustomersCheckinHistory", "getCrossStudioCustomersCheckinHistory",
                          "getDocuments", "getCustomersAccountTransactionData",
                          "getCustomersAccountUpcomingData", "getDebtors",
                          "getDebtCollectionBlockedDebtors", "getDebtCollectionBlockedDebts" } do
      local size = param(id, "sliceSize")
      assert.same({ 10, 1, 50 }, { size.default, size.minimum, size.maximum }, id)
    end
    for _, id in ipairs { "getActiveClasses", "getClassSlots", "getBookableAppointments",
                          "getBookableTrialOfferClasses", "getClassSlotsForTrialOffers",
                          "getBookableTrialOfferAppointments" } do
      local size = param(id, "sliceSize")
      assert.same({ 50, 10, 100 }, { size.default, size.minimum, size.maximum }, id)
    end
  end)

  it("has getCustomerById answer a Customer", function()
    assert.equal("Customer", ops.getCustomerById.response)
    assert.equal("/customers/{customerId}", ops.getCustomerById.path)
    assert.equal("int64", param("getCustomerById", "customerId").format)
  end)

  it("describes bare-array answers, empty answers and JSON bodies", function()
    assert.same({ array = "Customer" }, ops.searchCustomers.response)
    assert.same({ kind = "json", schema = "CustomerSearchRequest", required = true },
      ops.searchCustomers.body)
    assert.is_nil(ops.confirmActivation.response)
    assert.is_nil(ops.confirmActivation.body)
    assert.same({ kind = "json", type = "array", items = "CommunicationPreference",
                  required = true }, ops.updateCommunicationPreferences.body)
  end)

  it("uploads a customer document as one binary part 'file', the description in the query",
    function()
      local op = ops.uploadDocument
      assert.equal("POST", op.method)
      assert.equal("/customers/{customerId}/documents", op.path)
      assert.equal("multipart", op.body.kind)
      assert.same({ { name = "file", binary = true, required = true } }, op.body.parts)
      assert.equal("query", param("uploadDocument", "description")["in"])
      assert.equal("CustomerDocumentUploadResult", op.response)
    end)

  it("uploads a customer image as one binary part 'image'", function()
    assert.same({ { name = "image", binary = true, required = true } }, ops.updateImage.body.parts)
  end)

  it("uploads an idle period as a JSON part 'data' and an optional binary 'document'", function()
    local op = ops.createIdlePeriodAmendment
    assert.equal("POST", op.method)
    assert.equal("/memberships/{contractId}/self-service/idle-periods", op.path)
    assert.equal("multipart", op.body.kind)
    assert.same({
      { name = "data", json = true, schema = "IdlePeriodRequest", required = true },
      { name = "document", binary = true },
    }, op.body.parts)
    assert.equal("IdlePeriod", op.response)
  end)

  it("knows the signed URL lifetimes of §3.8", function()
    assert.equal(900, schemas.Customer.url_lifetimes.imageUrl)
    assert.equal(7200, schemas.MembershipOffer.url_lifetimes.imageUrl)
    local expected = {
      AttachedDocument = { url = 18000 },
      Contract = { signedDocumentUrl = 900 },
      Customer = { imageUrl = 900 },
      CustomerDocument = { url = 900 },
      CustomerImage = { imageUrl = 900 },
      IdlePeriod = { documentUrl = 900 },
      MembershipOffer = { imageUrl = 7200 },
      MembershipOfferExtended = { imageUrl = 7200 },
      MembershipOfferIncludedModule = { imageUrl = 18000 },
      MembershipOfferModule = { imageUrl = 18000 },
      MembershipSwitchConfigPresentationDto = { imageUrl = 900 },
      TaxAdvisorExportDownload = { downloadUrl = 900 },
    }
    local got = {}
    for name, s in pairs(schemas) do got[name] = s.url_lifetimes end
    assert.same(expected, got)
  end)

  it("describes Customer with the API's field names", function()
    local c = schemas.Customer
    assert.equal("object", c.type)
    assert.same({ type = "integer", format = "int64" }, c.fields.id)
    assert.same({ type = "string", format = "date" }, c.fields.dateOfBirth)
    assert.same({ "MEMBER", "PROSPECT", "FORMER_MEMBER" }, c.fields.status.enum)
    assert.same({ ref = "Language" }, c.fields.preferredLanguage)
    assert.same({ type = "array", items = { ref = "AccessMediumDto" } }, c.fields.accessMediums)
    assert.same({ "accessRefusal", "id", "status" }, c.required)
    assert.same({ type = "string", enum = { "ACTIVE", "INACTIVE" } }, schemas.ContractStatus)
  end)

  it("resolves every ref to an object schema of the table", function()
    local function check(d, where)
      if type(d) ~= "table" then return end
      if d.ref then
        assert.is_table(schemas[d.ref], where .. ": unknown schema " .. d.ref)
        assert.equal("object", schemas[d.ref].type, where)
      end
      check(d.items, where .. "[]")
      for name, f in pairs(d.fields or {}) do check(f, where .. "." .. name) end
    end
    local function known(name, where)
      assert.equal("object", (schemas[name] or {}).type, where .. ": unknown schema "
        .. tostring(name))
    end
    for name, s in pairs(schemas) do check(s, name) end
    for id, op in pairs(ops) do
      for _, p in ipairs(op.params or {}) do check(p, id .. " " .. p.name) end
      if type(op.response) == "table" then known(op.response.array, id)
      elseif op.response then known(op.response, id) end
      if op.item_schema then known(op.item_schema, id) end
      if op.body then
        if op.body.schema then known(op.body.schema, id) end
        if op.body.items then known(op.body.items, id) end
        for _, part in ipairs(op.body.parts or {}) do
          if part.schema then known(part.schema, id .. " " .. part.name) end
        end
      end
    end
  end)

  it("holds facts only: names, types and values, no description texts", function()
    local function walk(v, where)
      if type(v) == "string" then
        -- Tag names and formats like "ISO 3166-1" have one space; sentences have more.
        local _, spaces = v:gsub(" ", "")
        assert.is_true(spaces <= 1, where .. ": " .. v)
      elseif type(v) == "number" then
        assert.is_true(v == math.floor(v) and math.abs(v) < 2^53, where)
      elseif type(v) == "table" then
        for k, x in pairs(v) do walk(x, where .. "." .. tostring(k)) end
      end
    end
    walk(operations, "operations")
  end)
end)

describe("tools/gen_operations.lua", function()
  it("regenerates the committed table and page byte for byte, twice", function()
    spec_text()   -- fails with a clear message when the spec is missing
    local ok, lua1, md1, err1 = generate(SPEC)
    assert.is_true(ok, "the generator failed: " .. tostring(err1))
    local ok2, lua2, md2 = generate(SPEC)
    assert.is_true(ok2)
    assert.is_true(lua1 == lua2, "two runs gave different operations.lua")
    assert.is_true(md1 == md2, "two runs gave different operations.md")
    local stale = "is not what the generator makes of the spec; regenerate it: " .. REGENERATE
    assert.is_true(lua1 == read("lua/studioapi/operations.lua"), "lua/studioapi/operations.lua "
      .. stale)
    assert.is_true(md1 == read("docs/operations.md"), "docs/operations.md " .. stale)
  end)

  it("says it is generated, from which spec version and how to regenerate", function()
    local head = read("lua/studioapi/operations.lua"):sub(1, 400)
    assert.truthy(head:find("Generated by tools/gen_operations.lua", 1, true))
    assert.truthy(head:find("spec version 1.5.0", 1, true))
    assert.truthy(head:find(REGENERATE, 1, true))
  end)

  it("stops with a message and a failure status when the spec cannot be read", function()
    local ok, _, _, err = generate("/nonexistent/openapi.json")
    assert.is_false(ok)
    assert.matches("gen_operations: cannot read the spec", err, 1, true)
  end)
end)
