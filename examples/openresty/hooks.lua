-- The webhook receiver of the example server: one studioapi.webhook receiver per nginx worker,
-- its handlers, and a record of what they saw (the shared dict `received`, for GET /received).
--
-- The tenants come from a Lua file (`run start` writes it from the running sandbox):
--   return { ca_file = "…", tenants = { { name, base_url, api_key, webhook_key }, … } }
--
-- CUSTOMER_CREATED: the handler fetches the new customer through the tenant's own client
-- (receiver:client(tenant)): the event names the customer, the Open API has the data. Every other
-- event is only recorded. Handlers run in a zero-delay timer (endpoints.lua), never while the
-- platform's request is open.
-- luacheck: read globals ngx

local cjson = require "cjson.safe"
local studioapi = require "studioapi"

local _M = {}

local received = ngx.shared.received
local uuids = ngx.shared.webhook_uuids

-- How long a uuid is remembered: longer than the platform's redeliveries (3 × 10 minutes).
local DEDUPE_SECONDS = 86400

-- Dedupe across the workers: the first worker to add a uuid wins, a repeat finds it there.
local shared_store = {
  check_and_add = function(_, uuid)
    local ok, err = uuids:add(uuid, true, DEDUPE_SECONDS)
    return not ok and err == "exists"
  end,
}

---Appends a record to one of the lists GET /received shows: events, refused, duplicates
---(entry k of a list at "<list>:<k>", their number at "<list>:n").
function _M.record(list, entry)
  local k = received:incr(list .. ":n", 1, 0)
  local ok, err = received:set(list .. ":" .. k, cjson.encode(entry))
  if not ok then ngx.log(ngx.ERR, "example: cannot record: ", err) end
end

local function customer_summary(c)
  return { id = c.id, firstName = c.firstName, lastName = c.lastName, email = c.email,
           status = c.status }
end

local function on_customer_created(event, tenant, receiver)
  local entry = { uuid = event.uuid, type = event.type, entityId = event.entityId,
                  tenant = tenant.name, timestamp_ms = event.timestamp_ms }
  local client, err = receiver:client(tenant)
  local customer
  if client then
    customer, err = client:call("getCustomerById", { customerId = event.entityId })
  end
  if customer then
    entry.fetched = customer_summary(customer)
  else
    entry.fetch_error = tostring(err)
  end
  _M.record("events", entry)
end

local function on_any(event, tenant)
  if event.type == "CUSTOMER_CREATED" then return end
  _M.record("events", { uuid = event.uuid, type = event.type, entityId = event.entityId,
                        tenant = tenant.name, timestamp_ms = event.timestamp_ms,
                        content = next(event.content) and event.content or nil })
end

---Builds this worker's receiver from the tenants file (init_worker_by_lua).
function _M.init(tenants_file)
  local conf = assert(dofile(tenants_file))
  local receiver = studioapi.webhook.new {
    tenants = conf.tenants,
    dedupe = shared_store,
    -- options for the clients receiver:client makes: the sandbox's CA, short timeouts (the
    -- calls block this worker while they run)
    client = { ca_file = conf.ca_file, timeout = 10, connect_timeout = 5 },
  }
  receiver:on("CUSTOMER_CREATED", on_customer_created)
  receiver:on("*", on_any)
  _M.receiver = receiver
end

return _M
