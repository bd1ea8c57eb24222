-- Handlers of the Open API routes. Each gets the request context (req.tenant, req.args, …) and
-- the path captures, checks its parameters with the limits of the API and answers.

local customers = require "sandbox.customers"
local json = require "sandbox.json"
local params = require "sandbox.params"
local respond = require "sandbox.respond"
local studio = require "sandbox.studio"

local _M = {}

-- FORMER_MEMBER is accepted as newer API versions do; the three filters partition customers.
local CUSTOMER_STATUS = { MEMBER = true, PROSPECT = true, FORMER_MEMBER = true }
local CARD_FORMATS = { DECIMAL = true, HEX_MSB = true, HEX_LSB = true }
local CONTRACT_STATUS = { ACTIVE = true, INACTIVE = true }
local INT32_MAX = 2147483647

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
  local last = result[#result]
  return respond.json(req, 200, {
    result = json.array(result),
    -- an empty chunk keeps the cursor where it was ("0" = nothing delivered yet)
    offset = last and ("%d"):format(last.id) or raw or "0",
    hasNext = has_next,
  })
end

-- The customer index for a path id, or nil after answering 400/404.
local function find_customer(req, raw)
  local id = params.id(req, "customerId", raw)
  if not id then return nil end
  local i = customers.index_of(req.tenant, id)
  if not i then return respond.error(req, 404, "error.customer.not_found", { id = raw }) end
  return i
end

function _M.customer(req, raw_id)
  local i = find_customer(req, raw_id)
  if not i then return end
  local format = params.enum(req, req.args, "cardNumberFormat", "DECIMAL", CARD_FORMATS)
  if not format then return end
  return respond.json(req, 200, customers.customer(req.tenant, i, format))
end

function _M.contracts(req, raw_id)
  local i = find_customer(req, raw_id)
  if not i then return end
  local status = params.enum(req, req.args, "status", "ANY", CONTRACT_STATUS)
  if not status then return end
  local list = {}
  for _, c in ipairs(customers.contracts(req.tenant, i)) do
    if status == "ANY" or c.contractStatus == status then list[#list + 1] = c end
  end
  return respond.json(req, 200, json.array(list))
end

-- GET /employees: index cursor; the answer's offset is request offset + sliceSize.
function _M.employees(req)
  local args = req.args
  local size = params.integer(req, args, "sliceSize", 50, 10, 100)
  if not size then return end
  local offset = params.integer(req, args, "offset", 0, 0, INT32_MAX)
  if not offset then return end
  local tenant = req.tenant
  local result = {}
  for k = offset + 1, math.min(offset + size, tenant.employees) do
    result[#result + 1] = studio.employee(tenant, k)
  end
  return respond.json(req, 200, {
    result = json.array(result),
    offset = ("%d"):format(offset + size),
    hasNext = offset + size < tenant.employees,
  })
end

function _M.employee(req, raw_id)
  local id = params.id(req, "employeeId", raw_id)
  if not id then return end
  local k = studio.employee_index(req.tenant, id)
  if not k then return respond.error(req, 404, "error.employee.not_found", { id = raw_id }) end
  return respond.json(req, 200, studio.employee(req.tenant, k))
end

return _M
