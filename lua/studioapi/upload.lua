--- Multipart uploads and downloads: `client:upload`, `client:download`, and the forms that
-- `client:request` (`spec.multipart`) and `client:call` (`params.parts`) send.
--
-- A form is checked whole before a byte is sent: every problem with a part is `nil, err` with
-- `err.code == "invalid_argument"` and `err.reference` naming the part. What the C core gets is
-- an array of parts `{name, path | content, filename?, content_type?}` (and `on_progress`): a
-- JSON part is encoded here, a file part is streamed from disk by the core.
--
-- Parts, as the caller writes them:
--   parts = { data = { startDate = "2025-07-01", reasonId = 3 },        -- a table: a JSON part
--             document = { path = "note.pdf" } }                         -- a file, streamed
--   parts = { { name = "data", json = {...} }, { name = "document", content = bytes,
--               filename = "note.pdf", content_type = "application/pdf" } }  -- order kept
-- A part table with `path`, `content` or `json` describes the part (keys: path, content, json,
-- filename, content_type, and name in the array form); any other table is the JSON value itself.
-- The map form has no order of its own: JSON parts go first, then the others, each group sorted
-- by name. The array form is sent in its own order.
local core = require "studioapi.core"
local errors = require "studioapi.errors"
local json = require "studioapi.json"
local entity = require "studioapi.entity"

local type, pairs, ipairs, tostring, error, pcall, setmetatable, getmetatable =
  type, pairs, ipairs, tostring, error, pcall, setmetatable, getmetatable
local format, sub, lower = string.format, string.sub, string.lower
local sort = table.sort

local _M = {}

-- The forms this module made: client:request takes them as they are.
local Form = { __name = "studioapi.Form" }

local DESCRIPTOR_KEYS = {
  name = "string", path = "string", content = "string", json = true, filename = "string|false",
  content_type = "string",
}

-- Content types by file extension, for binary parts that do not name theirs.
local TYPES = {
  pdf = "application/pdf", jpg = "image/jpeg", jpeg = "image/jpeg", png = "image/png",
  heic = "image/heic", heif = "image/heif", gif = "image/gif", webp = "image/webp",
  txt = "text/plain", csv = "text/csv", json = "application/json", xml = "application/xml",
}
local EXTENSIONS = {
  ["application/pdf"] = "pdf", ["image/jpeg"] = "jpg", ["image/png"] = "png",
  ["image/heic"] = "heic", ["text/plain"] = "txt", ["application/json"] = "json",
}

-- Image parts of the API take JPEG or PNG only (api-reference §8): checked by their first bytes.
local IMAGE_PARTS = { updateImage = { image = true } }
local MAGIC = {
  { "\255\216\255", "image/jpeg" },
  { "\137PNG\r\n\26\n", "image/png" },
}

local function has_control(s)
  return s:find("[%z\1-\31\127]") ~= nil
end

local function invalid(reference, message)
  return nil, errors.new { code = "invalid_argument", reference = reference, message = message,
                           attempts = 0, outcome = "not_sent" }
end

local function image_type(head)
  for _, m in ipairs(MAGIC) do
    if sub(head, 1, #m[1]) == m[1] then return m[2] end
  end
  return nil
end

local function type_of(filename)
  local ext = filename and filename:match("%.([%w]+)$")
  return ext and TYPES[lower(ext)] or nil
end

--------------------------------------------------------------------------------------------------
-- One part

-- Checks the keys of a descriptor; returns an error message or nil.
local function check_keys(name, d)
  for k, v in pairs(d) do
    local want = DESCRIPTOR_KEYS[k]
    if not want then
      return format("part '%s': unknown key '%s' (path, content, json, filename, content_type)",
                    name, tostring(k))
    end
    if want ~= true and not want:find(type(v), 1, true)
       and not (v == false and want:find("false", 1, true)) then
      return format("part '%s': '%s' must be a %s, got %s", name, k, (want:gsub("|", " or ")),
                    type(v))
    end
    if type(v) == "string" and k ~= "content" and (v == "" or has_control(v)) then
      return format("part '%s': '%s' must be a non-empty string without control characters",
                    name, k)
    end
  end
  local sources = (d.path ~= nil and 1 or 0) + (d.content ~= nil and 1 or 0)
                  + (d.json ~= nil and 1 or 0)
  if sources ~= 1 then
    return format("part '%s' needs exactly one of path, content or json", name)
  end
  return nil
end

-- The part for the core from the caller's description `d` of part `name`: JSON encoded, a file
-- checked (it exists, is a regular file, can be read, is not empty), a filename and a content
-- type chosen. Also returns the part's first bytes (for magic numbers), or nil for JSON.
local function make_part(name, d)
  local msg = check_keys(name, d)
  if msg then return invalid(name, msg) end
  local part = { name = name, filename = d.filename or nil, content_type = d.content_type }
  if d.json ~= nil then
    local ok, text = pcall(json.encode, d.json)
    if not ok then
      return invalid(name, format("part '%s' cannot be encoded as JSON: %s", name,
                                  (tostring(text):gsub("^.-:%d+: ", ""))))
    end
    part.content, part.json = text, true
    part.content_type = part.content_type or "application/json"
    part.filename = d.filename or nil -- a JSON part is a field, not a file, unless named one
    return part, nil
  end
  local head
  if d.path ~= nil then
    local size, info = core.file_info(d.path)
    if not size then return invalid(name, format("part '%s': cannot read %s: %s", name, d.path,
                                                 info)) end
    if size == 0 then return invalid(name, format("part '%s': %s is empty", name, d.path)) end
    part.path, head = d.path, info
    if d.filename == nil then part.filename = d.path:match("([^/]+)$") end
  else
    if d.content == "" then return invalid(name, format("part '%s' is empty", name)) end
    part.content, head = d.content, sub(d.content, 1, 16)
  end
  part.content_type = part.content_type or image_type(head) or type_of(part.filename)
                      or "application/octet-stream"
  if d.filename == nil and part.filename == nil then
    -- a binary part is a file to the API's servers only when it has a filename
    local ext = EXTENSIONS[part.content_type]
    part.filename = ext and (name .. "." .. ext) or name
  end
  return part, head
end

-- A part name goes into a header: no control characters, no quotes.
local function check_name(name)
  if type(name) ~= "string" or name == "" or has_control(name) or name:find('"', 1, true) then
    return format("part names must be non-empty strings without quotes or control characters, "
                  .. "got %s", type(name) == "string" and format("%q", name) or type(name))
  end
  return nil
end

-- The caller's parts, map or array, as a list of {name, description} in sending order.
local function listed(parts)
  local list = {}
  if parts[1] ~= nil then -- the array form
    local n = #parts
    for k in pairs(parts) do
      if type(k) ~= "number" or k < 1 or k > n or k % 1 ~= 0 then
        return nil, "give the parts as a map (name = part) or as an array, not both"
      end
    end
    for i = 1, n do
      local d = parts[i]
      if type(d) ~= "table" then
        return nil, format("part %d must be a table with a name, got %s", i, type(d)), "parts"
      end
      local msg = check_name(d.name)
      if msg then return nil, format("part %d: %s", i, msg), "parts" end
      list[i] = { d.name, d, true }
    end
    return list
  end
  for name, d in pairs(parts) do
    local msg = check_name(name)
    if msg then return nil, msg, "parts" end
    list[#list + 1] = { name, d, false }
  end
  -- JSON parts first, then by name: the same table always gives the same body
  local function is_json(d)
    return type(d) == "table" and d.path == nil and d.content == nil
  end
  sort(list, function(a, b)
    local ja, jb = is_json(a[2]), is_json(b[2])
    if ja ~= jb then return ja end
    return a[1] < b[1]
  end)
  return list
end

--------------------------------------------------------------------------------------------------
-- Forms

--- The form for `parts` (map or array form), checked and ready for the core, or `nil, err`.
-- `rules` (optional) is what an operation allows: `{op_id, parts = {{name, json, binary,
-- required}, ...}}` from the operations table. A form made here is returned as is.
function _M.form(parts, on_progress, rules)
  if getmetatable(parts) == Form then
    if on_progress ~= nil then parts.on_progress = on_progress end
    return parts
  end
  if type(parts) ~= "table" then
    return invalid("parts", "parts must be a table, got " .. type(parts))
  end
  local list, msg, ref = listed(parts)
  if not list then return invalid(ref or "parts", msg) end
  local allowed, seen, op_id = nil, {}, rules and rules.op_id
  if rules then
    allowed = {}
    for _, p in ipairs(rules.parts) do allowed[p.name] = p end
  end
  local form = setmetatable({ on_progress = on_progress }, Form)
  for i, entry in ipairs(list) do
    local name, d, array = entry[1], entry[2], entry[3]
    local rule = allowed and allowed[name]
    if allowed and not rule then
      local names = {}
      for _, p in ipairs(rules.parts) do names[#names + 1] = p.name end
      return invalid(name, format("%s: '%s' is not a part of this operation (its parts: %s)",
                                  op_id, name, table.concat(names, ", ")))
    end
    if allowed and seen[name] then
      return invalid(name, format("%s: part '%s' is given twice", op_id, name))
    end
    seen[name] = true
    if type(d) ~= "table" then
      return invalid(name, format("part '%s' must be a table ({path = …}, {content = …} or a "
                                  .. "JSON table), got %s", name, type(d)))
    end
    local desc = d
    if array then
      desc = {}
      for k, v in pairs(d) do if k ~= "name" then desc[k] = v end end
    elseif d.path == nil and d.content == nil and d.json == nil then
      desc = { json = d }
    end
    local part, head = make_part(name, desc)
    if not part then return nil, head end
    if rule and rule.json and not part.json then
      return invalid(name, format("%s: part '%s' must be JSON (a table), not a file", op_id,
                                  name))
    end
    if rule and rule.binary and part.json then
      return invalid(name, format("%s: part '%s' must be a file ({path = …} or {content = …})",
                                  op_id, name))
    end
    if op_id and IMAGE_PARTS[op_id] and IMAGE_PARTS[op_id][name] then
      local kind = image_type(head)
      if not kind then
        return invalid(name, format("%s: part '%s' must be a JPEG or PNG image", op_id, name))
      end
      if d.content_type and d.content_type ~= kind then
        return invalid(name, format("%s: part '%s' is a %s image, not %s", op_id, name,
                                    kind:sub(7):upper(), d.content_type))
      end
      part.content_type = kind
    end
    part.json = nil
    form[i] = part
  end
  if rules then
    for _, p in ipairs(rules.parts) do
      if p.required and not seen[p.name] then
        return invalid(p.name, format("%s: part '%s' is required", op_id, p.name))
      end
    end
  end
  if form[1] == nil then return invalid("parts", "a multipart body needs at least one part") end
  return form
end

--- The form of an operation's call: `params.parts` checked against the operation's parts.
function _M.operation_form(op_id, op, params)
  if params.parts == nil then
    for _, p in ipairs(op.body.parts) do
      if p.required then return invalid(p.name, format("%s: part '%s' is required", op_id,
                                                       p.name)) end
    end
    return invalid("parts", op_id .. ": parts are required")
  end
  if params.on_progress ~= nil and type(params.on_progress) ~= "function" then
    return invalid("on_progress",
                   "on_progress must be a function, got " .. type(params.on_progress))
  end
  return _M.form(params.parts, params.on_progress, { op_id = op_id, parts = op.body.parts })
end

--------------------------------------------------------------------------------------------------
-- Downloads

local LOOPBACK = { ["localhost"] = true, ["[::1]"] = true }

-- Checks a download URL: http(s), no credentials, no spaces or control characters; plain http
-- only to a loopback host (as for base_url). Returns the URL as shown in errors and events:
-- without its query (a signed URL's signature is a credential) nor fragment.
local function check_url(url, reference)
  if type(url) ~= "string" or url == "" then
    return invalid(reference, "expected a URL, got " .. type(url))
  end
  if has_control(url) or url:find("[%s\"<>\\^`{|}]") then
    return invalid(reference, "the URL holds characters a URL cannot have")
  end
  local scheme, authority = url:match("^(%a[%w+.-]*)://([^/?#]*)")
  scheme = scheme and lower(scheme)
  if scheme ~= "https" and scheme ~= "http" then
    return invalid(reference, "the URL must start with https://")
  end
  if authority:find("@", 1, true) then
    return invalid(reference, "the URL must not carry credentials")
  end
  local host = lower(authority:match("^(%[[%x:.]+%])") or authority:match("^([^:]+)") or "")
  if host == "" then return invalid(reference, "the URL has no host") end
  if scheme == "http" and not (LOOPBACK[host] or host:match("^127%.%d+%.%d+%.%d+$")) then
    return invalid(reference, "the URL must be https:// (http:// only for a loopback host)")
  end
  return (url:gsub("[?#].*$", ""))
end

--------------------------------------------------------------------------------------------------
-- The client's methods

local UPLOAD_OPTIONS = {
  method = "string", query = "table", on_progress = "function", headers = "table",
  language = "string", idempotent = "boolean",
}
local UPLOAD_METHODS = { POST = true, PUT = true, PATCH = true }

--- Installs `client:upload` and `client:download` on the Client; `fetch_json(self, spec)` sends a
-- spec and returns its decoded answer or `nil, err` (init.lua).
function _M.install(Client, fetch_json)
  --- Sends `parts` as multipart/form-data to `path` (POST unless `opts.method` says PUT or
  -- PATCH). `opts`: `method`, `query`, `on_progress(sent, total)`, `headers`, `language`,
  -- `idempotent`. Returns the decoded answer (`true` for an empty one) or `nil, err`.
  function Client:upload(path, parts, opts)
    if type(path) ~= "string" then error("client:upload: path must be a string", 2) end
    if type(parts) ~= "table" then
      error("client:upload: parts must be a table, got " .. type(parts), 2)
    end
    opts = opts or {}
    if type(opts) ~= "table" then error("client:upload: opts must be a table", 2) end
    for k, v in pairs(opts) do
      local want = UPLOAD_OPTIONS[k]
      if not want then error(format("client:upload: unknown option '%s'", tostring(k)), 2) end
      if type(v) ~= want then
        error(format("client:upload: option '%s' must be a %s, got %s", k, want, type(v)), 2)
      end
    end
    local method = (opts.method or "POST"):upper()
    if not UPLOAD_METHODS[method] then
      error("client:upload: method must be POST, PUT or PATCH, not " .. method, 2)
    end
    self:_check_open()
    return fetch_json(self, {
      method = method, path = path, query = opts.query, multipart = parts,
      on_progress = opts.on_progress, headers = opts.headers, language = opts.language,
      idempotent = opts.idempotent,
    })
  end

  -- One GET of `url` into `path` (or memory). Returns the path or the bytes, or nil, err and,
  -- for an answer, its status. Errors carry the generic codes (`forbidden`, `not_found`, …):
  -- a signed URL's host is not the API, whatever its error bodies say.
  local function fetch(self, url, shown, path)
    local on_event = self._on_event
    local started
    if on_event then
      on_event { type = "request", method = "GET", path = shown }
      started = core.now()
    end
    local status, body, v3, v4, v5, v6 = self._handle:download(url, path)
    local req = { method = "GET", path = shown }
    if not status then
      local err
      if body == "invalid_argument" or body == "io" then -- the file at path
        err = errors.new({ code = "invalid_argument", reference = "path", message = v3,
                           method = "GET", path = shown, attempts = v5,
                           outcome = v4 and "unknown" or "not_sent" }, self._secret)
      else
        req.attempts, req.retry_after = v5, v6
        err = errors.from_transport(body, v3, v4, req, self._secret)
        err.retry_after = v6
      end
      if on_event then
        on_event { type = "error", method = "GET", path = shown, code = err.code,
                   elapsed = core.now() - started }
      end
      return nil, err
    end
    if on_event then
      on_event { type = "response", method = "GET", path = shown, status = status,
                 elapsed = core.now() - started }
    end
    if status >= 200 and status <= 299 then return path or body end
    req.attempts, req.retry_after = v4, v5
    local decoded
    if body ~= "" and v3 and v3:find("json", 1, true) then decoded = json.decode(body) end
    local err
    if status >= 300 and status < 400 then
      err = errors.new({ status = status, kind = "network", method = "GET", path = shown,
                         attempts = v4, outcome = "received", body = body ~= "" and body or nil,
                         message = "redirect not followed" }, self._secret)
    else
      err = errors.from_response(status, body, decoded, req, self._secret)
      err.code = err.kind
    end
    return nil, err, status
  end

  --- Downloads a file: `client:download(entity, "imageUrl", "/tmp/x.jpg")` or
  -- `client:download("https://…", "/tmp/x.jpg")`. The body is streamed into a temporary file
  -- next to `path` that replaces it when complete (mode 0600); without a path the bytes are
  -- returned. An entity's URL is refreshed once (`client:refresh`) when it has expired or the
  -- server answers 403, and the download tried again with the fresh one. The key is sent only
  -- to the base URL's own origin (scheme, host and port), never to another host.
  -- Returns `path` (or the bytes) or `nil, err` (a 403 after the refresh: `forbidden`).
  function Client:download(what, a, b)
    local e, field, url, path
    if type(what) == "string" then
      url, path = what, a
      if b ~= nil then
        error("client:download: with a URL, give (url, path): a third argument makes no sense", 2)
      end
    elseif entity.is_entity(what) then
      e, field, path = what, a, b
      if type(field) ~= "string" then
        error("client:download: expected the name of the entity's URL field, got " .. type(field),
              2)
      end
    else
      error("client:download: expected a URL or an entity, got " .. type(what), 2)
    end
    if path ~= nil and type(path) ~= "string" then
      error("client:download: path must be a string or nil, got " .. type(path), 2)
    end
    self:_check_open()
    local reference = field or "url"
    if path == "" then return invalid("path", "path must not be empty") end
    local refreshed = false
    local function refresh()
      local fresh, err = self:refresh(e)
      if not fresh then return nil, err end
      e, refreshed = fresh, true
      return true
    end
    -- The URL to fetch and how errors name it; for an entity, its field's URL.
    local function where()
      if e then
        url = e[field]
        if url == nil then return invalid(field, format("the %s has no %s", e:schema(), field)) end
      end
      local shown, uerr = check_url(url, reference)
      if not shown then return nil, uerr end
      local base = self.base_url .. "/"
      if sub(shown, 1, #base) == base then shown = sub(shown, #base) end -- as the API's paths
      return shown
    end
    if e and e:url_expired(field) then
      local ok, err = refresh()
      if not ok then return nil, err end
    end
    local shown, err = where()
    if not shown then return nil, err end
    local got, status
    got, err, status = fetch(self, url, shown, path)
    if got == nil and status == 403 and e and not refreshed then -- once
      local ok, rerr = refresh()
      if not ok then return nil, rerr end
      shown, err = where()
      if not shown then return nil, err end
      got, err = fetch(self, url, shown, path)
    end
    if got == nil then return nil, err end
    return got
  end
end

return _M
