-- Checks a request against its operation in the operations table, as the API validates before
-- it does anything: path parameters (type), query parameters (required, type, format, range,
-- enum) and the JSON body (present when required, an object or an array as declared). The first
-- violation is answered with a 400 whose `reference` names the parameter ("body" for the body).
-- Multipart bodies are only checked for their content type here (multipart()).

local cjson = require "cjson.safe"
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

---A multipart/form-data request with a boundary, as a multipart operation needs; otherwise a
---400 naming the first required part. (Parsing the parts comes with the uploads.)
function _M.multipart(req, op)
  local content_type = ngx.var.content_type or ""
  local boundary = content_type:lower():find("^%s*multipart/form%-data%s*;.*boundary=[^;%s]")
  if boundary then return true end
  local first = op.body.parts[1].name
  for _, part in ipairs(op.body.parts) do
    if part.required then first = part.name break end
  end
  respond.invalid(req, first, "error.validation.multipart")
  return false
end

return _M
