-- Signed URLs that expire, for images and documents (api-reference §3.8: the API's URL fields
-- carry no expiry field; the lifetime is only stated, 15 min for these). A URL points at the
-- sandbox itself, on a host of its own that is not the API's:
--
--   https://files.localhost:<port>/files/<tenant>/<customerId>/<name>?expires=<epoch>&sig=<mac>
--
-- `sig` is HMAC-SHA1 (base64url) over path and expiry with a secret made at each start, so URLs
-- from an earlier run are refused. sandbox.files serves them: the bytes until `expires`, 403 after.
-- Lifetimes come from the operations table (url_lifetimes: 900 s for these fields), unless the
-- config (SANDBOX_URL_LIFETIME) or the control API (POST /_sandbox/url-lifetime) sets another.
--   dict: url:lifetime   the control API's lifetime (seconds), cleared by a reset

local operations = require "sandbox.operations"

local ngx = ngx
local dict = ngx.shared.sandbox
local ceil = math.ceil

local _M = {}

_M.HOST = "files.localhost"

local DEFAULT_LIFETIME = 900
local secret, configured

---Sets the per-start secret and the configured lifetime (nil = the API's); in the master.
function _M.init(key, lifetime)
  secret, configured = key, lifetime
end

local B64URL = { ["+"] = "-", ["/"] = "_", ["="] = "" }

local function mac(path, expires)
  return (ngx.encode_base64(ngx.hmac_sha1(secret, path .. "\n" .. expires)):gsub("[+/=]", B64URL))
end

---The lifetime in seconds of a URL field of a schema ("Customer", "imageUrl").
function _M.lifetime(schema, field)
  local override = dict:get("url:lifetime") or configured
  if override then return override end
  local s = operations.schemas[schema]
  return s and s.url_lifetimes and s.url_lifetimes[field] or DEFAULT_LIFETIME
end

---Sets (seconds) or clears (nil) the control API's lifetime.
function _M.set_lifetime(seconds)
  if seconds then dict:set("url:lifetime", seconds) else dict:delete("url:lifetime") end
end

---The path of a stored or generated file: /files/<tenant>/<customerId>/<name>.
function _M.path(tenant, customer_id, name)
  return ("/files/%s/%d/%s"):format(tenant.name, customer_id, name)
end

---A signed URL for `path` that lasts as long as the schema's field says.
function _M.sign(path, schema, field)
  -- rounded up: the URL never expires before the lifetime a client computes from its fetch time
  local expires = ceil(ngx.now() + _M.lifetime(schema, field))
  return ("https://%s:%s%s?expires=%d&sig=%s"):format(_M.HOST, ngx.var.server_port, path, expires,
    mac(path, expires))
end

---Whether a request for `path` with these query arguments may have the file: true, or false
---and "expired" | "invalid".
function _M.check(path, args)
  local expires, sig = args.expires, args.sig
  if type(expires) ~= "string" or type(sig) ~= "string" or not expires:find("^%d+$") then
    return false, "invalid"
  end
  local want = mac(path, expires)
  -- compare whole strings of equal length without an early exit
  local diff = #want == #sig and 0 or 1
  for i = 1, math.min(#want, #sig) do
    if want:byte(i) ~= sig:byte(i) then diff = diff + 1 end
  end
  if diff ~= 0 then return false, "invalid" end
  if ngx.now() >= tonumber(expires) then return false, "expired" end
  return true
end

return _M
