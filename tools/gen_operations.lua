#!/usr/bin/env lua5.4
-- Generates the operations table and its reference page from the Open API's OpenAPI document.
--
--   lua5.4 tools/gen_operations.lua SPEC.json [OUT.lua [DOCS.md]]
--
-- OUT.lua defaults to lua/studioapi/operations.lua and DOCS.md to docs/operations.md (both
-- relative to the repository root); DOCS.md "-" writes no page. Run it from anywhere; it needs
-- Lua 5.4 and lua-cjson. The output is a pure function of the spec (and of the optional
-- `friendly` names, see below): maps are written in sorted order and lists in spec order, so
-- regenerating gives a byte-identical file and spec/operations_spec.lua can check that.
--
-- Only facts are taken from the spec (names, paths, types, formats, defaults, limits, enums);
-- description texts and examples never reach the output. Two facts live only in description
-- texts, so they are *derived* from them here and written in our own form: the chunking mode of
-- the enveloped lists (see CHUNK_MODE) and the lifetime of signed URLs (see url_lifetime).
--
-- The "Lua" column of docs/operations.md comes from the hand-written module studioapi.resources
-- when it exists and exposes `friendly = { [operationId] = "customers:get(id)", ... }`. It must
-- load without the C module (require studioapi.core lazily there), or this tool stops.
local cjson = require "cjson"

local concat, sort, insert = table.concat, table.sort, table.insert
local format = string.format

local REGENERATE = "lua5.4 tools/gen_operations.lua ../shared/spec/openapi.json"
local MAX_COLUMNS = 100
local METHODS = { "get", "post", "put", "patch", "delete" }

-- The spec's enveloped lists ({result, hasNext, offset}) come in two modes (api-reference.md §5):
--   cursor  the returned offset is the id of the last/next record: pass it back as it is;
--   slice   the returned offset is the request's offset plus sliceSize.
-- The rule: an operation whose `offset` parameter is described as the "last ID" of something is a
-- cursor, any other enveloped list is a slice. The spec version 1.5.0 still describes class slots
-- (normal and trial) and account transactions (past and upcoming) that way, but the 1.8.4 wording
-- change made clear that they count by index; the text cannot decide those, so they are listed
-- here. An entry naming an operation that is not an enveloped list stops the generator, so the
-- table cannot go stale silently.
local CHUNK_MODE = {
  getClassSlots = "slice",
  getClassSlotsForTrialOffers = "slice",
  getCustomersAccountTransactionData = "slice",
  getCustomersAccountUpcomingData = "slice",
}

-- Minimum/maximum values that only restate the range of the integer format carry no information
-- (and int64's would not survive LuaJIT's doubles exactly): they are left out.
local TYPE_BOUNDS = { [2147483647] = true, [-2147483648] = true }

local function fail(msg, ...)
  io.stderr:write("gen_operations: ", format(msg, ...), "\n")
  os.exit(1)
end

-- lua-cjson decodes JSON null as the sentinel cjson.null; to us a null is simply no value.
local function val(x)
  if x == cjson.null then return nil end
  return x
end

-- A table written with its keys sorted (a map of names), as opposed to a record, whose keys are
-- written in the fixed order of KEY_ORDER so that `name`, `in` and `type` come first.
local MAP = {}
local function map(t) return setmetatable(t or {}, MAP) end

local KEY_ORDER = {}
for i, k in ipairs {
  "version", "tags", "operations", "schemas",
  "name", "in", "tag", "method", "path", "kind", "type", "format", "ref", "json", "binary",
  "schema", "array", "items", "enum", "one_of", "default", "minimum", "maximum", "required",
  "nullable", "deprecated", "params", "body", "parts", "response", "chunked", "item_schema",
  "fields", "url_lifetimes",
} do KEY_ORDER[k] = i end

---------------------------------------------------------------------------------------------------
-- Reading the spec

local schemas_in   -- the spec's components.schemas, while building

local function ref_name(ref)
  local name = type(ref) == "string" and ref:match("^#/components/schemas/([%w_.-]+)$")
  if not name then fail("unsupported $ref %s", tostring(ref)) end
  if not schemas_in[name] then fail("$ref to a missing schema %s", name) end
  return name
end

-- An enum schema (a string with `enum`) is resolved where it is used, so `ref` only ever names an
-- object schema: the entity layer can give every `ref` a metatable.
local function is_enum_schema(s)
  return val(s.type) == "string" and val(s.enum) ~= nil
end

local function copy_list(list)
  local out = {}
  for i, v in ipairs(list) do out[i] = val(v) end
  return out
end

-- OpenAPI 3.1 spells a nullable type as {"string", "null"}.
local function scalar_type(t)
  t = val(t)
  if type(t) ~= "table" then return t, nil end
  local main, nullable
  for _, v in ipairs(t) do
    if v == "null" then nullable = true else main = v end
  end
  return main, nullable
end

local describe_schema

-- Object properties as a `fields` map plus the `required` list (sorted: it is a set).
local function object_fields(s, into_fields, into_required)
  local fields = into_fields or map()
  local required = into_required or {}
  for name, prop in pairs(val(s.properties) or {}) do
    fields[name] = describe_schema(prop)
  end
  for _, name in ipairs(val(s.required) or {}) do insert(required, name) end
  return fields, required
end

local function finish_object(d, fields, required)
  if next(fields) then d.fields = fields end
  if #required > 0 then
    sort(required)
    d.required = required
  end
  return d
end

-- The descriptor of a schema used in place (a field, an array item, a parameter): the facts a
-- client needs to check and convert a value, never its description.
function describe_schema(s)
  local d = {}
  if val(s["$ref"]) then
    local name = ref_name(s["$ref"])
    local target = schemas_in[name]
    if is_enum_schema(target) then
      d.type, d.enum = "string", copy_list(target.enum)
    else
      d.ref = name
    end
  elseif val(s.allOf) then
    -- allOf: the union of the parts' properties (the spec 1.5.0 has none; later versions may).
    local fields, required = map(), {}
    for _, part in ipairs(s.allOf) do
      local p = val(part["$ref"]) and schemas_in[ref_name(part["$ref"])] or part
      object_fields(p, fields, required)
    end
    d.type = "object"
    finish_object(d, fields, required)
  elseif val(s.oneOf) or val(s.anyOf) then
    -- oneOf/anyOf: only the alternatives' schema names are recorded.
    d.one_of = {}
    for _, alt in ipairs(val(s.oneOf) or s.anyOf) do
      insert(d.one_of, val(alt["$ref"]) and ref_name(alt["$ref"]) or scalar_type(alt.type))
    end
  else
    d.type, d.nullable = scalar_type(s.type)
    d.format = val(s.format)
    if d.type == "array" then
      d.items = describe_schema(val(s.items) or {})
    elseif d.type == "object" then
      finish_object(d, object_fields(s))
    end
    if val(s.enum) then d.enum = copy_list(s.enum) end
    local min, max = val(s.minimum), val(s.maximum)
    if min and not TYPE_BOUNDS[min] and math.abs(min) < 2^53 then d.minimum = min end
    if max and not TYPE_BOUNDS[max] and math.abs(max) < 2^53 then d.maximum = max end
  end
  d.default = val(s.default)
  if val(s.deprecated) == true then d.deprecated = true end
  return d
end

-- The lifetime of a signed URL is only stated in its field's description ("expires after 15
-- minutes", "valid for 15 minutes", "restricted to 15 minutes", "after 5hours"). We read the
-- number and unit out of it, for string fields whose name ends in url/Url.
local UNIT_SECONDS = { minute = 60, hour = 3600 }
local function url_lifetime(name, prop)
  if not name:match("[uU]rl$") or val(prop.type) ~= "string" then return nil end
  local text = (val(prop.description) or ""):lower()
  if not (text:find("expire", 1, true) or text:find("valid", 1, true)
          or text:find("restricted", 1, true)) then
    return nil
  end
  local n, unit = text:match("(%d+)%s*(%a+)")
  unit = unit and unit:gsub("s$", "")
  if not (n and UNIT_SECONDS[unit]) then return nil end
  return tonumber(n) * UNIT_SECONDS[unit]
end

local function top_schema(s)
  if is_enum_schema(s) then
    return { type = "string", enum = copy_list(s.enum), default = val(s.default) }
  end
  local d = describe_schema(s)
  if d.type == "object" then
    local lifetimes = map()
    for name, prop in pairs(val(s.properties) or {}) do
      lifetimes[name] = url_lifetime(name, prop)
    end
    if next(lifetimes) then d.url_lifetimes = lifetimes end
  end
  return d
end

local function param_entry(p, where)
  local loc = val(p["in"])
  if loc ~= "path" and loc ~= "query" then
    fail("%s: parameter %s is in %s; only path and query are supported", where, p.name, loc)
  end
  local d = describe_schema(val(p.schema) or {})
  d.name, d["in"] = p.name, loc
  -- Path parameters are always required (OpenAPI says so, whatever the flag).
  d.required = (loc == "path" or val(p.required) == true) or nil
  if val(p.deprecated) == true then d.deprecated = true end
  return d
end

-- `{kind = "json", schema = name | type = "array", items = name, required}` or
-- `{kind = "multipart", parts = {...}, required}`.
local function body_entry(rb, where)
  if not rb then return nil end
  local content = val(rb.content) or {}
  local required = val(rb.required) == true or nil
  local ct, media = next(content)
  if next(content, ct) then fail("%s: more than one request content type", where) end
  local s = val(media.schema) or {}
  if ct == "application/json" then
    if val(s["$ref"]) then
      return { kind = "json", schema = ref_name(s["$ref"]), required = required }
    elseif val(s.type) == "array" and val(s.items) and val(s.items["$ref"]) then
      return { kind = "json", type = "array", items = ref_name(s.items["$ref"]),
               required = required }
    end
    fail("%s: unsupported JSON body shape", where)
  elseif ct == "multipart/form-data" then
    local needed = {}
    for _, n in ipairs(val(s.required) or {}) do needed[n] = true end
    local names = {}
    for n in pairs(val(s.properties) or {}) do insert(names, n) end
    sort(names)
    local parts = {}
    for _, n in ipairs(names) do
      local prop = s.properties[n]
      local part = { name = n, required = needed[n] }
      if val(prop["$ref"]) then
        -- An object part is sent as JSON (the spec also says so in `encoding`).
        part.json, part.schema = true, ref_name(prop["$ref"])
      elseif val(prop.format) == "binary" then
        part.binary = true
      else
        part.type = scalar_type(prop.type)
      end
      insert(parts, part)
    end
    return { kind = "multipart", parts = parts, required = required }
  end
  fail("%s: unsupported request content type %s", where, tostring(ct))
end

local function response_entry(responses, where)
  local ok = val(responses["200"])
  if not ok then fail("%s: no 200 response", where) end
  local content = val(ok.content)
  if not content then return nil end
  local media = val(content["application/json"])
  if not media then fail("%s: 200 response is not JSON", where) end
  local s = val(media.schema) or {}
  if val(s["$ref"]) then return ref_name(s["$ref"]) end
  if val(s.type) == "array" and val(s.items) and val(s.items["$ref"]) then
    return { array = ref_name(s.items["$ref"]) }
  end
  fail("%s: unsupported response shape", where)
end

-- The schema of `result` items when `name` is an envelope {result: [X], hasNext, offset}.
local function envelope_item(name)
  local s = type(name) == "string" and schemas_in[name]
  local props = s and val(s.properties)
  if not (props and val(props.result) and val(props.hasNext) and val(props.offset)) then
    return nil
  end
  local items = val(props.result.items)
  return items and val(items["$ref"]) and ref_name(items["$ref"])
end

local function chunk_mode(op_id, params_in)
  local override = CHUNK_MODE[op_id]
  if override then return override end
  for _, p in ipairs(params_in) do
    if p.name == "offset" and (val(p.description) or ""):lower():find("last id", 1, true) then
      return "cursor"
    end
  end
  return "slice"
end

local function read_spec(path)
  local f, err = io.open(path, "rb")
  if not f then fail("cannot read the spec: %s", err) end
  local text = f:read("a")
  f:close()
  local ok, doc = pcall(cjson.decode, text)
  if not ok then fail("%s is not JSON: %s", path, doc) end
  return doc
end

local function build(doc)
  schemas_in = val(val(doc.components) and doc.components.schemas) or {}
  local out = { version = doc.info.version, tags = {}, operations = map(), schemas = map() }
  local known_tags = {}
  for _, t in ipairs(val(doc.tags) or {}) do
    insert(out.tags, t.name)
    known_tags[t.name] = true
  end
  for name, s in pairs(schemas_in) do out.schemas[name] = top_schema(s) end

  local seen_modes = {}
  for raw_path, item in pairs(doc.paths) do
    local path = raw_path:match("^/v1(/.*)$")
    if not path then fail("path %s is not under /v1", raw_path) end
    for _, m in ipairs(METHODS) do
      local op = val(item[m])
      if op then
        local id = op.operationId
        local where = format("%s %s (%s)", m:upper(), raw_path, tostring(id))
        if type(id) ~= "string" then fail("%s: no operationId", where) end
        if out.operations[id] then fail("operationId %s is used twice", id) end
        -- Every operation has exactly one tag in 1.5.0; a second one would be ignored here.
        local tag = val(op.tags) and op.tags[1]
        if not known_tags[tag] then fail("%s: tag %s is not declared", where, tostring(tag)) end
        -- Parameters of the path item apply to each of its operations unless redefined there.
        local params_in, by_key = {}, {}
        for _, list in ipairs { val(op.parameters) or {}, val(item.parameters) or {} } do
          for _, p in ipairs(list) do
            local key = p["in"] .. ":" .. p.name
            if not by_key[key] then
              by_key[key] = true
              insert(params_in, p)
            end
          end
        end
        local entry = {
          tag = tag, method = m:upper(), path = path,
          deprecated = val(op.deprecated) == true or nil,
          body = body_entry(val(op.requestBody), where),
          response = response_entry(op.responses, where),
        }
        if #params_in > 0 then
          entry.params = {}
          for i, p in ipairs(params_in) do entry.params[i] = param_entry(p, where) end
        end
        local item_schema = envelope_item(entry.response)
        if item_schema then
          entry.chunked, entry.item_schema = chunk_mode(id, params_in), item_schema
          seen_modes[id] = true
        end
        out.operations[id] = entry
      end
    end
  end
  for id in pairs(CHUNK_MODE) do
    if not seen_modes[id] then fail("CHUNK_MODE names %s, which is not an enveloped list", id) end
  end
  return out
end

---------------------------------------------------------------------------------------------------
-- Writing Lua

local KEYWORDS = {}
for w in ([[and break do else elseif end false for function goto if in local nil not or repeat
            return then true until while]]):gmatch("%a+") do KEYWORDS[w] = true end

local function lua_string(s)
  return '"' .. s:gsub('[%c"\\]', function(c)
    if c == '"' or c == "\\" then return "\\" .. c end
    return format("\\%03d", c:byte())
  end) .. '"'
end

local function lua_key(k)
  if type(k) == "string" and k:match("^[%a_][%w_]*$") and not KEYWORDS[k] then return k end
  return "[" .. lua_string(k) .. "]"
end

-- Numbers are written so that Lua 5.4 and LuaJIT read the same value: integral values without a
-- decimal point, others with enough digits to round-trip.
local function lua_number(n)
  if n == math.floor(n) and math.abs(n) < 2^53 then return format("%d", n) end
  return format("%.17g", n)
end

local function lua_scalar(v)
  local t = type(v)
  if t == "string" then return lua_string(v) end
  if t == "number" then return lua_number(v) end
  if t == "boolean" then return tostring(v) end
  error("cannot write a " .. t)
end

local function is_sequence(t)
  return getmetatable(t) ~= MAP and (#t > 0 or next(t) == nil)
end

local function sorted_keys(t)
  local keys = {}
  for k in pairs(t) do insert(keys, k) end
  if getmetatable(t) == MAP then
    sort(keys)
  else
    sort(keys, function(a, b)
      local ra, rb = KEY_ORDER[a] or math.huge, KEY_ORDER[b] or math.huge
      if ra ~= rb then return ra < rb end
      return a < b
    end)
  end
  return keys
end

-- A value on one line, or nil when it holds a table that must be written over several lines.
local function inline(v)
  if type(v) ~= "table" then return lua_scalar(v) end
  if next(v) == nil then return "{}" end
  local items = {}
  if is_sequence(v) then
    for _, x in ipairs(v) do
      local s = inline(x)
      if not s then return nil end
      insert(items, s)
    end
  else
    for _, k in ipairs(sorted_keys(v)) do
      local s = inline(v[k])
      if not s then return nil end
      insert(items, lua_key(k) .. " = " .. s)
    end
  end
  return "{ " .. concat(items, ", ") .. " }"
end

-- Writes `prefix .. value .. suffix` at `indent` into `lines`: on one line when it fits in
-- MAX_COLUMNS; otherwise the entries go inside, one a line for a map or a list of tables (easy to
-- read and to diff), and filled into as few lines as fit for a record or a list of scalars.
local function emit(lines, indent, prefix, v, suffix)
  local pad = ("  "):rep(indent)
  local one = inline(v)
  -- A long string cannot be split: it goes on a line of its own, however long.
  if one and (type(v) ~= "table" or #pad + #prefix + #one + #suffix <= MAX_COLUMNS) then
    insert(lines, pad .. prefix .. one .. suffix)
    return
  end
  insert(lines, pad .. prefix .. "{")
  local inner = pad .. "  "
  local entries = {}   -- { key prefix, value }
  if is_sequence(v) then
    for _, x in ipairs(v) do insert(entries, { "", x }) end
  else
    for _, k in ipairs(sorted_keys(v)) do insert(entries, { lua_key(k) .. " = ", v[k] }) end
  end
  local fill = getmetatable(v) ~= MAP
  local line = inner
  local function flush()
    if #line > #inner then insert(lines, line) end
    line = inner
  end
  for _, e in ipairs(entries) do
    local key, x = e[1], e[2]
    local s = inline(x)
    s = s and key .. s .. ","
    if fill and s and #inner + #s <= MAX_COLUMNS
       and (type(x) ~= "table" or not is_sequence(v)) then
      if #line > #inner and #line + 1 + #s > MAX_COLUMNS then flush() end
      line = line .. (#line > #inner and " " or "") .. s
    else
      flush()
      emit(lines, indent + 1, key, x, ",")
    end
  end
  flush()
  insert(lines, pad .. "}" .. suffix)
end

local function write_lua(out)
  local lines = {
    "-- Generated by tools/gen_operations.lua from the Open API spec version " .. out.version
      .. ". Do not edit:",
    "-- regenerate from the repository root with",
    "--   " .. REGENERATE,
    "--",
    "-- operations[operationId] = { tag, method, path (relative to /v1), deprecated,",
    "--   params = { { name, in = \"path\"|\"query\", type, format, enum, items, default,",
    "--               minimum, maximum, required, deprecated }, ... }   (in spec order),",
    "--   body = { kind = \"json\", schema = S | type = \"array\", items = S, required }",
    "--        | { kind = \"multipart\", required,",
    "--            parts = { { name, json = true, schema = S | binary = true, required }, ... } },",
    "--   response = S | { array = S } | nil (200 without a body),",
    "--   chunked = \"cursor\" | \"slice\" | nil,",
    "--   item_schema = S (the schema of the items in result[]) }",
    "-- schemas[S] = { type = \"object\", required = { names },",
    "--   url_lifetimes = { [field] = seconds },",
    "--   fields = { [name] = { type, format, ref = S, items, enum, default, deprecated } } }",
    "--   | { type = \"string\", enum = { ... }, default }",
    "-- A `ref` always names an object schema; enum schemas are resolved in place.",
    "-- Flags (required, deprecated, json, binary) are true or absent.",
    "-- Some paths are longer than a line:",
    "-- luacheck: no max line length",
  }
  emit(lines, 0, "return ", out, "")
  return concat(lines, "\n") .. "\n"
end

---------------------------------------------------------------------------------------------------
-- Writing the reference page

local function md_code(s) return "`" .. s .. "`" end

local function type_text(d)
  if d.ref then return md_code(d.ref) end
  if d.enum then return concat(d.enum, " / ") end
  if d.type == "array" then return "array of " .. type_text(d.items or {}) end
  local t = d.type or "any"
  if d.format then t = t .. " (" .. d.format .. ")" end
  return t
end

local function param_text(p)
  local s = md_code(p.name) .. (p.required and "\\*" or "") .. ": " .. type_text(p)
  if p.minimum or p.maximum then
    s = s .. ", " .. (p.minimum and lua_number(p.minimum) or "") .. "–"
      .. (p.maximum and lua_number(p.maximum) or "")
  end
  if p.default ~= nil then
    local d = type(p.default) == "number" and lua_number(p.default) or tostring(p.default)
    s = s .. ", default " .. md_code(d)
  end
  if p["in"] == "path" then s = s .. " (path)" end
  if p.deprecated then s = s .. " (deprecated)" end
  return s
end

local function body_text(b)
  if not b then return "" end
  local s
  if b.kind == "json" then
    s = b.schema and md_code(b.schema) or "[" .. md_code(b.items) .. "]"
  else
    local parts = {}
    for _, p in ipairs(b.parts) do
      local what = p.json and ("JSON " .. md_code(p.schema)) or p.binary and "file" or p.type
      insert(parts, md_code(p.name) .. (p.required and "\\*" or "") .. " " .. what)
    end
    s = "multipart: " .. concat(parts, " + ")
  end
  return s
end

local function response_text(r)
  if r == nil then return "∅" end
  if type(r) == "table" then return "[" .. md_code(r.array) .. "]" end
  return md_code(r)
end

local function load_friendly(root)
  local path = root .. "lua/studioapi/resources.lua"
  local f = io.open(path)
  if not f then return {} end
  f:close()
  package.path = root .. "lua/?.lua;" .. root .. "lua/?/init.lua;" .. package.path
  local ok, mod = pcall(require, "studioapi.resources")
  if not ok then fail("cannot load %s for the Lua names: %s", path, tostring(mod)) end
  return type(mod) == "table" and type(mod.friendly) == "table" and mod.friendly or {}
end

local function write_docs(out, friendly)
  local L = {}
  local function add(s) insert(L, s or "") end
  local ids = {}
  for id in pairs(out.operations) do insert(ids, id) end
  local method_rank = {}
  for i, m in ipairs(METHODS) do method_rank[m:upper()] = i end
  sort(ids, function(a, b)
    local x, y = out.operations[a], out.operations[b]
    if x.path ~= y.path then return x.path < y.path end
    return method_rank[x.method] < method_rank[y.method]
  end)

  add("<!-- Generated by tools/gen_operations.lua; do not edit. Regenerate from the repository")
  add("     root with: " .. REGENERATE .. " -->")
  add("# Operations of the Open API " .. out.version)
  add()
  add(format("Every operation of the Open API (%d), by tag, as `lua/studioapi/operations.lua` "
    .. "knows it.", #ids))
  add("Call any of them with `client:call(operationId, params)`; page through the chunked ones")
  add("with `client:pager(operationId, params)`. Paths are relative to the base URL (`…/v1`).")
  add("In the parameter lists `*` marks a required parameter, `a–b` the allowed range, and")
  add("`A / B` the allowed values. ∅ is a 200 answer without a body; `[X]` a JSON array of `X`.")
  add("The Lua column names the friendly shortcut, where there is one.")
  add()
  add("## Chunked lists")
  add()
  add("Both modes answer `{result, hasNext, offset}`. In *cursor* mode the returned `offset` is")
  add("the id where the next chunk starts; in *slice* mode it is the request's `offset` plus")
  add("`sliceSize`. Either way the pager passes it back as it is and stops on `hasNext == false`.")
  add()
  add("| operationId | path | mode | items | sliceSize |")
  add("| --- | --- | --- | --- | --- |")
  for _, id in ipairs(ids) do
    local op = out.operations[id]
    if op.chunked then
      local size = ""
      for _, p in ipairs(op.params or {}) do
        if p.name == "sliceSize" and p.minimum and p.maximum and p.default then
          size = format("%s–%s, default %s", lua_number(p.minimum), lua_number(p.maximum),
            lua_number(p.default))
        end
      end
      add(format("| %s | %s | %s | %s | %s |", md_code(id), md_code(op.path), op.chunked,
        md_code(op.item_schema), size))
    end
  end
  for _, tag in ipairs(out.tags) do
    add()
    add("## " .. tag)
    add()
    add("| operationId | Lua | method | path | parameters | body | response | chunks |")
    add("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for _, id in ipairs(ids) do
      local op = out.operations[id]
      if op.tag == tag then
        local params = {}
        for _, p in ipairs(op.params or {}) do insert(params, param_text(p)) end
        add(format("| %s%s | %s | %s | %s | %s | %s | %s | %s |", md_code(id),
          op.deprecated and " (deprecated)" or "",
          friendly[id] and md_code(friendly[id]) or "", op.method, md_code(op.path),
          concat(params, "<br>"), body_text(op.body), response_text(op.response),
          op.chunked or ""))
      end
    end
  end
  add()
  add("## Signed URL lifetimes")
  add()
  add("Fields holding a signed URL that stops working after a while (seconds after the fetch).")
  add()
  add("| schema | field | seconds |")
  add("| --- | --- | --- |")
  local names = {}
  for name in pairs(out.schemas) do insert(names, name) end
  sort(names)
  for _, name in ipairs(names) do
    local lifetimes = out.schemas[name].url_lifetimes or {}
    local fields = {}
    for f in pairs(lifetimes) do insert(fields, f) end
    sort(fields)
    for _, f in ipairs(fields) do
      add(format("| %s | %s | %d |", md_code(name), md_code(f), lifetimes[f]))
    end
  end
  return concat(L, "\n") .. "\n"
end

---------------------------------------------------------------------------------------------------

local function write_file(path, text)
  local f, err = io.open(path, "wb")
  if not f then fail("cannot write: %s", err) end
  f:write(text)
  f:close()
end

local function main(args)
  if not args[1] or args[1]:match("^%-") then
    io.stderr:write("usage: lua5.4 tools/gen_operations.lua SPEC.json [OUT.lua [DOCS.md|-]]\n")
    os.exit(2)
  end
  -- Defaults are relative to the repository root (the folder above tools/).
  local script = arg and arg[0] or ""
  local root = script:match("^(.-)tools/[^/]*$") or (script:find("/", 1, true) and "" or "../")
  local out = build(read_spec(args[1]))
  write_file(args[2] or root .. "lua/studioapi/operations.lua", write_lua(out))
  local docs = args[3] or root .. "docs/operations.md"
  if docs ~= "-" then write_file(docs, write_docs(out, load_friendly(root))) end
end

main({ ... })
