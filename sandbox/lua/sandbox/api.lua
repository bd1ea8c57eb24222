-- Handlers of the stateful Open API routes: the studio, its customers and their activity, its
-- employees. Customers created through the API (sandbox.store) answer here too, with empty
-- histories; image and document URLs are signed sandbox URLs (sandbox.urls) made per answer.
-- Each gets the request context (req.tenant, req.args, req.op, …) and the path
-- parameters' raw values; sandbox.check has checked them against the operations table before
-- (except for GET /customers, which checks its own: see routes.lua), so what is left here is
-- what the table cannot say: unknown ids (404) and rules between parameters.

local activity = require "sandbox.activity"
local chunk = require "sandbox.chunk"
local customers = require "sandbox.customers"
local gen = require "sandbox.gen"
local json = require "sandbox.json"
local params = require "sandbox.params"
local respond = require "sandbox.respond"
local store = require "sandbox.store"
local studio = require "sandbox.studio"
local urls = require "sandbox.urls"

local _M = {}

-- A search answers at most this many customers.
local SEARCH_LIMIT = 100

-- FORMER_MEMBER is accepted as newer API versions do; the three filters partition customers.
local CUSTOMER_STATUS = { MEMBER = true, PROSPECT = true, FORMER_MEMBER = true }
local CARD_FORMATS = { DECIMAL = true, HEX_MSB = true, HEX_LSB = true }
local CONTRACT_STATUS = { ACTIVE = true, INACTIVE = true }

---404 for a record of schema `entity` that does not exist.
function _M.not_found(req, entity, raw_id)
  return respond.error(req, 404, "error.entity.not_found", { entity = entity, id = raw_id })
end

---The day number of a "YYYY-MM-DD" parameter (its shape checked), nil when absent.
function _M.day_of(raw)
  if raw == nil or raw == "" then return nil end
  local y, m, d = raw:match("^(%d+)-(%d+)-(%d+)$")
  return gen.days(tonumber(y), tonumber(m), tonumber(d))
end

-- A customer as answered: its imageUrl a signed URL of the uploaded image, or of the generated
-- customer's placeholder (created customers without an image have none).
local function present(tenant, c)
  local image = store.image(tenant, c.id)
  if image then
    c.imageUrl = urls.sign(image.file, "Customer", "imageUrl")
  elseif c.imageUrl then
    c.imageUrl = urls.sign(urls.path(tenant, c.id, "image-0"), "Customer", "imageUrl")
  end
  return c
end
_M.present = present

function _M.studio_information(req)
  return respond.json(req, 200, studio.information(req.tenant))
end

-- GET /customers: id cursor. `offset` is the last id already delivered; the answer's offset is
-- the last id of this chunk, so passing it back continues after it.
function _M.customers(req)
  local args = req.args
  local size = params.integer(req, args, "sliceSize", 100, 50, 500)
  if not size then return end
  -- lastOffsetId is the deprecated name of the same cursor
  local name = args.offset == nil and args.lastOffsetId ~= nil and "lastOffsetId" or "offset"
  local raw, offset = args[name], nil
  if raw ~= nil then
    offset = params.parse_integer(raw)
    if not offset then return respond.invalid(req, name) end
  end
  local status = params.enum(req, args, "customerStatus", "MEMBER", CUSTOMER_STATUS)
  if not status then return end
  local format = params.enum(req, args, "cardNumberFormat", "DECIMAL", CARD_FORMATS)
  if not format then return end

  local result, has_next = customers.slice(req.tenant, offset, size, status, format)
  for _, c in ipairs(result) do present(req.tenant, c) end
  local last = result[#result]
  return respond.json(req, 200, {
    result = json.array(result),
    -- an empty chunk keeps the cursor where it was ("0" = nothing delivered yet)
    offset = last and ("%d"):format(last.id) or raw or "0",
    hasNext = has_next,
  })
end

-- The customer index for an id parameter, or nil after answering 400/404.
local function find_customer(req, raw)
  local id = params.id(req, "customerId", raw)
  if not id then return nil end
  local i = customers.index_of(req.tenant, id)
  if not i then return respond.error(req, 404, "error.customer.not_found", { id = raw }) end
  return i
end
_M.find_customer = find_customer

---A generated or a created customer: its id and index (nil for a created one) and the created
---record; nil after answering 400/404.
local function find_any(req, raw)
  local id = params.id(req, "customerId", raw)
  if not id then return nil end
  local i = customers.index_of(req.tenant, id)
  if i then return id, i end
  local created = store.customer(req.tenant, id)
  if created then return id, nil, created end
  return respond.error(req, 404, "error.customer.not_found", { id = raw })
end
_M.find_any = find_any

---Whether a customer id names a generated or a created customer of the tenant.
function _M.exists(tenant, id)
  return customers.index_of(tenant, id) ~= nil or store.customer(tenant, id) ~= nil
end

function _M.customer(req, raw_id)
  local id, i, created = find_any(req, raw_id)
  if not id then return end
  local format = params.enum(req, req.args, "cardNumberFormat", "DECIMAL", CARD_FORMATS)
  if not format then return end
  local c = created or customers.customer(req.tenant, i, format)
  return respond.json(req, 200, present(req.tenant, c))
end

-- Customer i's contracts with the request's `status` (any when absent), as a JSON array.
local function contracts_of(req, i)
  local status = params.enum(req, req.args, "status", "ANY", CONTRACT_STATUS)
  if not status then return end
  local list = {}
  for _, c in ipairs(customers.contracts(req.tenant, i)) do
    if status == "ANY" or c.contractStatus == status then list[#list + 1] = c end
  end
  return respond.json(req, 200, json.array(list))
end

function _M.contracts(req, raw_id)
  local id, i = find_any(req, raw_id)
  if not id then return end
  if not i then -- created: no contracts yet
    if not params.enum(req, req.args, "status", "ANY", CONTRACT_STATUS) then return end
    return respond.json(req, 200, json.array({}))
  end
  return contracts_of(req, i)
end

-- The customer an identifier of GET /customers/by names (the first given, in the order of
-- customers.IDENTIFIERS), and the card number format; nil after answering 400/404.
local function customer_by(req)
  local args = req.args
  local format = args.cardNumberFormat or "DECIMAL"
  for _, name in ipairs(customers.IDENTIFIERS) do
    local value = args[name]
    if value ~= nil and value ~= "" then
      local i = customers.lookup(req.tenant, name, value, format)
      if not i then return respond.error(req, 404, "error.customer.not_found", { id = value }) end
      return i, format
    end
  end
  return respond.error(req, 400, "error.validation.one_of_required",
    { fields = table.concat(customers.IDENTIFIERS, ", ") }, customers.IDENTIFIERS[1])
end

function _M.customer_by(req)
  local i, format = customer_by(req)
  if not i then return end
  return respond.json(req, 200, present(req.tenant, customers.customer(req.tenant, i, format)))
end

function _M.contracts_by(req)
  local i = customer_by(req)
  if not i then return end
  return contracts_of(req, i)
end

local SEARCH_FIELDS = { "firstName", "lastName", "email", "dateOfBirth" }

-- POST /customers/search: every given criterion must match (names as prefixes, in any case);
-- at least one is needed. Answers a bare array of Customer, at most SEARCH_LIMIT.
function _M.search(req)
  local body, criteria, any = req.body, {}, false
  for _, name in ipairs(SEARCH_FIELDS) do
    local v = body[name]
    if v ~= nil and v ~= json.null then
      if type(v) ~= "string" then return respond.invalid(req, name) end
      criteria[name], any = v, true
    end
  end
  if criteria.dateOfBirth and not criteria.dateOfBirth:find("^%d%d%d%d%-%d%d%-%d%d$") then
    return respond.invalid(req, "dateOfBirth")
  end
  local format = body.cardNumberFormat
  if format == nil or format == json.null then format = "DECIMAL" end
  if type(format) ~= "string" or not CARD_FORMATS[format] then
    return respond.invalid(req, "cardNumberFormat")
  end
  if not any then
    return respond.error(req, 400, "error.validation.one_of_required",
      { fields = table.concat(SEARCH_FIELDS, ", ") }, SEARCH_FIELDS[1])
  end
  local list = {}
  for k, i in ipairs(customers.search(req.tenant, criteria, SEARCH_LIMIT)) do
    list[k] = present(req.tenant, customers.customer(req.tenant, i, format))
  end
  return respond.json(req, 200, json.array(list))
end

-- GET /customers/{id}/activities/checkins: slice mode over the check-ins within
-- [fromDate, toDate] (either may be absent: the whole history then).
function _M.checkins(req, raw_id)
  local id, i = find_any(req, raw_id)
  if not id then return end
  if not i then return chunk.slice(req, 0, function() end) end
  local from, to = _M.day_of(req.args.fromDate), _M.day_of(req.args.toDate)
  if from and to and to < from then return respond.invalid(req, "toDate") end
  local tenant = req.tenant
  local n, gap = activity.checkin_plan(tenant, i)
  local lo, hi = activity.checkin_range(n, gap, from, to)
  return chunk.slice(req, math.max(0, hi - lo + 1), function(k)
    return activity.checkin(tenant, i, lo + k - 1, n, gap)
  end)
end

function _M.balances(req, raw_id)
  local id, i = find_any(req, raw_id)
  if not id then return end
  if not i then
    local zero = { amount = 0, currency = req.tenant.currency }
    return respond.json(req, 200, { accountBalance = zero, consumptionCredit = zero,
      inDebtCollection = false })
  end
  return respond.json(req, 200, activity.balance(req.tenant, i))
end

-- The account entries, past or upcoming, in slice mode.
local function entries(req, raw_id, upcoming)
  local id, i = find_any(req, raw_id)
  if not id then return end
  if not i then return chunk.slice(req, 0, function() end) end
  local tenant = req.tenant
  local past, next_year = activity.entry_counts(tenant, i)
  return chunk.slice(req, upcoming and next_year or past, function(j)
    return activity.entry(tenant, i, j, past, upcoming)
  end)
end

function _M.transactions(req, raw_id) return entries(req, raw_id, false) end
function _M.upcoming(req, raw_id) return entries(req, raw_id, true) end

-- A document as answered, its url signed: generated ones (j of customer i) and uploaded ones.
local function generated_document(tenant, i, j)
  local doc = activity.document(tenant, i, j)
  doc.url = urls.sign(urls.path(tenant, customers.id_of(i), "document-" .. doc.id),
    "CustomerDocument", "url")
  return doc
end

local function uploaded_document(doc)
  return {
    id = doc.id, fileName = doc.fileName, description = doc.description,
    url = urls.sign(doc.file, "CustomerDocument", "url"),
  }
end

-- GET /customers/{id}/documents: slice mode, in the CustomerDocuments envelope; the generated
-- documents first, then the uploaded ones in upload order.
function _M.documents(req, raw_id)
  local id, i = find_any(req, raw_id)
  if not id then return end
  local tenant = req.tenant
  local n = i and activity.document_count(tenant, i) or 0
  local uploaded = store.documents(tenant, id)
  return chunk.slice(req, n + #uploaded, function(j)
    if j <= n then return generated_document(tenant, i, j) end
    return uploaded_document(uploaded[j - n])
  end)
end

function _M.document(req, raw_id, raw_document)
  local id, i = find_any(req, raw_id)
  if not id then return end
  local doc_id = tonumber(raw_document)
  local j = i and activity.document_index(req.tenant, i, doc_id)
  if j then return respond.json(req, 200, generated_document(req.tenant, i, j)) end
  local doc = store.document(req.tenant, doc_id)
  if doc and doc.customerId == id then return respond.json(req, 200, uploaded_document(doc)) end
  return _M.not_found(req, "CustomerDocument", raw_document)
end

-- GET /employees: slice mode.
function _M.employees(req)
  local tenant = req.tenant
  return chunk.slice(req, tenant.employees, function(k) return studio.employee(tenant, k) end)
end

function _M.employee(req, raw_id)
  local id = params.id(req, "id", raw_id)
  if not id then return end
  local k = studio.employee_index(req.tenant, id)
  if not k then return respond.error(req, 404, "error.employee.not_found", { id = raw_id }) end
  return respond.json(req, 200, studio.employee(req.tenant, k))
end

function _M.utilization(req)
  return respond.json(req, 200, studio.utilization(req.tenant))
end

function _M.devices(req)
  return respond.json(req, 200, json.array(studio.devices(req.tenant)))
end

function _M.offers(req)
  local list = {}
  for k = 1, studio.OFFER_COUNT do list[k] = studio.offer(req.tenant, k, false) end
  return respond.json(req, 200, json.array(list))
end

function _M.offer(req, raw_id)
  local k = studio.offer_index(req.tenant, tonumber(raw_id))
  if not k then return _M.not_found(req, "MembershipOffer", raw_id) end
  return respond.json(req, 200, studio.offer(req.tenant, k, true))
end

return _M
