-- Writing answers. Every answer of the app goes through here so that Content-Length,
-- Content-Language and the error body's shape are the same everywhere.

local json = require "sandbox.json"
local messages = require "sandbox.messages"

local ngx = ngx
local random = math.random

local _M = {}

-- The errorCode for each status the test routes and faults can answer with.
_M.ERROR_CODES = {
  [400] = "error.validation.invalid_value", [401] = "error.authentication.invalid_api_key",
  [403] = "error.authorization.forbidden", [404] = "error.request.not_found",
  [409] = "error.request.conflict", [429] = "error.request.rate_limited",
  [500] = "error.server.internal", [502] = "error.server.bad_gateway",
  [503] = "error.server.unavailable", [504] = "error.server.gateway_timeout",
}

-- A random 128-bit id in hex, as an opaque stand-in for the API's trace ids.
local function trace_id()
  return ("%08x%08x%08x%08x"):format(random(0, 0xffffffff), random(0, 0xffffffff),
    random(0, 0xffffffff), random(0, 0xffffffff))
end

---Sends status, headers and body, then ends the request. HEAD answers carry no body.
function _M.raw(req, status, body, content_type, headers)
  ngx.status = status
  local h = ngx.header
  if content_type then h["Content-Type"] = content_type end
  if req.lang then h["Content-Language"] = req.lang end
  if headers then
    for name, value in pairs(headers) do h[name] = value end
  end
  if req.method == "HEAD" then body = "" end
  h["Content-Length"] = #body
  ngx.send_headers()
  if body ~= "" then ngx.print(body) end
  return ngx.exit(ngx.HTTP_OK)
end

---A JSON answer.
function _M.json(req, status, value, headers)
  return _M.raw(req, status, json.encode(value), "application/json", headers)
end

---An error answer in the API's ErrorResponse shape; `reference` only for validation errors.
function _M.error(req, status, code, args, reference, headers)
  return _M.json(req, status, {
    errorMessage = messages.text(code, req.lang or "en", args),
    errorCode = code,
    traceId = trace_id(),
    reference = reference,
  }, headers)
end

---A 400 for one request parameter; `code` is error.validation.*, `args` fills the text.
function _M.invalid(req, field, code, args)
  args = args or {}
  args.field = field
  return _M.error(req, 400, code or "error.validation.invalid_value", args, field)
end

---The 404 for paths and methods the sandbox does not know.
function _M.no_route(req)
  return _M.error(req, 404, "error.request.not_found", { method = req.method, path = req.path })
end

return _M
