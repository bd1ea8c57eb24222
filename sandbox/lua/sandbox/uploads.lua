-- The three multipart operations, stateful: the parts are parsed and checked (sandbox.check →
-- sandbox.multipart), the files kept in the store under their signed path, and the answer is the
-- API's: CustomerDocumentUploadResult, CustomerImage, IdlePeriod. Each upload answer carries
-- x-sandbox-parts (JSON: each part's name, filename, content_type, size, sha256, json) for the
-- client's specs, and emits its webhook. Also the test route POST /v1/_test/multipart-echo.

local api = require "sandbox.api"
local cjson = require "cjson.safe"
local check = require "sandbox.check"
local customers = require "sandbox.customers"
local gen = require "sandbox.gen"
local json = require "sandbox.json"
local multipart = require "sandbox.multipart"
local respond = require "sandbox.respond"
local store = require "sandbox.store"
local urls = require "sandbox.urls"
local webhooks = require "sandbox.webhooks"

local ngx = ngx
local floor = math.floor

local _M = {}

-- Declared file parts go to spool files in the store (a rename keeps them).
local function spool()
  return "file", store.spool_path()
end

-- POST /customers/{customerId}/documents?description=: part `file`.
function _M.upload_document(req, raw_id)
  local customer_id = api.find_any(req, raw_id)
  if not customer_id then return end
  local parts, by_name = check.multipart(req, req.op, spool)
  if not parts then return end
  local tenant, file = req.tenant, by_name.file
  local id = store.next_id(tenant, "document")
  local path = urls.path(tenant, customer_id, "document-" .. id)
  store.keep_file(path, file)
  multipart.discard(parts)
  local description = req.args.description
  store.add_document(tenant, customer_id, {
    id = id, fileName = file.filename or ("document-%d"):format(id),
    description = type(description) == "string" and description or nil, file = path,
  })
  -- the event list has no document event: an upload changes the customer
  webhooks.emit(tenant, "CUSTOMER_UPDATED", customer_id)
  return respond.json(req, 200, { id = id })
end

-- PUT /customers/{customerId}/images: part `image`, a JPEG or PNG.
function _M.update_image(req, raw_id)
  local customer_id = api.find_any(req, raw_id)
  if not customer_id then return end
  local parts, by_name = check.multipart(req, req.op, spool)
  if not parts then return end
  local tenant, image = req.tenant, by_name.image
  local version = store.new_image_version(tenant, customer_id)
  local path = urls.path(tenant, customer_id, "image-" .. version)
  -- served as what its bytes are, whatever the part said
  image.content_type = check.image_type(image.head)
  store.keep_file(path, image)
  multipart.discard(parts)
  store.put_image(tenant, customer_id, { version = version, file = path })
  webhooks.emit(tenant, "CUSTOMER_UPDATED", customer_id)
  return respond.json(req, 200, { imageUrl = urls.sign(path, "CustomerImage", "imageUrl") })
end

local REASONS = { "Illness", "Pregnancy", "Travel", "Military service", "Other" }
local UNIT_DAYS = { DAY = 1, WEEK = 7, MONTH = 30 }

-- The customer id of a contract (contract k of a customer is customerId * 10 + k), or nil.
local function contract_owner(tenant, contract_id)
  local customer_id, k = floor(contract_id / 10), contract_id % 10
  local i = customers.index_of(tenant, customer_id)
  if i and k >= 1 and k <= #customers.contracts(tenant, i) then return customer_id end
  return nil
end

-- POST /memberships/{contractId}/self-service/idle-periods: parts `data` (IdlePeriodRequest,
-- application/json) and `document` (optional). Other ids are not checked, as in the generic
-- responder; the event goes out for a contract of a known customer.
function _M.create_idle_period(req, raw_contract_id)
  local contract_id = tonumber(raw_contract_id)
  local parts, by_name = check.multipart(req, req.op, spool)
  if not parts then return end
  local tenant, data, document = req.tenant, by_name.data.json, by_name.document
  local id = store.next_id(tenant, "idle")
  local owner = contract_owner(tenant, contract_id)
  local y, m, d = data.startDate:match("^(%d+)-(%d+)-(%d+)$")
  local start = gen.days(tonumber(y), tonumber(m), tonumber(d))
  local period = {
    id = id, startDate = data.startDate,
    endDate = gen.date(start + math.max(1, data.termValue) * UNIT_DAYS[data.temporalUnit] - 1),
    reason = REASONS[(data.reasonId - 1) % #REASONS + 1],
    fee = { amount = 0, currency = tenant.currency },
    state = "PENDING_VERIFICATION",
  }
  if document then
    local path = urls.path(tenant, owner or floor(contract_id / 10), "idle-period-" .. id)
    store.keep_file(path, document)
    period.documentUrl = urls.sign(path, "IdlePeriod", "documentUrl")
  end
  multipart.discard(parts)
  if owner then
    webhooks.emit(tenant, "CONTRACT_IDLE_PERIOD_CREATED", owner,
      { contractId = contract_id, idlePeriodId = id })
  end
  return respond.json(req, 200, period)
end

-- POST /v1/_test/multipart-echo: any multipart body, parsed, each part described:
-- {parts = [{name, filename, content_type, size, sha256, json?, value?}], bytes}. `json` for a
-- part sent as application/json (null when it does not parse), `value` for a short field
-- without a filename (≤ 4 KiB). File bytes are counted and hashed, not kept.
function _M.echo(req)
  local boundary = multipart.boundary(ngx.var.content_type)
  if not boundary then
    ngx.req.read_body()
    return respond.invalid(req, "body", "error.validation.multipart", { field = "body" })
  end
  local parts, why, size = multipart.parse(boundary, function(part)
    local media = multipart.header_value(part.content_type or "")
    if media == "application/json" or part.filename == nil then return "memory" end
    return "discard"
  end)
  req.body_bytes = size
  if not parts then
    return respond.json(req, 400, {
      errorCode = "error.validation.multipart", errorMessage = why, reference = "body" })
  end
  for _, p in ipairs(parts) do
    if multipart.header_value(p.content_type or "") == "application/json" then
      p.json = p.data and cjson.decode(p.data) or json.null
    end
  end
  local out = check.parts_summary(parts)
  for k, p in ipairs(parts) do
    if p.json == nil and p.data and #p.data <= 4096 and p.filename == nil then
      out[k].value = p.data
    end
  end
  ngx.header["x-sandbox-parts"] = json.encode(out)
  return respond.json(req, 200, { parts = json.array(out), bytes = size })
end

return _M
