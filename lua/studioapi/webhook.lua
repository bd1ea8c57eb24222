--- studioapi.webhook — receives the Open API's webhook events for one or many tenants.
--
-- The platform POSTs each event as JSON `{entityId, uuid, payload = {{timestamp, type, content}}}`
-- with the tenant's *webhook* key in `x-api-key`. It wants an answer within 5 seconds and no Open
-- API call while the webhook request is open. So the receiver answers at once (`handle` checks the
-- key, checks the body, drops repeats and queues the event) and runs the handlers later (`drain`),
-- where they may call the Open API through `receiver:client(tenant)`.
--
--   local studioapi = require "studioapi"
--   local receiver = studioapi.webhook.new {
--     tenants = {
--       { name = "acme", base_url = "https://acme.open-api.example.com/v1",
--         api_key = os.getenv "ACME_KEY", webhook_key = os.getenv "ACME_WEBHOOK_KEY" },
--       { name = "zenith", base_url = "https://zenith.open-api.example.com/v1",
--         api_key = os.getenv "ZENITH_KEY",     -- during a key rotation both keys are accepted:
--         webhook_keys = { os.getenv "ZENITH_WEBHOOK_KEY_OLD", os.getenv "ZENITH_WEBHOOK_KEY" } },
--     },
--     client = { timeout = 10 },        -- extra studioapi.new options for receiver:client
--   }
--   receiver:on("CUSTOMER_CREATED", function(event, tenant, r)
--     local customer, err = r:client(tenant):get("/customers/" .. event.entityId)
--     ...
--   end)
--   receiver:on("*", function(event, tenant) log(tenant.name, event.type, event.uuid) end)
--
--   local status, err = receiver:handle(headers, body)  -- answer `status` now: 200, 400, 401, 503
--   local handled, failures = receiver:drain()         -- later, outside the webhook request
--
-- OpenResty: one receiver per worker (each worker has its own Lua VM, hence its own queue), built
-- in a module of your own (`hooks.lua` returning the receiver above). The request only answers;
-- the handlers run in a zero-delay timer, after the answer has gone out:
--
--   location = /webhooks {
--     content_by_lua_block {
--       local receiver = require "hooks"
--       ngx.req.read_body()
--       local status = receiver:handle(ngx.req.get_headers(), ngx.req.get_body_data())
--       if status == 200 then ngx.timer.at(0, function() receiver:drain() end) end
--       ngx.status = status
--       ngx.exit(status)
--     }
--   }
--
-- Why the timer: the platform counts a delivery as failed after 5 s, and the Open API must not be
-- called while the webhook request is open. studioapi's calls block (libcurl), so inside the timer
-- they hold up that worker's other requests while they run: keep handlers short, or let them pass
-- the work on to a job queue or another process.
-- The `uuid`s seen are remembered per receiver (the last 10,000). To share them between workers,
-- plug in an `ngx.shared` dict as the dedupe store (entries kept for a day, longer than the
-- platform's redeliveries; nginx.conf: `lua_shared_dict webhook_uuids 10m;`):
--
--   local dict = ngx.shared.webhook_uuids
--   local store = { check_and_add = function(_, uuid)
--     local ok, err = dict:add(uuid, true, 86400) return not ok and err == "exists" end }
--   local receiver = studioapi.webhook.new { tenants = {...}, dedupe = store }

local errors = require "studioapi.errors"
local options = require "studioapi.options"

local type, pairs, ipairs, next, tostring, error, setmetatable, pcall, xpcall, require =
  type, pairs, ipairs, next, tostring, error, setmetatable, pcall, xpcall, require
local byte, format, lower = string.byte, string.format, string.lower
local sort, concat = table.sort, table.concat
local floor = math.floor
-- Lua 5.4: integral floats (lua-cjson decodes all numbers so) become integers; LuaJIT has none.
local tointeger = math.tointeger or function(n) return n end
local traceback = debug.traceback

local _M = {}

--------------------------------------------------------------------------------------------------
-- Event types

-- The 44 event types of the webhook reference. `CANCELLED` is spelt with two l, as the API does.
local TYPE_LIST = {
  "ADDITIONAL_INFORMATION_FIELDS_UPDATED", "AGGREGATOR_MEMBER_CREATED",
  "APPOINTMENT_BOOKING_CREATED", "APPOINTMENT_BOOKING_UPDATED", "APPOINTMENT_BOOKING_CANCELLED",
  "AUTOMATIC_CUSTOMER_CHECKOUT",
  "CONTRACT_CREATED", "CONTRACT_UPDATED", "CONTRACT_CANCELLED",
  "CONTRACT_ADDITIONAL_MODULE_CREATED", "CONTRACT_ADDITIONAL_MODULE_UPDATED",
  "CONTRACT_ADDITIONAL_MODULE_DELETED", "CONTRACT_ADDITIONAL_MODULE_CANCELLED",
  "CONTRACT_IDLE_PERIOD_CREATED", "CONTRACT_IDLE_PERIOD_UPDATED", "CONTRACT_IDLE_PERIOD_CANCELLED",
  "CUSTOMER_CREATED", "CUSTOMER_UPDATED", "CUSTOMER_DELETED", "CUSTOMER_CHECKIN",
  "CUSTOMER_CHECKOUT", "CUSTOMER_ACCESS_DISABLED", "CUSTOMER_COMMUNICATION_PREFERENCES_UPDATED",
  "CUSTOMER_ACCESS_MEDIUM_CREATED", "CUSTOMER_ACCESS_MEDIUM_UPDATED",
  "CUSTOMER_ACCESS_MEDIUM_DELETED",
  "CUSTOMER_ACCESS_RESTRICTION_CREATED", "CUSTOMER_ACCESS_RESTRICTION_DELETED",
  "CUSTOMER_CHECKIN_STUDIOS_UPDATED", "CUSTOMER_HOME_STUDIO_UPDATED",
  "CLASS_BOOKING_CREATED", "CLASS_BOOKING_UPDATED", "CLASS_BOOKING_CANCELLED",
  "CLASS_SLOT_UPDATED", "CLASS_SLOT_CANCELLED",
  "DEVICE_CREATED",
  "EMPLOYEE_CREATED", "EMPLOYEE_UPDATED", "EMPLOYEE_DELETED",
  "FINANCE_DEBT_COLLECTION_RUN_CREATED", "FINANCE_DEBT_COLLECTION_CONFIGURATION_UPDATED",
  "FINANCE_DEBT_COLLECTION_CASE_UPDATED",
  "STUDIO_OPENING_HOURS_UPDATED",
  "TAX_ADVISOR_EXPORT_CREATED",
}
sort(TYPE_LIST)

-- Our own copy for `known`: what callers do to the public table cannot change the answers.
local KNOWN = {}
for _, name in ipairs(TYPE_LIST) do KNOWN[name] = true end

--- Every event type the API documents, both as a sorted list and as a set:
-- `for _, t in ipairs(webhook.EVENT_TYPES)` and `webhook.EVENT_TYPES.CUSTOMER_CREATED == true`.
_M.EVENT_TYPES = {}
for i, name in ipairs(TYPE_LIST) do
  _M.EVENT_TYPES[i] = name
  _M.EVENT_TYPES[name] = true
end

--- Whether `name` is an event type the API documents.
function _M.known(name)
  return KNOWN[name] == true
end

--------------------------------------------------------------------------------------------------
-- JSON: studioapi's C codec when it loads, else lua-cjson (OpenResty and Debian ship it).

local decode_json
do
  local ok, codec = pcall(require, "studioapi.json")
  if ok then
    -- `codec.decode` is looked up on every call, so a spec can watch it.
    decode_json = function(s) return codec.decode(s) end
  else
    local cjson = require "cjson.safe"
    local null = cjson.null
    -- Like studioapi.json: a null member of an object is simply absent; nulls inside arrays
    -- stay (as cjson.null) to keep the positions.
    local function drop_nulls(t)
      for k, v in pairs(t) do
        if v == null and type(k) == "string" then
          t[k] = nil
        elseif type(v) == "table" then
          drop_nulls(v)
        end
      end
      return t
    end
    decode_json = function(s)
      local value, err = cjson.decode(s)
      if type(value) == "table" then drop_nulls(value) end
      if value == null then value = nil end
      return value, err
    end
  end
end

--------------------------------------------------------------------------------------------------
-- Option checks (luaposix style: an unknown name is an error that names it)

local OPTIONS = { tenants = "table", dedupe = "table|false", max_queue = "number",
                  clock = "function", client = "table" }
local TENANT_FIELDS = { webhook_key = "string", webhook_keys = "table", api_key = "string",
                        base_url = "string", name = "string" }
local ON_OPTIONS = { allow_unknown = "boolean" }

local DEFAULT_MAX_QUEUE = 10000
local DEFAULT_DEDUPE_SIZE = 10000

local check_options = options.check -- (where, opts, schema, level): raises on a bad option

local function is_count(n)
  return type(n) == "number" and n >= 1 and n < 2^31 and floor(n) == n
end

--------------------------------------------------------------------------------------------------
-- Dedupe store in memory: the last `size` uuids, a ring (arrival order) plus a set, O(1) each.

local MemoryStore = { __name = "studioapi.webhook.MemoryStore" }
local store_methods = {}
MemoryStore.__index = store_methods

--- A bounded dedupe store: remembers the last `size` uuids (default 10,000) and forgets the
-- oldest first. Any table with `check_and_add(self, uuid) → was_seen`, or with `seen(self, uuid)
-- → bool` and `add(self, uuid)`, can take its place (`dedupe = store` in `webhook.new`).
function _M.memory_store(size)
  if size == nil then size = DEFAULT_DEDUPE_SIZE end
  if not is_count(size) then
    error("webhook.memory_store: size must be a positive integer", 2)
  end
  return setmetatable({ size = size, count = 0, _ring = {}, _set = {}, _next = 1 }, MemoryStore)
end

function store_methods:seen(uuid)
  return self._set[uuid] == true
end

function store_methods:add(uuid)
  if self._set[uuid] then return end
  local pos = self._next
  local oldest = self._ring[pos]
  if oldest ~= nil then
    self._set[oldest] = nil
  else
    self.count = self.count + 1
  end
  self._ring[pos] = uuid
  self._set[uuid] = true
  self._next = pos % self.size + 1
end

function store_methods:check_and_add(uuid)
  if self._set[uuid] then return true end
  self:add(uuid)
  return false
end

function MemoryStore:__tostring()
  return format("studioapi.webhook.MemoryStore (%d of %d uuids)", self.count, self.size)
end

local function check_store(store, level)
  if type(store.check_and_add) == "function" then return end
  if type(store.seen) == "function" and type(store.add) == "function" then return end
  error("webhook.new: option 'dedupe' must have check_and_add(uuid), or seen(uuid) and add(uuid)",
        level + 1)
end

-- True when the uuid was seen before; records it otherwise.
local function check_and_add(store, uuid)
  if store.check_and_add then return store:check_and_add(uuid) and true or false end
  if store:seen(uuid) then return true end
  store:add(uuid)
  return false
end

--------------------------------------------------------------------------------------------------
-- Tenants and the registry. The keys live only in `secrets`, keyed weakly by their owner (receiver
-- or tenant): the tables callers get hold no key, so no tostring, log line or dump can show one.

local secrets = setmetatable({}, { __mode = "k" })

local Tenant = { __name = "studioapi.webhook.Tenant" }

function Tenant:__tostring()
  return format("studioapi.webhook.Tenant %s (%s)", self.name, self.base_url)
end

local function host_of(url)
  return url:match("^%a[%w+.-]*://([^/:?#]+)") or url
end

-- The byte values of `s`, padded with zeros to `n`.
local function padded_bytes(s, n)
  local t = {}
  for i = 1, n do t[i] = byte(s, i) or 0 end
  return t
end

-- Builds the tenant views and the key table; raises on a bad entry, never showing a key.
local function register_tenants(list, level)
  if #list == 0 then
    error("webhook.new: option 'tenants' must list at least one tenant", level + 1)
  end
  for k in pairs(list) do
    if type(k) ~= "number" or k < 1 or k > #list or floor(k) ~= k then
      error("webhook.new: option 'tenants' must be a list of tenant tables", level + 1)
    end
  end
  local views, keys, owner, maxlen = {}, {}, {}, 0
  for i, entry in ipairs(list) do
    local where = format("webhook.new: tenant #%d", i)
    if type(entry) ~= "table" then
      error(format("%s must be a table, got %s", where, type(entry)), level + 1)
    end
    local name = entry.name
    if type(name) ~= "string" then
      name = type(entry.base_url) == "string" and host_of(entry.base_url) or nil
    end
    if name then where = format("webhook.new: tenant #%d (%s)", i, name) end
    check_options(where, entry, TENANT_FIELDS, level + 1)
    for _, field in ipairs { "api_key", "base_url" } do
      if entry[field] == nil or entry[field] == "" then
        error(format("%s: option '%s' is required", where, field), level + 1)
      end
    end
    local view = setmetatable({ name = name, base_url = entry.base_url }, Tenant)

    local wkeys = {}
    if entry.webhook_key ~= nil then wkeys[1] = entry.webhook_key end
    for j, key in ipairs(entry.webhook_keys or {}) do
      if type(key) ~= "string" then
        error(format("%s: webhook_keys[%d] must be a string, got %s", where, j, type(key)),
              level + 1)
      end
      wkeys[#wkeys + 1] = key
    end
    if #wkeys == 0 then
      error(format("%s: option 'webhook_key' (or 'webhook_keys') is required", where), level + 1)
    end
    for _, key in ipairs(wkeys) do
      if key == "" then error(format("%s: a webhook key must not be empty", where), level + 1) end
      local other = owner[key]
      if other and other ~= view then
        error(format("%s: a webhook key is also registered for tenant %s", where, other.name),
              level + 1)
      end
      if not other then
        owner[key] = view
        keys[#keys + 1] = { key = key, tenant = view }
        if #key > maxlen then maxlen = #key end
      end
    end
    secrets[view] = { api_key = entry.api_key, base_url = entry.base_url }
    views[i] = view
  end
  -- Every key padded to the longest, so each comparison reads the same number of bytes.
  for _, k in ipairs(keys) do
    k.len, k.bytes, k.key = #k.key, padded_bytes(k.key, maxlen), nil
  end
  return views, keys, maxlen
end

-- The tenant whose webhook key equals `presented`, or nil. Constant time in the keys: every
-- registered key is compared whole (no early exit, no string ==), by arithmetic alone (the sum of
-- squared byte differences plus the squared length difference is 0 only for the equal key), and
-- the match is picked by arithmetic too. What remains visible to a timer: the number of
-- registered keys and the longest key's length (both fix the amount of work), and whatever the
-- Lua VM does when it creates the header string (interning compares it with equal-hash strings).
local function find_tenant(reg, presented)
  local n, plen = reg.maxlen, #presented
  local pb = padded_bytes(presented, n) -- only the presented key's own length decides the `or 0`
  local keys = reg.keys
  local hit = 0
  for k = 1, #keys do
    local key = keys[k]
    local kb = key.bytes
    local dl = plen - key.len
    local d = dl * dl
    for i = 1, n do
      local x = pb[i] - kb[i]
      d = d + x * x
    end
    hit = hit + k * floor(1 / (1 + d)) -- 1 only when d == 0; keys are unique, so one hit at most
  end
  local found = keys[hit]
  return found and found.tenant
end

--------------------------------------------------------------------------------------------------
-- Parsing

local Event = { __name = "studioapi.webhook.Event" }

function Event:__tostring()
  return format("studioapi.webhook.Event %s %s (entityId %s)", self.type, self.uuid,
                tostring(self.entityId))
end

local function fail(code, status, message)
  return nil, errors.new { code = code, status = status, message = message }
end

local function duplicate(event)
  return errors.new { code = "duplicate", status = 200,
                      message = format("event %s was received before", event.uuid) }
end

local function invalid(message)
  return fail("invalid_argument", 400, message)
end

local function json_type(v)
  local t = type(v)
  if t == "table" then return v[1] ~= nil and "array" or "object" end
  return t
end

local function is_object(v)
  return type(v) == "table" and v[1] == nil
end

-- A non-empty array: a table with the keys 1..#t and nothing else.
local function is_array(v)
  if type(v) ~= "table" then return false end
  local n = #v
  for k in pairs(v) do
    if type(k) ~= "number" or k < 1 or k > n or floor(k) ~= k then return false end
  end
  return true
end

-- The value of the x-api-key header, or nil and why not. A header sent several times (a table of
-- values, as ngx.req.get_headers() gives, or two spellings of the name) is refused: it is never
-- clear which copy the platform sent and which one a proxy or an attacker added.
local function api_key_header(headers)
  local value, count = nil, 0
  for name, v in pairs(headers) do
    if type(name) == "string" and lower(name) == "x-api-key" then
      if type(v) == "table" then
        for _, item in ipairs(v) do value, count = item, count + 1 end
      else
        value, count = v, count + 1
      end
    end
  end
  if count > 1 then return nil, "x-api-key header sent more than once" end
  if count == 0 or value == "" then return nil, "missing x-api-key header" end
  if type(value) ~= "string" then return nil, "x-api-key header is not a string" end
  return value
end

-- Checks one payload element; returns an error message or nil.
local function check_element(el, i)
  local at = format("payload[%d]", i)
  if not is_object(el) then return format("%s must be an object, got %s", at, json_type(el)) end
  if el.timestamp == nil then return at .. ".timestamp is missing" end
  if type(el.timestamp) ~= "number" then
    return format("%s.timestamp must be a number (epoch milliseconds), got %s", at,
                  json_type(el.timestamp))
  end
  if el.type == nil then return at .. ".type is missing" end
  if type(el.type) ~= "string" or el.type == "" then
    return format("%s.type must be a non-empty string, got %s", at, json_type(el.type))
  end
  if el.content ~= nil and type(el.content) ~= "table" then
    return format("%s.content must be an object, got %s", at, json_type(el.content))
  end
end

-- The event a decoded body describes, or nil and a message naming the problem.
local function build_event(doc)
  if not is_object(doc) then return nil, "body must be a JSON object, got " .. json_type(doc) end
  local id = doc.entityId
  if id == nil then return nil, "entityId is missing" end
  if type(id) ~= "number" or floor(id) ~= id then
    return nil, "entityId must be an integer, got "
                .. (type(id) == "number" and tostring(id) or json_type(id))
  end
  id = tointeger(id) or id
  local uuid = doc.uuid
  if uuid == nil then return nil, "uuid is missing" end
  if type(uuid) ~= "string" or uuid == "" then
    return nil, "uuid must be a non-empty string, got " .. json_type(uuid)
  end
  local payload = doc.payload
  if payload == nil then return nil, "payload is missing" end
  if type(payload) ~= "table" or (next(payload) ~= nil and not is_array(payload)) then
    return nil, "payload must be an array, got " .. json_type(payload)
  end
  if payload[1] == nil then return nil, "payload is empty" end
  for i = 1, #payload do
    local problem = check_element(payload[i], i)
    if problem then return nil, problem end
  end
  -- The payload holds one element today; should more come, the event describes the first and
  -- `payload` keeps them all.
  local first = payload[1]
  return setmetatable({
    uuid = uuid,
    entityId = id,
    type = first.type,
    timestamp = first.timestamp / 1000,
    timestamp_ms = first.timestamp,
    content = first.content or {},
    payload = payload,
    raw = doc,
  }, Event)
end

--------------------------------------------------------------------------------------------------
-- The receiver

local Receiver = { __name = "studioapi.webhook.Receiver" }
local methods = {}
Receiver.__index = methods

local function default_clock()
  local ngx = _G.ngx
  if type(ngx) == "table" and ngx.now then return ngx.now() end
  return os.time()
end

--- Creates a receiver for a registry of tenants.
-- @tparam table opts `tenants` (required: a list of `{webhook_key | webhook_keys, api_key,
--   base_url, name?}`), `dedupe` (a store, or false: no dedupe; default `memory_store(10000)`),
--   `max_queue` (default 10,000), `clock` (epoch seconds for `event.received_at`), `client`
--   (extra options for `studioapi.new` in `receiver:client`)
-- @treturn studioapi.webhook.Receiver
function _M.new(opts)
  if type(opts) ~= "table" then
    error("webhook.new: expected an options table, got " .. type(opts), 2)
  end
  check_options("webhook.new", opts, OPTIONS, 2)
  if opts.tenants == nil then error("webhook.new: option 'tenants' is required", 2) end
  if opts.max_queue ~= nil and not is_count(opts.max_queue) then
    error("webhook.new: option 'max_queue' must be a positive integer", 2)
  end
  local store = opts.dedupe
  if store == nil then
    store = _M.memory_store()
  elseif store then
    check_store(store, 2)
  end
  local client_opts = {}
  for k, v in pairs(opts.client or {}) do
    if k == "base_url" or k == "api_key" then
      error(format("webhook.new: option 'client' must not set '%s': it comes from the tenant", k),
            2)
    end
    client_opts[k] = v
  end

  local views, keys, maxlen = register_tenants(opts.tenants, 2)
  local receiver = setmetatable({
    tenants = views,
    max_queue = opts.max_queue or DEFAULT_MAX_QUEUE,
    dedupe = store or nil,
    _clock = opts.clock or default_clock,
    _handlers = {},
    _queue = {}, _head = 1, _tail = 0,
  }, Receiver)
  local by_view = {}
  for _, view in ipairs(views) do by_view[view] = true end
  secrets[receiver] = { keys = keys, maxlen = maxlen, tenants = by_view,
                        client_opts = client_opts, clients = {} }
  return receiver
end

-- Key, then body: the body is not even decoded for a request without a registered key.
local function authenticate_and_build(self, headers, body)
  if type(headers) ~= "table" then
    error("receiver: headers must be a table, got " .. type(headers), 3)
  end
  if body ~= nil and type(body) ~= "string" then
    error("receiver: body must be a string, got " .. type(body), 3)
  end
  local presented, why = api_key_header(headers)
  if not presented then return fail("unauthorized", 401, why) end
  local tenant = find_tenant(secrets[self], presented)
  if not tenant then return fail("unauthorized", 401, "unknown webhook key") end

  if body == nil or body == "" then
    return invalid("body is empty (OpenResty: call ngx.req.read_body() first)")
  end
  local doc, derr = decode_json(body)
  if doc == nil then return invalid("body is not valid JSON: " .. tostring(derr)) end
  local event, problem = build_event(doc)
  if not event then return invalid(problem) end
  event.received_at = self._clock()
  return event, tenant
end

--- Checks the key and the body and records the uuid as seen.
-- @treturn table|nil the event `{uuid, entityId, type, timestamp, timestamp_ms, content, payload,
--   raw, received_at}`
-- @treturn studioapi.webhook.Tenant|studioapi.Error the tenant, or the error: `unauthorized`
--   (401), `invalid_argument` (400) or `duplicate` (200)
function methods:parse(headers, body)
  local event, tenant = authenticate_and_build(self, headers, body)
  if not event then return nil, tenant end
  if self.dedupe and check_and_add(self.dedupe, event.uuid) then return nil, duplicate(event) end
  return event, tenant
end

--- The number of events waiting for `drain`.
function methods:pending()
  return self._tail - self._head + 1
end

--- Parses and queues an event; returns the HTTP status to answer at once and the error, if any:
-- 200 (queued, or a duplicate: acknowledged), 400, 401, or 503 when the queue is full (the
-- platform tries again later). Never runs a handler.
function methods:handle(headers, body)
  local event, tenant = authenticate_and_build(self, headers, body)
  if not event then return tenant.status, tenant end
  -- Full before the uuid is recorded: a refused event must count as new when it comes again.
  if self:pending() >= self.max_queue then
    local _, err = fail("unavailable", 503,
                        format("webhook queue is full (%d events waiting for drain)",
                               self:pending()))
    return 503, err
  end
  if self.dedupe and check_and_add(self.dedupe, event.uuid) then return 200, duplicate(event) end
  local tail = self._tail + 1
  self._queue[tail] = { event = event, tenant = tenant }
  self._tail = tail
  return 200, nil
end

--- Registers a handler for an event type, or for every event with "*" (run after the handlers
-- of the event's own type). A type the API does not document raises, unless
-- `{allow_unknown = true}`: a typo must not leave a handler silently idle.
-- @treturn studioapi.webhook.Receiver the receiver, for chaining
function methods:on(event_type, fn, opts)
  if type(event_type) ~= "string" then
    error("receiver:on: event type must be a string, got " .. type(event_type), 2)
  end
  if type(fn) ~= "function" then
    error("receiver:on: handler must be a function, got " .. type(fn), 2)
  end
  if opts ~= nil then
    if type(opts) ~= "table" then error("receiver:on: options must be a table", 2) end
    check_options("receiver:on", opts, ON_OPTIONS, 2)
  end
  if event_type ~= "*" and not KNOWN[event_type] and not (opts and opts.allow_unknown) then
    error(format("receiver:on: unknown event type '%s' (pass {allow_unknown = true} for a type "
                 .. "newer than webhook.EVENT_TYPES)", event_type), 2)
  end
  local list = self._handlers[event_type]
  if not list then
    list = {}
    self._handlers[event_type] = list
  end
  list[#list + 1] = fn
  return self
end

local function run_handlers(self, list, item, failures)
  if not list then return end
  for _, fn in ipairs(list) do
    local trace
    local ok, err = xpcall(function() fn(item.event, item.tenant, self) end, function(e)
      trace = traceback(tostring(e), 2)
      return e
    end)
    if not ok then
      failures[#failures + 1] = { event = item.event, tenant = item.tenant, error = err,
                                  traceback = trace }
    end
  end
end

--- Runs the handlers of the queued events, oldest first, at most `max` events (default: all).
-- An error in a handler is caught and the remaining handlers still run.
-- @treturn integer the number of events taken from the queue
-- @treturn table the failures, `{event, tenant, error, traceback}` each
function methods:drain(max)
  if max ~= nil and not (type(max) == "number" and max >= 0 and floor(max) == max) then
    error("receiver:drain: max must be a non-negative integer", 2)
  end
  local handled, failures = 0, {}
  while (max == nil or handled < max) and self._head <= self._tail do
    local head = self._head
    local item = self._queue[head]
    self._queue[head] = nil
    self._head = head + 1
    handled = handled + 1
    run_handlers(self, self._handlers[item.event.type], item, failures)
    run_handlers(self, self._handlers["*"], item, failures)
  end
  if self._head > self._tail then self._head, self._tail = 1, 0 end
  return handled, failures
end

--- A studioapi client bound to a tenant's base URL and Open API key, made once per tenant.
-- @param tenant a tenant of this receiver (as `parse` returns it), or its name
-- @treturn studioapi.Client|nil
-- @treturn[opt] studioapi.Error when `studioapi.new` refuses the tenant's settings
function methods:client(tenant)
  local priv = secrets[self]
  if type(tenant) == "string" then
    for _, view in ipairs(self.tenants) do
      if view.name == tenant then tenant = view break end
    end
  end
  if not priv.tenants[tenant] then
    error("receiver:client: " .. tostring(tenant) .. " is not a tenant of this receiver", 2)
  end
  local client = priv.clients[tenant]
  if client then return client end
  local opts = {}
  for k, v in pairs(priv.client_opts) do opts[k] = v end
  local secret = secrets[tenant]
  opts.base_url, opts.api_key = secret.base_url, secret.api_key
  local err
  client, err = require("studioapi").new(opts)
  if not client then return nil, err end
  priv.clients[tenant] = client
  return client
end

--- Closes the clients `receiver:client` made; the next call makes new ones.
function methods:close()
  local priv = secrets[self]
  for tenant, client in pairs(priv.clients) do
    client:close()
    priv.clients[tenant] = nil
  end
end

function Receiver:__tostring()
  local names = {}
  for i, view in ipairs(self.tenants) do names[i] = tostring(view.name) .. " " .. view.base_url end
  return format("studioapi.webhook.Receiver (%s; %d queued)", concat(names, ", "),
                self:pending())
end

return _M
