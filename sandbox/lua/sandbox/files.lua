-- GET /files/<tenant>/<customerId>/<name>?expires=&sig=: the signed URLs of sandbox.urls. Like a
-- storage service's signed links they need no x-api-key (and are served on any host, the URLs
-- naming files.localhost): the signature and the expiry decide, 403 with an error body when the
-- link is expired or not one of ours. Uploaded files come from the store, byte for byte; the
-- generated customers' images and documents get small placeholder bytes of their type.
-- The request log gets every request here, with its host and whether it carried an x-api-key
-- (a client must not send its key to another host).
--   names: image-<version> (0 = the generated customer's placeholder), document-<id>,
--          idle-period-<id>

local activity = require "sandbox.activity"
local config = require "sandbox.config"
local customers = require "sandbox.customers"
local lang = require "sandbox.lang"
local reqlog = require "sandbox.reqlog"
local respond = require "sandbox.respond"
local store = require "sandbox.store"
local urls = require "sandbox.urls"

local ngx = ngx

local _M = {}

local CHUNK = 256 * 1024

-- Placeholders: a 1×1 PNG, a 1×1 JPEG, a one-line PDF.
local PNG = ngx.decode_base64("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk"
  .. "+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")
local JPEG = ngx.decode_base64("/9j/4AAQSkZJRgABAQEASABIAAD/2wBDAP////////////////////////////////"
  .. "//////////////////////////////////////////////////////wgALCAABAAEBAREA/8QAFBABAAAAAAAAAAAA"
  .. "AAAAAAAAAP/aAAgBAQABPxA=") .. "\255\217"
local PDF = "%PDF-1.4\n% studioapi sandbox placeholder\n%%EOF\n"

-- The placeholder of a generated customer's file, or nil: bytes, content type, filename.
local function placeholder(tenant_name, customer_id, name)
  local tenant = config.tenants[tenant_name]
  local i = tenant and customers.index_of(tenant, customer_id)
  if not i then return nil end
  if name == "image-0" then return PNG, "image/png" end
  local doc_id = tonumber(name:match("^document%-(%d+)$") or "")
  local j = doc_id and activity.document_index(tenant, i, doc_id)
  if not j then return nil end
  local file = activity.document(tenant, i, j).fileName
  if file:find("%.jpg$") then return JPEG, "image/jpeg", file end
  return PDF, "application/pdf", file
end

-- A filename for Content-Disposition: quotes and control characters out.
local function disposition(filename)
  return ('inline; filename="%s"'):format(filename:gsub('[%c"\\]', "_"))
end

local function send_file(req, meta)
  local f = io.open(meta.disk, "rb")
  if not f then return respond.error(req, 404, "error.request.not_found",
    { method = req.method, path = req.path }) end
  ngx.status = 200
  ngx.header["Content-Type"] = meta.content_type
  ngx.header["Content-Length"] = meta.size
  if meta.filename then ngx.header["Content-Disposition"] = disposition(meta.filename) end
  ngx.send_headers()
  if req.method ~= "HEAD" then
    while true do
      local d = f:read(CHUNK)
      if not d then break end
      ngx.print(d)
      ngx.flush(true) -- one chunk in memory at a time, however large the file
    end
  end
  f:close()
  return ngx.exit(ngx.HTTP_OK)
end

function _M.serve()
  local headers = ngx.req.get_headers(200)
  local method, path = ngx.req.get_method(), ngx.var.uri
  local req = {
    method = method, path = path, lang = lang.resolve(headers["accept-language"], "en"),
    time = ngx.req.start_time(), host = ngx.var.host,
    api_key = headers["x-api-key"] ~= nil,
  }
  ngx.ctx.files = req
  local tenant, customer, name = path:match("^/files/([%w_-]+)/(%d+)/([%w.-]+)$")
  req.tenant = tenant and config.tenants[tenant] and tenant or nil
  if not name or (method ~= "GET" and method ~= "HEAD") then return respond.no_route(req) end

  local ok, why = urls.check(path, ngx.req.get_uri_args(20))
  if not ok then
    return respond.error(req, 403, why == "expired" and "error.authorization.url_expired"
      or "error.authorization.url_invalid")
  end
  local meta = store.file(path)
  if meta then return send_file(req, meta) end
  local bytes, content_type, filename = placeholder(tenant, tonumber(customer), name)
  if not bytes then
    -- signed by us, but gone since: removed by a reset
    return respond.error(req, 404, "error.request.not_found", { method = method, path = path })
  end
  local extra = filename and { ["Content-Disposition"] = disposition(filename) } or nil
  return respond.raw(req, 200, bytes, content_type, extra)
end

-- The log phase: the request, where it went and whether it carried a key (never the key).
-- As in sandbox.app: written at the end of the answer, before its last bytes leave, so a client
-- that has the whole file finds the entry; the bytes sent are counted as they pass.
function _M.body_filter()
  local req = ngx.ctx.files
  if not req then return end
  req.sent = (req.sent or 0) + #(ngx.arg[1] or "")
  if ngx.arg[2] then _M.log() end
end

function _M.log()
  local req = ngx.ctx.files
  if not req or req.logged then return end
  req.logged = true
  local status = ngx.status
  reqlog.record {
    time = math.floor(req.time * 1000 + 0.5) / 1000, tenant = req.tenant,
    method = req.method, path = req.path, endpoint = req.method .. " /files",
    status = status == 444 and 0 or status, attempt = 1, host = req.host, api_key = req.api_key,
    bytes = tonumber(ngx.var.content_length) or 0, sent = req.sent or 0,
  }
end

return _M
