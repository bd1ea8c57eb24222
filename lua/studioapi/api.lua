--- The whole API on the Client: `call` by operationId, `pager`/`each` over chunked lists,
-- `refresh` for entities, and the friendly namespaces (resources.lua).
local operations = require "studioapi.operations"
local params_mod = require "studioapi.params"
local entity = require "studioapi.entity"
local errors = require "studioapi.errors"
local pager_mod = require "studioapi.pager"
local resources = require "studioapi.resources"
local json = require "studioapi.json"
local upload = require "studioapi.upload"

local type, pairs, ipairs, error, tostring, next = type, pairs, ipairs, error, tostring, next

local OPS = operations.operations

local _M = {}

-- POSTs that only read or check (searches, validations, previews): safe to retry like a GET.
local function reads_only(op_id, op)
  return op.method == "POST"
     and (op_id:match("^search") or op_id:match("^validate") or op_id:match("Preview$")) ~= nil
end

local function shallow_copy(t)
  local c = {}
  for k, v in pairs(t) do c[k] = v end
  return c
end

-- The GET operation that fetches an entity of a schema by its own id: a path ending in the
-- only path parameter (`/customers/{customerId}`), the shortest such path when several do.
local GETTERS = {}
for op_id, op in pairs(OPS) do
  local param = op.method == "GET" and type(op.response) == "string"
                and op.path:match("^/[^{]*{([^}]+)}$")
  if param then
    local extra_required = false
    for _, p in ipairs(op.params or {}) do
      if p.required and p.name ~= param then extra_required = true end
    end
    local current = GETTERS[op.response]
    if not extra_required and (not current or #op.path < #OPS[current[1]].path) then
      GETTERS[op.response] = { op_id, param }
    end
  end
end
_M.GETTERS = GETTERS

-- Chunked operations by path pattern, so `client:pager("/customers/42/documents")` knows the
-- item schema of a plain path too.
local CHUNKED_PATHS = {}
for op_id, op in pairs(OPS) do
  if op.chunked and op.method == "GET" then
    local pattern = "^" .. op.path:gsub("[%-%.]", "%%%0"):gsub("{[^}]+}", "[^/]+") .. "$"
    CHUNKED_PATHS[#CHUNKED_PATHS + 1] = { pattern, op_id }
  end
end

local PAGER_OPTIONS = { offset = true, skip = true, max_items = true }

-- decoded_result (init.lua) turns a response table into the decoded answer; fetch_json sends a
-- spec and decodes in C (see init.lua's send).
-- start_json is fetch_json in two halves (a prefetch).
function _M.install(Client, _decoded_result, fetch_json, start_json)
  -- One operation: check the parameters, send, decode. The decoder gives the objects their entity
  -- metatables as it makes them (entity.plan); `raw` skips them, or is the plan to use instead
  -- (a pager's chunk plan), with `mts` its metatables. `async` starts it (start_json) instead.
  local function call(self, op_id, params, raw, mts, async)
    local op = OPS[op_id]
    local path, query = params_mod.build(op_id, op, params)
    if not path then
      query.method, query.path = op.method, op.path
      return nil, query
    end
    local body, form = params.body, nil
    if op.body and op.body.kind == "multipart" then -- the parts, checked against the operation's
      local ferr
      form, ferr = upload.operation_form(op_id, op, params)
      if not form then
        ferr.method, ferr.path = op.method, path
        return nil, ferr
      end
    elseif params.parts ~= nil or params.on_progress ~= nil then
      return nil, errors.new { code = "invalid_argument", reference = "parts", attempts = 0,
                               outcome = "not_sent",
                               message = op_id .. ": this operation takes no multipart parts" }
    end
    if body ~= nil and not (op.body and op.body.kind == "json") then
      return nil, errors.new { code = "invalid_argument", reference = "body",
                               message = op_id .. ": this operation takes no request body" }
    end
    if body == nil and op.body and op.body.required then
      return nil, errors.new { code = "invalid_argument", reference = "body",
                               message = op_id .. ": a request body is required" }
    end
    if body ~= nil and type(body) ~= "table" then
      return nil, errors.new { code = "invalid_argument", reference = "body",
                               message = op_id .. ": body must be a table, got " .. type(body) }
    end
    if body ~= nil and op.body.type == "array" and next(body) == nil then
      -- An empty Lua table is ambiguous; the operation says it is a list: send [] (not {}).
      body = json.array()
    end
    local plan = raw
    if not raw then
      plan, mts = entity.plan(op.response), entity.context()
    end
    if async then -- a pager's prefetch: a GET of a chunked list (async: true, or what to reuse)
      return start_json(self, { method = op.method, path = path, query = query, json = body,
                                idempotent = reads_only(op_id, op) or nil }, plan, mts,
                        async ~= true and async or nil)
    end
    local value, derr = fetch_json(self, {
      method = op.method, path = path, query = query, json = body, multipart = form,
      idempotent = reads_only(op_id, op) or nil,
    }, plan, mts)
    if value == nil then return nil, derr end
    if not raw and type(value) == "table" then
      entity.wrap(value, op.response, mts) -- a no-op when the decoder did it
      -- Only a GET is remembered for refresh: refreshing must never repeat a write.
      if op.method == "GET" and type(op.response) == "string" then
        entity.set_origin(value, op_id, shallow_copy(params))
      end
    end
    return value
  end

  --- Calls an operation by its operationId with its parameters by their API names
  -- (`body` = the JSON request body). Returns the decoded answer (entities) or `nil, err`.
  function Client:call(op_id, params)
    if OPS[op_id] == nil then
      error(("client:call: unknown operation '%s'"):format(tostring(op_id)), 2)
    end
    if params ~= nil and type(params) ~= "table" then
      error("client:call: params must be a table, got " .. type(params), 2)
    end
    self:_check_open()
    return call(self, op_id, params or {})
  end

  --- A pager over a chunked list, by path (`"/customers"`) or operationId (`"getCustomers"`).
  function Client:pager(what, query, opts)
    if type(what) ~= "string" then error("client:pager: expected a path or an operationId", 2) end
    if query ~= nil and type(query) ~= "table" then
      error("client:pager: query must be a table", 2)
    end
    for k in pairs(opts or {}) do
      if not PAGER_OPTIONS[k] then error(("client:pager: unknown option '%s'"):format(k), 2) end
    end
    self:_check_open()
    local fetch, op_id
    if what:sub(1, 1) == "/" then
      for _, entry in ipairs(CHUNKED_PATHS) do
        if what:match(entry[1]) then op_id = entry[2] break end
      end
    else
      op_id = what
      local op = OPS[op_id]
      if not op then error(("client:pager: unknown operation '%s'"):format(what), 2) end
      if not op.chunked then error(("client:pager: %s is not a chunked list"):format(what), 2) end
    end
    local op = op_id and OPS[op_id]
    -- The items come out of the decoder as entities, with metatables per chunk (they hold the
    -- chunk's fetch time): no walk over the chunk, no wrapping as they are handed out.
    -- items() asks for a lazy chunk: a cursor decodes its items one at a time.
    local schema = op and op.item_schema
    local plan, lazy_plan = entity.chunk_plan(schema), entity.chunk_plan(schema, true)
    -- start: the same request in two halves, so the pager can fetch the next chunk while the
    -- loop works through this one.
    local start
    if what:sub(1, 1) == "/" then
      local spec = { method = "GET", path = what }
      fetch = function(q, lazy)
        spec.query = q
        return fetch_json(self, spec, lazy and lazy_plan or plan, entity.context())
      end
      start = function(q, lazy, reuse)
        spec.query = q
        return start_json(self, spec, lazy and lazy_plan or plan, entity.context(), reuse)
      end
    else
      fetch = function(q, lazy)
        return call(self, op_id, q, lazy and lazy_plan or plan, entity.context())
      end
      start = function(q, lazy, reuse)
        return call(self, op_id, q, lazy and lazy_plan or plan, entity.context(), reuse or true)
      end
    end
    return pager_mod.new(fetch, query, { offset = opts and opts.offset, skip = opts and opts.skip,
                                         max_items = opts and opts.max_items,
                                         mode = op and op.chunked, start = start })
  end

  --- Every record of a chunked list: `for customer in client:each("/customers") do … end`.
  function Client:each(what, query, opts)
    return self:pager(what, query, opts):items()
  end

  --- Fetches an entity again (e.g. for fresh signed URLs). Returns the new entity or `nil, err`.
  function Client:refresh(e)
    if not entity.is_entity(e) then error("client:refresh: expected an entity", 2) end
    local op_id, params = entity.origin(e)
    if not op_id then
      local getter = GETTERS[e:schema()]
      if not getter or e.id == nil then
        return nil, errors.new { code = "invalid_argument",
                                 message = "no operation fetches a " .. e:schema() .. " by id" }
      end
      op_id, params = getter[1], { [getter[2]] = e.id }
    end
    return self:call(op_id, params)
  end

  Client.attach_resources = resources.attach
end

return _M
