-- The two chunk modes of the API's lists, `{result, offset, hasNext}`, over records made on
-- demand. sliceSize has been checked against the operation's limits (sandbox.check); its default
-- comes from the operations table too.
--   slice mode:  offset = index of the first record (default 0); the answer's offset is
--                offset + sliceSize
--   cursor mode: offset = the last id already delivered (default 0); the answer's offset is the
--                last id of this chunk, so passing it back continues after it

local json = require "sandbox.json"
local params = require "sandbox.params"
local respond = require "sandbox.respond"

local min = math.min

local _M = {}

-- The request's sliceSize, or the operation's default.
local function size_of(req)
  local raw = req.args.sliceSize
  if raw ~= nil then return tonumber(raw) end
  for _, p in ipairs(req.op.params) do
    if p.name == "sliceSize" then return p.default end
  end
  error("operation " .. req.op_id .. " has no sliceSize")
end

-- The offset as an integer ≥ 0 (absent = 0), or nil after answering 400.
local function offset_of(req)
  local raw = req.args.offset
  if raw == nil then return 0 end
  local n = params.parse_integer(raw)
  if not n or n < 0 then return respond.invalid(req, "offset") end
  return n
end

---Answers a slice-mode chunk of a list of `n` records; `item(k)` makes record k (1-based).
function _M.slice(req, n, item)
  local offset = offset_of(req)
  if not offset then return end
  local size = size_of(req)
  local result = {}
  for k = offset + 1, min(offset + size, n) do result[#result + 1] = item(k) end
  return respond.json(req, 200, {
    result = json.array(result), offset = ("%d"):format(offset + size), hasNext = offset + size < n,
  })
end

---Answers a cursor-mode chunk of `n` records with ids from `ids` (gen.ids); `item(k)` makes
---record k.
function _M.cursor(req, n, ids, item)
  local offset = offset_of(req)
  if not offset then return end
  local size = size_of(req)
  local result = {}
  local k = ids:after(offset, n)
  while k <= n and #result < size do
    result[#result + 1] = item(k)
    k = k + 1
  end
  return respond.json(req, 200, {
    result = json.array(result),
    -- an empty chunk keeps the cursor where it was
    offset = ("%d"):format(result[1] and ids:id(k - 1) or offset),
    hasNext = k <= n,
  })
end

return _M
