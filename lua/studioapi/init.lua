--- studioapi — a Lua client for the Open API of the studio platform.
-- `studioapi.new{...}` gives a Client; every call that can fail for reasons outside the caller's
-- control returns `value` or `nil, err` (a `studioapi.Error`); programming mistakes raise at once.
local core = require "studioapi.core"
local errors = require "studioapi.errors"
local options = require "studioapi.options"
local json = require "studioapi.json"
local language = require "studioapi.language"
local upload = require "studioapi.upload"

local type, pairs, ipairs, tostring, error, setmetatable = type, pairs, ipairs, tostring, error,
                                                            setmetatable
local concat, sort = table.concat, table.sort
local format, byte, gsub = string.format, string.byte, string.gsub

local _M = {
  _VERSION = "studioapi 0.1.0",
  errors = errors,
  json = json,
  language = language,
  is_error = errors.is_error,
}

-- studioapi.webhook loads on first use: a plain API client never pays for the receiver kit.
setmetatable(_M, { __index = function(t, k)
  if k == "webhook" then
    local webhook = require "studioapi.webhook"
    rawset(t, k, webhook)
    return webhook
  end
end })

local plain_target = core.plain_target -- no space, control character or DEL (a C loop)

local VERSION = _M._VERSION:match("[%d.]+$")
local USER_AGENT = ("studioapi/%s libcurl/%s"):format(VERSION, core.curl_version)

local Client = { __name = "studioapi.Client" }
Client.__index = Client
_M.Client = Client

-- Option names and the Lua type each must have. An unknown name raises, naming it (luaposix style):
-- a typo must never silently fall back to a default.
local OPTIONS = {
  base_url = "string", api_key = "string", language = "string", timeout = "number",
  connect_timeout = "number", ca_file = "string", user_agent = "string",
  retry = "table|false", rate_limit = "table|false", on_event = "function",
  sleep = "function", clock = "function",
}
local RETRY_OPTIONS = {
  max_attempts = "number", base_delay = "number", max_delay = "number", retry_unsafe = "boolean",
  max_elapsed = "number",
}
local RATE_LIMIT_OPTIONS = {
  limit = "number", window = "number", max_wait = "number", lockout = "number",
}
-- The ranges of the retry and rate_limit numbers: { min, max, integer }. Out of range is an
-- invalid_argument error, as for the timeouts; the C side checks them again.
local POLICY_RANGES = {
  retry = { max_attempts = { 1, 100, true }, base_delay = { 0, 3600 }, max_delay = { 0, 86400 },
            max_elapsed = { 0.001, 1e9 } },
  rate_limit = { limit = { 1, 1e6, true }, window = { 0.001, 86400 }, max_wait = { 0, 86400 },
                 lockout = { 0, 86400 } },
}
local REQUEST_FIELDS = {
  method = "string", path = "string", query = "table", json = "table", body = "string",
  content_type = "string", multipart = "table", on_progress = "function", headers = "table",
  language = "string", idempotent = "boolean",
}
local METHODS = { GET = true, HEAD = true, POST = true, PUT = true, PATCH = true, DELETE = true }

local check_options = options.check -- (where, opts, schema, level): raises on a bad option

local function invalid(message)
  return nil, errors.new { code = "invalid_argument", message = message }
end

local function has_control(s)
  return s:find("[%z\1-\31\127]") ~= nil
end

local LOOPBACK = { ["localhost"] = true, ["[::1]"] = true }

local function is_loopback(host)
  return LOOPBACK[host] or host:match("^127%.%d+%.%d+%.%d+$") ~= nil
end

-- Splits and checks a base URL: https, or http to a loopback host; no credentials, query or
-- fragment (they would leak or be silently dropped). Returns the URL without a trailing slash.
local function check_base_url(url)
  if has_control(url) or url:find("[%s\"<>\\^`{|}]") then
    return invalid("base_url holds characters a URL cannot have")
  end
  local scheme, authority, path = url:match("^(%a[%w+.-]*)://([^/?#]*)([^?#]*)$")
  if not scheme then
    return invalid("base_url must look like https://<tenant>.example.com/v1 (no query or fragment)")
  end
  scheme = scheme:lower()
  if authority:find("@", 1, true) then
    return invalid("base_url must not carry credentials: the key goes in api_key")
  end
  local host = (authority:match("^(%[[%x:.]+%])") or authority:match("^([^:]+)") or ""):lower()
  if host == "" then return invalid("base_url has no host") end
  if scheme == "http" then
    if not is_loopback(host) then
      return invalid("base_url must be https:// (http:// only for a loopback sandbox)")
    end
  elseif scheme ~= "https" then
    return invalid(format("base_url must be https://, not %s://", scheme))
  end
  return scheme .. "://" .. authority .. path:gsub("/+$", "")
end

local function check_ranges(name, t)
  for field, r in pairs(POLICY_RANGES[name]) do
    local v = t[field]
    if v ~= nil and not (v >= r[1] and v <= r[2] and (not r[3] or v == math.floor(v))) then
      return invalid(format("%s.%s must be %s from %s to %s", name, field,
                            r[3] and "an integer" or "a number of seconds", r[1], r[2]))
    end
  end
  return true
end

local function check_text(name, value)
  if value == "" then return invalid(name .. " must not be empty") end
  if has_control(value) then return invalid(name .. " must not hold control characters") end
  return value
end

--- Creates a client for one tenant.
-- @tparam table opts see README / API.md (base_url and api_key are required)
-- @treturn studioapi.Client|nil
-- @treturn[opt] studioapi.Error (`invalid_argument`) for a bad base URL, key or language
function _M.new(opts)
  if type(opts) ~= "table" then
    error("studioapi.new: expected an options table, got " .. type(opts), 2)
  end
  check_options("studioapi.new", opts, OPTIONS, 2)
  for _, name in ipairs { "base_url", "api_key" } do
    if opts[name] == nil then error(format("studioapi.new: option '%s' is required", name), 2) end
  end
  if opts.retry then check_options("studioapi.new: retry", opts.retry, RETRY_OPTIONS, 2) end
  if opts.rate_limit then
    check_options("studioapi.new: rate_limit", opts.rate_limit, RATE_LIMIT_OPTIONS, 2)
  end

  local base_url, err = check_base_url(opts.base_url)
  if not base_url then return nil, err end
  local _, kerr = check_text("api_key", opts.api_key)
  if kerr then return nil, kerr end
  local lang
  if opts.language then
    lang, err = language.normalize(opts.language)
    if not lang then return nil, err end
  end
  local ua = USER_AGENT
  if opts.user_agent then
    local _, uerr = check_text("user_agent", opts.user_agent)
    if uerr then return nil, uerr end
    ua = ua .. " " .. opts.user_agent
  end
  for _, name in ipairs { "timeout", "connect_timeout" } do
    local v = opts[name]
    if v ~= nil and not (v > 0 and v < 1e6) then
      return invalid(name .. " must be a positive number of seconds")
    end
  end
  for _, name in ipairs { "retry", "rate_limit" } do
    if opts[name] then
      local ok, rerr = check_ranges(name, opts[name])
      if not ok then return nil, rerr end
    end
  end

  local handle = core.new {
    base_url = base_url, api_key = opts.api_key, language = lang,
    timeout = opts.timeout or 30, connect_timeout = opts.connect_timeout or 10,
    ca_file = opts.ca_file, user_agent = ua,
    -- absent means the documented defaults ({}); false turns the policy off
    retry = opts.retry == nil and {} or opts.retry,
    rate_limit = opts.rate_limit == nil and {} or opts.rate_limit,
    sleep = opts.sleep, clock = opts.clock, on_event = opts.on_event,
  }
  local client = setmetatable({
    _handle = handle,
    _secret = opts.api_key,
    _on_event = opts.on_event,
    base_url = base_url,
    language = lang,
  }, Client)
  client:attach_resources()
  return client
end

--------------------------------------------------------------------------------------------------
-- Requests

local function escape(s)
  return (gsub(s, "[^%w%-%._~]", function(c) return format("%%%02X", byte(c)) end))
end

local function query_value(name, v)
  local t = type(v)
  if t == "string" then return v end
  if t == "number" then
    -- Integral floats (LuaJIT has no integers) must not turn into "42.0" or "4.2e+01".
    if v == math.floor(v) and v > -2^53 and v < 2^53 then return format("%d", v) end
    return format("%.17g", v)
  end
  if t == "boolean" then return tostring(v) end
  error(format("query parameter '%s' must be a string, number or boolean, got %s", name, t), 4)
end

-- Encodes a query table; keys sorted so the same call always yields the same URL, and an array
-- value repeats its key (`status=A&status=B`), as the API's list parameters expect.
local function encode_query(query)
  local keys = {}
  for k in pairs(query) do
    if type(k) ~= "string" then error("query keys must be strings", 4) end
    keys[#keys + 1] = k
  end
  sort(keys)
  local parts = {}
  for _, k in ipairs(keys) do
    local v = query[k]
    if type(v) == "table" then
      for _, item in ipairs(v) do
        parts[#parts + 1] = escape(k) .. "=" .. escape(query_value(k, item))
      end
    else
      parts[#parts + 1] = escape(k) .. "=" .. escape(query_value(k, v))
    end
  end
  return concat(parts, "&")
end

local function header_lines(headers, lines)
  for name, value in pairs(headers) do
    if type(name) ~= "string" or not name:match("^[%w!#$%%&'*+%-.^_`|~]+$") then
      return nil, "header name " .. format("%q", tostring(name)) .. " is not a valid token"
    end
    value = tostring(value)
    if has_control(value) then
      return nil, "header '" .. name .. "' must not hold control characters"
    end
    lines[#lines + 1] = name .. ": " .. value
  end
  return lines
end

local function is_json_type(content_type)
  return content_type ~= nil and content_type:find("json", 1, true) ~= nil
end


function Client:_check_open()
  if not self._handle then error("studioapi: attempt to use a closed studioapi.Client", 3) end
end

local settle, Started -- below: what send makes of perform's results; a started request

-- The body of client:request, for a spec whose field names are known to be right. `level` is
-- the error level of the caller's mistakes. With `decode` (a plan table for the decoder, or true)
-- a 2xx JSON answer is decoded in C straight from the receive buffer, the objects getting their
-- metatables from `mts` on the way (studioapi.entity's plans), and comes back as the third
-- result alone: no body string, no headers table. Anything else returns as from request.
local function send(self, spec, level, decode, mts, async)
  level = level + 1
  if not self._handle then error("studioapi: attempt to use a closed studioapi.Client", level) end
  local method = spec.method or "GET"
  if not METHODS[method] then
    method = method:upper()
    if not METHODS[method] then
      error("client:request: unknown method '" .. method .. "'", level)
    end
  end
  local path = spec.path
  if type(path) ~= "string" or byte(path, 1) ~= 47 then -- "/"
    error("client:request: path must be a string starting with '/'", level)
  end
  local form -- a multipart body (studioapi.upload): checked whole before anything is sent
  if spec.multipart then
    if spec.json or spec.body then
      error("client:request: give one of multipart, json or body", level)
    end
    if method == "GET" or method == "HEAD" then
      error("client:request: a " .. method .. " request takes no multipart body", level)
    end
    local ferr
    form, ferr = upload.form(spec.multipart, spec.on_progress)
    if not form then
      ferr.method, ferr.path = method, path
      return nil, ferr
    end
  elseif spec.on_progress then
    error("client:request: on_progress is for multipart uploads", level)
  end
  if spec.json and spec.body then error("client:request: give json or body, not both", level) end

  if not plain_target(path) then
    return nil, errors.new({ code = "invalid_argument", method = method, path = path,
                             message = "path must not hold spaces or control characters" })
  end
  local target = path
  if spec.query then
    local q = encode_query(spec.query)
    if q ~= "" then target = target .. (path:find("?", 1, true) and "&" or "?") .. q end
  end

  local lines -- extra header lines: a table only when there are some
  local body = spec.body
  if spec.json then
    body = json.encode(spec.json)
    lines = { "Content-Type: application/json" }
  elseif body then
    lines = { "Content-Type: " .. (spec.content_type or "application/octet-stream") }
  elseif form then
    body = form -- libcurl writes "Content-Type: multipart/form-data; boundary=…" itself
  end
  if spec.language then
    local lang, lerr = language.normalize(spec.language)
    if not lang then return nil, lerr end
    lines = lines or {}
    lines[#lines + 1] = "Accept-Language: " .. lang
  end
  if spec.headers then
    lines = lines or {}
    local ok, herr = header_lines(spec.headers, lines)
    if not ok then
      return nil, errors.new { code = "invalid_argument", method = method, path = path,
                               message = herr }
    end
  end

  -- Events are built only when someone listens: this is the hot path of every request.
  local on_event = self._on_event
  local started
  if on_event then
    on_event { type = "request", method = method, path = path }
    started = core.now()
  end
  -- a response: status, headers, body, attempts, retry_after;
  -- decoded (decode): status, nil, nil, attempts, retry_after, value;
  -- a failure:  nil, kind, message, sent, attempts, retry_after (kind "rate_limited": the
  -- limiter would not wait, and nothing was sent since)
  -- With async the request goes out now and its answer is waited for by finish (a prefetch):
  -- the fourth result is a Started, or nothing when every slot of the client is taken. async
  -- may be the pending call of an earlier Started that is over, to be used again.
  if async then
    local pending = self._handle:start(method, target, lines, body, spec.idempotent, decode, mts,
                                       async ~= true and async or nil)
    if pending == nil then return nil end
    return nil, nil, nil, setmetatable({ client = self, method = method, path = path,
                                         pending = pending, t0 = started }, Started)
  end
  return settle(self, method, path, started, self._handle:perform(method, target, lines, body,
    spec.idempotent, decode, mts))
end

function settle(self, method, path, started, status, headers, rbody, v4, v5, v6)
  local on_event = self._on_event
  if headers == nil then -- decoded
    if on_event then
      on_event { type = "response", method = method, path = path, status = status,
                 elapsed = core.now() - started }
    end
    return nil, nil, v6
  end
  local req = { method = method, path = path }
  if not status then
    req.attempts, req.retry_after = v5, v6
    local err = errors.from_transport(headers, rbody, v4, req, self._secret)
    err.retry_after = v6
    if on_event then
      on_event { type = "error", method = method, path = path, code = err.code,
                 elapsed = core.now() - started }
    end
    return nil, err
  end
  req.attempts, req.retry_after = v4, v5
  if on_event then
    on_event { type = "response", method = method, path = path, status = status,
               elapsed = core.now() - started }
  end

  local decoded, derr
  if rbody ~= "" and is_json_type(headers["content-type"]) then
    decoded, derr = json.decode(rbody)
  end
  if status < 200 or status > 299 then
    if status >= 300 and status < 400 and headers.location then
      rbody = rbody ~= "" and rbody or nil
      return nil, errors.new({
        status = status, kind = "network", method = method, path = path, attempts = v4,
        outcome = "received", body = rbody,
        message = "redirect not followed (the key is never sent to another address)",
      }, self._secret)
    end
    return nil, errors.from_response(status, rbody, decoded, req, self._secret)
  end
  return { status = status, headers = headers, body = rbody, json = decoded, decode_error = derr,
           attempts = v4 }
end

--- Sends one request and returns the response table, or `nil, err` for anything but a 2xx.
-- @tparam table spec {method, path, query, json, body, content_type, headers, language, idempotent}
-- @treturn table|nil {status, headers, body, json}
-- @treturn[opt] studioapi.Error
function Client:request(spec)
  if type(spec) ~= "table" then error("client:request: expected a spec table", 2) end
  self:_check_open()
  check_options("client:request", spec, REQUEST_FIELDS, 2)
  local res, err = send(self, spec, 2)
  return res, err
end

-- The decoded body of a successful request: its JSON, `true` for an empty body (many writes
-- answer 200 with nothing), or a `decode` error for a body that is not JSON.
local function decoded_result(self, res, err)
  if not res then return nil, err end
  if res.json ~= nil then return res.json end
  if res.body == "" then return true end
  local msg = res.decode_error and ("response is not valid JSON: " .. res.decode_error)
    or ("response is not JSON (content-type %s)"):format(tostring(res.headers["content-type"]))
  return nil, errors.new({
    status = res.status, code = "decode", message = msg, body = res.body,
    method = res.method, path = res.path, attempts = res.attempts or 1, outcome = "received",
  }, self._secret)
end

-- Sends a spec of ours (field names known to be right) and returns the decoded answer, as
-- decoded_result does; `decode` and `mts` as for send (default: decode without a plan).
local function fetch_json(self, spec, decode, mts)
  local res, err, value = send(self, spec, 2, decode or true, mts)
  if value ~= nil then return value end
  if res then res.method, res.path = spec.method, spec.path end
  return decoded_result(self, res, err)
end

-- A request that send started (async): finish waits for its answer and returns what fetch_json
-- would; cancel drops it (the limiter counts it as sent).
Started = {}
Started.__index = Started

function Started:finish()
  local client = self.client
  local h = client._handle
  if not h then error("studioapi: attempt to use a closed studioapi.Client", 2) end
  local res, err, value = settle(client, self.method, self.path, self.t0, h:finish(self.pending))
  if value ~= nil then return value end
  if res then res.method, res.path = self.method, self.path end
  return decoded_result(client, res, err)
end

function Started:cancel()
  self.pending:cancel()
end

-- fetch_json in two halves, to prefetch: the request goes out now and the Started's finish gives
-- the answer. nil when it cannot start now (every slot of the client taken, or a spec that would
-- fail before sending): the caller then uses fetch_json. reuse: an earlier Started's `pending`.
local function start_json(self, spec, decode, mts, reuse)
  return select(4, send(self, spec, 2, decode or true, mts, reuse or true))
end

local function call(self, method, path, query, body)
  return fetch_json(self, { method = method, path = path, query = query, json = body })
end

--- `GET path?query` → decoded JSON, or `nil, err`.
function Client:get(path, query) return call(self, "GET", path, query) end
--- `POST path` with a JSON body → decoded JSON (`true` when the answer has no body), or `nil, err`.
function Client:post(path, body) return call(self, "POST", path, nil, body) end
function Client:put(path, body) return call(self, "PUT", path, nil, body) end
function Client:patch(path, body) return call(self, "PATCH", path, nil, body) end
function Client:delete(path, query) return call(self, "DELETE", path, query) end

-- call, pager, each, refresh and the friendly namespaces (client.customers, …): api.lua.
require("studioapi.api").install(Client, decoded_result, fetch_json, start_json)
-- upload and download: upload.lua.
upload.install(Client, fetch_json)

--- Checks the key: `HEAD` on the base URL answers 200 for a valid key and 401 otherwise.
-- @treturn true|nil
-- @treturn[opt] studioapi.Error (`unauthorized` for a wrong key)
function Client:ping()
  local res, err = self:request { method = "HEAD", path = "/" }
  if not res then return nil, err end
  return true
end

--- Frees the connections. Idempotent; also runs on `__close` and when the client is collected.
function Client:close()
  local h = self._handle
  if h then
    self._handle = nil
    h:close()
  end
end
-- No __gc here: the C handle has its own finaliser, which also runs on LuaJIT (tables have none).
Client.__close = Client.close

function Client:__tostring()
  if not self._handle then return "studioapi.Client (closed)" end
  return tostring(self._handle)
end

return _M
