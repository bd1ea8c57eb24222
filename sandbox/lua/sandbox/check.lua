-- Checks a request against its operation in the operations table, as the API validates before
-- it does anything: path parameters (type), query parameters (required, type, format, range,
-- enum) and the JSON body (present when required, an object or an array as declared). The first
-- violation is answered with a 400 whose `reference` names the parameter ("body" for the body).
-- Multipart bodies are read and checked part by part (multipart(), over sandbox.multipart).

local cjson = require "cjson.safe"
local json = require "sandbox.json"
local multipart = require "sandbox.multipart"
local operations = require "sandbox.operations"
local params = require "sandbox.params"
local respond = require "sandbox.respond"

local ngx = ngx

local _M = {}

local SHAPES = {
  date = "^%d%d%d%d%-%d%d%-%d%d$",
  ["date-time"] = "^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d",
  uuid = "^%x%x%x%x%x%x%x%x%-%x%x%x%x%-%x%x%x%x%-%x%x%x%x%-%x%x%x%x%x%x%x%x%x%x%x%x$",
}

-- nil when `raw` (a string) fits the description `p` ({type, format, enum, minimum, maximum}),
-- else the errorCode and the arguments of its text.
local function violation(p, raw)
  local t = p.type
  if t == "integer" or t == "number" then
    local v = t == "integer" and params.parse_integer(raw) or tonumber(raw)
    if not v then return "error.validation.invalid_value" end
    if p.minimum and v < p.minimum or p.maximum and v > p.maximum then
      return "error.validation.out_of_range", { min = p.minimum or "-", max = p.maximum or "-" }
    end
  elseif t == "boolean" then
    if raw ~= "true" and raw ~= "false" then return "error.validation.invalid_value" end
  elseif t == "string" then
    local shape = SHAPES[p.format]
    if shape and not raw:find(shape) then return "error.validation.invalid_value" end
  end
  if p.enum then
    for _, allowed in ipairs(p.enum) do
      if raw == allowed then return nil end
    end
    return "error.validation.invalid_value"
  end
  return nil
end

-- The first parameter that is missing or wrong, answered; true when all are fine.
local function check_params(req, op, path_values)
  local k = 0
  for _, p in ipairs(op.params or {}) do
    local raw
    if p["in"] == "path" then
      k = k + 1
      raw = path_values[k]
    else
      raw = req.args[p.name]
    end
    if raw == nil or raw == "" and p["in"] == "query" then
      if p.required then
        return respond.invalid(req, p.name, "error.validation.required")
      end
    elseif p.type == "array" then
      -- a repeated key arrives as a table, a single one as a string
      local list = type(raw) == "table" and raw or { raw }
      for _, item in ipairs(list) do
        if type(item) ~= "string" or violation(p.items or {}, item) then
          return respond.invalid(req, p.name)
        end
      end
    else
      -- given twice, or "?name" without a value: neither is a value
      if type(raw) ~= "string" then return respond.invalid(req, p.name) end
      local code, args = violation(p, raw)
      if code then return respond.invalid(req, p.name, code, args) end
    end
  end
  return true
end

-- A JSON body as declared ({kind = "json", schema | type = "array"}): decoded into req.body.
local function check_json_body(req, body)
  local raw = params.body()
  local first = raw:match("^%s*(%S)")
  if not first then
    if body.required then return respond.invalid(req, "body", "error.validation.required") end
    return true
  end
  -- cjson reads [] and {} alike, so the first character tells an array from an object
  local want = body.type == "array" and "[" or "{"
  local value = cjson.decode(raw)
  if first ~= want or type(value) ~= "table" then return respond.invalid(req, "body") end
  req.body = value
  return true
end

---Checks the request against operation `op`; `path_values` are its path parameters' raw
---values in template order. True when it may go on; otherwise the 400 has been sent.
function _M.request(req, op, path_values)
  if not check_params(req, op, path_values) then return false end
  local body = op.body
  if body and body.kind == "json" then return check_json_body(req, body) end
  return true
end

-- The part a multipart refusal names when there is nothing better: the first required one.
local function first_part(op)
  for _, part in ipairs(op.body.parts) do
    if part.required then return part.name end
  end
  return op.body.parts[1].name
end

-- JSON values against a schema's fields: required ones present, declared ones of their type.
-- Returns the offending field's name and the errorCode, or nil.
local function field_violation(obj, schema)
  for _, name in ipairs(schema.required or {}) do
    if obj[name] == nil or obj[name] == cjson.null then return name, "error.validation.required" end
  end
  for name, f in pairs(schema.fields or {}) do
    local v = obj[name]
    if v ~= nil and v ~= cjson.null then
      local t = f.type
      local bad = t == "integer" and (type(v) ~= "number" or v % 1 ~= 0)
        or t == "number" and type(v) ~= "number"
        or t == "boolean" and type(v) ~= "boolean"
        or t == "string" and (type(v) ~= "string" or violation(f, v) ~= nil)
      if bad then return name, "error.validation.invalid_value" end
    end
  end
  return nil
end
_M.field_violation = field_violation

local IMAGE_TYPES = { { "\255\216\255", "image/jpeg" }, { "\137PNG\r\n\26\n", "image/png" } }

---The image type the first bytes of a file show ("image/jpeg", "image/png"), or nil.
function _M.image_type(head)
  for _, t in ipairs(IMAGE_TYPES) do
    if head:sub(1, #t[1]) == t[1] then return t[2] end
  end
  return nil
end

---What each part of a multipart body was, for the diagnostics (x-sandbox-parts and the
---multipart echo): name, filename, content_type, size, sha256, and json for a JSON part.
function _M.parts_summary(parts)
  local out = {}
  for k, p in ipairs(parts) do
    out[k] = { name = p.name, filename = p.filename, content_type = p.content_type,
      size = p.size, sha256 = p.sha256, json = p.json }
  end
  return out
end

---Reads and checks a multipart operation's body as the API does: multipart/form-data with a
---boundary, well formed (else 400 error.validation.multipart naming the first required part);
---every required part there (error.validation.required), none twice (invalid_value); a JSON part
---sent as application/json (error.validation.media_type), a JSON object (invalid_value) with
---its schema's required fields (error.validation.required, reference "data.<field>"); a file
---part not empty (error.validation.empty); the `image` part a JPEG or PNG by its first bytes
---(error.validation.media_type). `choose(part, declared)` says where a declared binary part's
---bytes go ("file", path | "memory" | "discard"; default discard); JSON parts stay in memory.
---Returns the parts (in body order) and the first part of each name; nil after answering 400
---(then no file is left behind). Sets x-sandbox-parts and req.body_bytes.
function _M.multipart(req, op, choose)
  local boundary = multipart.boundary(ngx.var.content_type)
  if not boundary then
    -- the body is read anyway, for the log's byte count
    ngx.req.read_body()
    return respond.invalid(req, first_part(op), "error.validation.multipart")
  end
  local declared = {}
  for _, d in ipairs(op.body.parts) do declared[d.name] = d end
  local parts, why, size = multipart.parse(boundary, function(part)
    local d = declared[part.name]
    if d and d.json then return "memory" end
    if d and choose then return choose(part, d) end
    -- short fields of unknown names are kept, for the echo's `value`
    return part.filename == nil and "memory" or "discard"
  end)
  req.body_bytes = size
  if not parts then
    ngx.log(ngx.INFO, "sandbox: multipart body refused: ", why)
    return respond.invalid(req, first_part(op), "error.validation.multipart")
  end

  local function refuse(field, code, args)
    multipart.discard(parts)
    ngx.header["x-sandbox-parts"] = json.encode(_M.parts_summary(parts))
    return respond.invalid(req, field, code, args)
  end
  local by_name = {}
  for _, p in ipairs(parts) do
    if by_name[p.name] and declared[p.name] then return refuse(p.name) end
    by_name[p.name] = by_name[p.name] or p
  end
  for _, d in ipairs(op.body.parts) do
    local p = by_name[d.name]
    if not p then
      if d.required then return refuse(d.name, "error.validation.required") end
    elseif d.json then
      local media = multipart.header_value(p.content_type or "")
      if media ~= "application/json" then
        return refuse(d.name, "error.validation.media_type", { types = "application/json" })
      end
      local value = not p.too_large and p.data:find("^%s*{") and cjson.decode(p.data)
      if type(value) ~= "table" then return refuse(d.name) end
      p.json = value
      local schema = d.schema and operations.schemas[d.schema]
      if schema then
        local field, code = field_violation(value, schema)
        if field then return refuse(d.name .. "." .. field, code) end
      end
    else
      if p.size == 0 then return refuse(d.name, "error.validation.empty") end
      if d.name == "image" and not _M.image_type(p.head) then
        return refuse(d.name, "error.validation.media_type", { types = "image/jpeg or image/png" })
      end
    end
  end
  ngx.header["x-sandbox-parts"] = json.encode(_M.parts_summary(parts))
  return parts, by_name
end

return _M
