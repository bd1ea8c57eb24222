-- Test-only routes under /v1/_test/: answers a real server gives only on a bad day (slow, broken,
-- closed, redirected, huge), on demand, so the client's handling of each can be specified.

local params = require "sandbox.params"
local respond = require "sandbox.respond"

local ngx = ngx

local _M = {}

local ERROR_CODES = respond.ERROR_CODES
local REDIRECTS = { [301] = true, [302] = true, [303] = true, [307] = true, [308] = true }

-- GET /_test/slow?seconds=N: answers after N seconds (fractions allowed, at most 300).
function _M.slow(req)
  local seconds = params.number(req, req.args, "seconds", 1, 0, 300)
  if not seconds then return end
  ngx.sleep(seconds)
  return respond.json(req, 200, { slept = seconds })
end

function _M.not_json(req)
  return respond.raw(req, 200, '{"result": [{"id": 1}, {"id": ', "application/json")
end

function _M.html(req)
  return respond.raw(req, 200,
    "<!DOCTYPE html>\n<html><head><title>Maintenance</title></head>"
      .. "<body><h1>Back soon</h1></body></html>\n", "text/html; charset=utf-8")
end

-- 444 is nginx's "close the connection without sending anything".
function _M.close()
  return ngx.exit(444)
end

function _M.empty(req)
  return respond.raw(req, 200, "")
end

local function redact(value)
  if type(value) == "table" then
    local t = {}
    for k, v in ipairs(value) do t[k] = redact(v) end
    return t
  end
  return value:sub(1, 4) .. "…"
end

-- ANY /_test/echo: the request as the server saw it. The key is cut to 4 characters: echoing it
-- whole would put it into test output and logs.
function _M.echo(req)
  local headers = ngx.req.get_headers(200)
  if headers["x-api-key"] then headers["x-api-key"] = redact(headers["x-api-key"]) end
  local body = params.body()
  local out = {
    method = req.method, uri = ngx.var.request_uri, path = req.path, args = req.args,
    headers = headers, http_version = ngx.req.http_version(), body_length = #body,
  }
  -- PCRE's UTF-8 mode refuses invalid UTF-8: such bodies are echoed in base64
  local _, _, err = ngx.re.find(body, "^", "uo")
  if err then out.body_base64 = ngx.encode_base64(body) else out.body = body end
  return respond.json(req, 200, out)
end

local function location(req)
  local to = req.args.to
  if type(to) == "string" and to:find("^https?://[^%s]+$") then return to end
  return nil
end

-- GET /_test/status/{code}: that status with an error body (3xx: a Location and no body).
-- ?retryAfter=N adds Retry-After; ?reference=x names the field of a 400.
function _M.status(req, raw)
  local code = tonumber(raw)
  local extra
  if req.args.retryAfter ~= nil then
    local seconds = params.integer(req, req.args, "retryAfter", 0, 0, 3600)
    if not seconds then return end
    extra = { ["Retry-After"] = ("%d"):format(seconds) }
  end
  if REDIRECTS[code] then
    extra = extra or {}
    extra.Location = location(req) or "/v1/_test/echo"
    return respond.raw(req, code, "", nil, extra)
  end
  local error_code = ERROR_CODES[code]
  if not error_code then return respond.invalid(req, "code") end
  local reference = code == 400 and (type(req.args.reference) == "string"
    and req.args.reference or "test") or nil
  return respond.error(req, code, error_code,
    { field = reference, method = req.method, path = req.path }, reference, extra)
end

-- GET /_test/redirect?to=<absolute URL>: a 302 there.
function _M.redirect(req)
  local to = location(req)
  if not to then return respond.invalid(req, "to") end
  return respond.raw(req, 302, "", nil, { Location = to })
end

-- GET /_test/big?kb=N: a JSON object of N KiB (N ≤ 65536), items of 1 KiB each.
function _M.big(req)
  local kb = params.integer(req, req.args, "kb", 1, 0, 65536)
  if not kb then return end
  -- each item is '"xxx…",' = 1024 bytes; the frame adds a few more
  local item = '"' .. ("x"):rep(1021) .. '"'
  local items = {}
  for k = 1, kb do items[k] = item end
  local body = '{"kb":' .. kb .. ',"items":[' .. table.concat(items, ",") .. "]}"
  return respond.raw(req, 200, body, "application/json")
end


return _M
