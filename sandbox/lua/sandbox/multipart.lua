-- multipart/form-data, parsed as a stream: the body is read where nginx keeps it (in memory, or
-- in its temporary file once it is larger than client_body_buffer_size) in chunks of CHUNK bytes,
-- and each part's bytes go to a sink chosen by the caller: a file (uploads, byte for byte), memory
-- (the JSON part, short fields) or nowhere (only counted and hashed). Every part gets its name,
-- filename, content type, size, SHA-256 and first bytes (for the magic-number checks), whatever
-- its sink, so a 50 MiB upload never sits in a Lua string.
--
--   local parts, problem = multipart.parse(boundary, function(part) return "memory" end)
--   -- parts = { {name, filename?, content_type?, size, sha256, head, data?, path?}, … }
--   -- problem = "why not" (a malformed body), for a 400

local sha256 = require "sandbox.sha256"

local ngx = ngx
local find, sub, lower = string.find, string.sub, string.lower
local concat = table.concat

local _M = {}

local CHUNK = 1024 * 1024
local MAX_HEADER_BLOCK = 16 * 1024
-- a part kept in memory may not grow beyond this (the JSON part, short fields)
_M.MEMORY_LIMIT = 1024 * 1024
local HEAD = 16 -- first bytes kept for magic numbers

-- The parameters of a header value after its first token: `; name=value` or `; name="quoted"`
-- (backslash escapes undone), names in lower case.
local function params_of(s, pos)
  local out = {}
  while true do
    local _, e, key = find(s, "^%s*;%s*([^=;%s]+)%s*=%s*", pos)
    if not e then break end
    pos = e + 1
    local value
    if sub(s, pos, pos) == '"' then
      local chars, i = {}, pos + 1
      while i <= #s do
        local c = sub(s, i, i)
        if c == '"' then break end
        if c == "\\" then
          i = i + 1
          c = sub(s, i, i)
        end
        chars[#chars + 1] = c
        i = i + 1
      end
      value, pos = concat(chars), i + 1
    else
      local _, e2, token = find(s, "^([^;]*)", pos)
      value, pos = token:match("^(.-)%s*$"), e2 + 1
    end
    out[lower(key)] = value
  end
  return out
end

-- The first token of a header value (lower case) and its parameters.
local function header_value(value)
  local _, e, token = find(value, "^%s*([^;%s]+)")
  if not token then return nil, {} end
  return lower(token), params_of(value, e + 1)
end
_M.header_value = header_value

---The boundary of a multipart/form-data Content-Type, or nil.
function _M.boundary(content_type)
  if type(content_type) ~= "string" then return nil end
  local media, params = header_value(content_type)
  local b = params.boundary
  -- RFC 2046: 1 to 70 characters
  if media ~= "multipart/form-data" or not b or #b < 1 or #b > 70 then return nil end
  return b
end

-- name=, filename= and filename*= of a Content-Disposition value.
local function disposition(value)
  local kind, out = header_value(value)
  out.kind = kind
  -- RFC 5987 filename*=UTF-8''a%20b.pdf wins over filename=
  local star = out["filename*"]
  if star then
    local encoded = star:match("^[%w%-]+'[^']*'(.*)$")
    if encoded then
      out.filename = encoded:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end)
    end
  end
  return out
end

-- The part described by a header block ("Name: value" lines), or nil and why not.
local function part_of(block)
  local headers = {}
  for line in (block .. "\r\n"):gmatch("(.-)\r\n") do
    if line ~= "" then
      local name, value = line:match("^([^:%s]+)%s*:%s*(.-)%s*$")
      if not name then return nil, "a part header is not 'Name: value'" end
      headers[lower(name)] = value
    end
  end
  local cd = headers["content-disposition"]
  if not cd then return nil, "a part has no Content-Disposition" end
  local d = disposition(cd)
  if d.kind ~= "form-data" or not d.name or d.name == "" then
    return nil, "a part's Content-Disposition is not form-data with a name"
  end
  return {
    name = d.name, filename = d.filename, content_type = headers["content-type"],
    size = 0, head = "", headers = headers,
  }
end

-- A part's sink: counts, hashes, keeps the first bytes, and writes to its file or memory.
local function open_sink(part, how, path)
  part._sha = sha256.new()
  if how == "file" then
    local f, err = io.open(path, "wb")
    if not f then error("multipart: cannot write " .. path .. ": " .. tostring(err)) end
    part._file, part.path = f, path
  elseif how == "memory" then
    part._chunks = {}
  end
end

local function write(part, s)
  if s == "" then return end
  part.size = part.size + #s
  part._sha:update(s)
  if #part.head < HEAD then part.head = part.head .. sub(s, 1, HEAD - #part.head) end
  if part._file then
    assert(part._file:write(s))
  elseif part._chunks then
    if part.size > _M.MEMORY_LIMIT then
      part.too_large, part._chunks = true, nil
    else
      part._chunks[#part._chunks + 1] = s
    end
  end
end

local function close_sink(part)
  part.sha256 = part._sha:final()
  part._sha = nil
  if part._file then
    assert(part._file:close())
    part._file = nil
  end
  if part._chunks then
    part.data = concat(part._chunks)
    part._chunks = nil
  end
end

---Removes the files the parts were written to (after a refusal, or once they are moved).
function _M.discard(parts)
  for _, part in ipairs(parts or {}) do
    if part._file then part._file:close() part._file = nil end
    if part.path then os.remove(part.path) part.path = nil end
  end
end

-- The request body as a chunk reader: the string in memory, or the temporary file in CHUNK pieces.
local function body_reader()
  ngx.req.read_body()
  local data = ngx.req.get_body_data()
  if data then
    return function()
      local d = data
      data = nil
      return d
    end
  end
  local path = ngx.req.get_body_file()
  if not path then return function() return nil end end
  local f = assert(io.open(path, "rb"))
  return function()
    if not f then return nil end
    local d = f:read(CHUNK)
    if not d then
      f:close()
      f = nil
    end
    return d
  end
end

---Parses the request body. `choose(part)` says where a part's bytes go: "file", path |
---"memory" | "discard". Returns the parts in body order and the body's size, or nil, why not
---and the size (the parts written so far are removed then).
function _M.parse(boundary, choose)
  local read = body_reader()
  -- "\r\n" first: then the first delimiter looks like every other one
  local delim = "\r\n--" .. boundary
  local keep = #delim + 1
  local buf, eof, total = "\r\n", false, 0
  local parts, part = {}, nil
  local state = "preamble"

  local function more()
    if eof then return false end
    local d = read()
    if not d then
      eof = true
      return false
    end
    total = total + #d
    buf = buf .. d
    return true
  end

  local function fail(why)
    if part and part._file then part._file:close() part._file = nil end
    _M.discard(parts)
    return nil, why, total
  end

  while state ~= "done" do
    if state == "preamble" or state == "body" then
      local s, e = find(buf, delim, 1, true)
      if s then
        if part then
          write(part, sub(buf, 1, s - 1))
          close_sink(part)
          part = nil
        end
        buf = sub(buf, e + 1)
        state = "delimiter"
      else
        -- all but a tail that may hold the start of a split delimiter
        if #buf > keep then
          if part then write(part, sub(buf, 1, #buf - keep)) end
          buf = sub(buf, #buf - keep + 1)
        end
        if not more() then
          return fail(state == "preamble" and "no boundary line in the body"
            or "the body ends without a closing boundary")
        end
      end
    elseif state == "delimiter" then
      -- "--" closes the body; else transport padding, then CRLF, then the part's headers
      local e = find(buf, "\r\n", 1, true)
      if #buf >= 2 and sub(buf, 1, 2) == "--" then
        state = "done"
      elseif e then
        if not sub(buf, 1, e - 1):find("^[ \t]*$") then
          return fail("a boundary line has trailing characters")
        end
        buf = sub(buf, e + 2)
        state = "headers"
      elseif #buf > 256 or not more() then
        return fail("the body ends after a boundary line")
      end
    else -- headers
      local block, rest
      if sub(buf, 1, 2) == "\r\n" then
        block, rest = "", sub(buf, 3)
      else
        local s, e = find(buf, "\r\n\r\n", 1, true)
        if s then block, rest = sub(buf, 1, s - 1), sub(buf, e + 1) end
      end
      if block then
        local p, why = part_of(block)
        if not p then return fail(why) end
        local how, path = choose(p)
        parts[#parts + 1] = p
        open_sink(p, how, path)
        -- the body follows; an empty one is followed by "\r\n--boundary" at once
        part, buf, state = p, rest, "body"
      elseif #buf > MAX_HEADER_BLOCK then
        return fail("a part's headers are too long")
      elseif not more() then
        return fail("the body ends in a part's headers")
      end
    end
  end
  -- the epilogue after the closing boundary is ignored, but counted
  while more() do buf = "" end
  return parts, nil, total
end

return _M
