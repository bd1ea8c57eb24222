--- The error object every failing studioapi operation returns (metatable `studioapi.Error`).
-- Callers branch on `code` (the API's own error code when the body had one, otherwise one of the
-- generic codes below) or on `kind` (always the generic code); `retryable` and `outcome` tell them
-- what is safe to do next.
local _M = {}

local Error = { __name = "studioapi.Error" }
Error.__index = Error
_M.Error = Error

--- Generic codes by HTTP status. Statuses not listed fall back by class (see `kind_for_status`).
local KIND_BY_STATUS = {
  [400] = "validation", [401] = "unauthorized", [403] = "forbidden", [404] = "not_found",
  [409] = "conflict", [429] = "rate_limited", [500] = "server_error", [502] = "unavailable",
  [503] = "unavailable", [504] = "unavailable",
}

--- Generic codes that trying again later may cure.
local RETRYABLE = { rate_limited = true, unavailable = true, timeout = true, network = true }

_M.KINDS = {
  "unauthorized", "forbidden", "not_found", "validation", "rate_limited", "unavailable", "conflict",
  "server_error", "timeout", "network", "tls", "invalid_argument", "decode", "pagination_stalled",
  "duplicate", -- the webhook receiver's: a delivery seen before (answer 200)
}

function _M.kind_for_status(status)
  local kind = KIND_BY_STATUS[status]
  if kind then return kind end
  if status >= 500 then return "server_error" end
  if status >= 400 then return "validation" end
  return "network" -- a redirect we refused to follow, or a status no API answer uses
end

local function redact(s, secret)
  if type(s) ~= "string" or not secret or secret == "" then return s end
  local start = s:find(secret, 1, true)
  while start do
    s = s:sub(1, start - 1) .. secret:sub(1, 4) .. "…" .. s:sub(start + #secret)
    start = s:find(secret, start + 1, true)
  end
  return s
end

--- Builds an error object. `fields.code` defaults to `fields.kind`; `secret` (the API key), when
-- given, is scrubbed from the message and the body, whatever a server echoed back.
function _M.new(fields, secret)
  local e = setmetatable(fields, Error)
  e.kind = e.kind or e.code
  e.code = e.code or e.kind
  if e.retryable == nil then e.retryable = RETRYABLE[e.kind] or false end
  if secret then
    e.message = redact(e.message, secret)
    e.body = redact(e.body, secret)
  end
  return e
end

--- The error for an HTTP response that is not a success. `decoded` is the JSON body, if any;
-- the API's ErrorResponse gives `errorMessage`, `errorCode`, `traceId` and `reference`.
function _M.from_response(status, body, decoded, req, secret)
  local kind = _M.kind_for_status(status)
  local api = type(decoded) == "table" and decoded or {}
  local message = type(api.errorMessage) == "string" and api.errorMessage or nil
  return _M.new({
    status = status,
    kind = kind,
    code = type(api.errorCode) == "string" and api.errorCode ~= "" and api.errorCode or kind,
    message = message or ("HTTP " .. status),
    trace_id = type(api.traceId) == "string" and api.traceId or nil,
    reference = type(api.reference) == "string" and api.reference or nil,
    body = body ~= "" and body or nil,
    method = req.method, path = req.path, attempts = req.attempts or 1,
    retry_after = req.retry_after,
    outcome = "received",
  }, secret)
end

--- The error for a request that got no response: `sent` tells whether it may have reached the
-- server.
function _M.from_transport(kind, message, sent, req, secret)
  return _M.new({
    kind = kind, message = message,
    method = req.method, path = req.path, attempts = req.attempts or 1,
    outcome = sent and "unknown" or "not_sent",
  }, secret)
end

function _M.is_error(x)
  return getmetatable(x) == Error
end

function Error:__tostring()
  local head = self.status and (self.status .. " " .. self.code) or self.code
  local what = self.method and (" " .. self.method .. " " .. (self.path or "")) or ""
  local message = tostring(self.message or self.kind):gsub("[%c]+", " ")
  return ("studioapi: %s%s: %s"):format(head, what, message)
end

return _M
