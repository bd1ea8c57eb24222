-- A ring of the last requests in the shared dict, for GET /_sandbox/log: specs check what reached
-- the server (retries, their attempt numbers, what each got). It holds tenant names, never keys.
--   log:n      the last sequence number given; survives a reset, so `since` never goes back
--   log:first  the first sequence number after the last reset
--   log:<k>    entry seq (as JSON) at k = seq % SIZE

local cjson = require "cjson.safe"

local ngx = ngx
local dict = ngx.shared.sandbox
local max = math.max

local _M = {}

local SIZE = 10000

---Records a finished request: {time, tenant?, method, path, endpoint, status, attempt}.
-- A request that arrived before the last reset is not recorded: a slow one finishing late (its
-- client gave up long ago) must not show up in the log of whatever a spec does next.
function _M.record(entry)
  if entry.time < (dict:get("log:reset_at") or 0) then return end
  entry.seq = dict:incr("log:n", 1, 0)
  dict:set("log:" .. entry.seq % SIZE, cjson.encode(entry))
end

-- Entry `seq`, or nil when it is gone (overwritten, or cleared by a reset).
local function read(seq, last)
  for try = 1, 2 do
    local raw = dict:get("log:" .. seq % SIZE)
    local entry = raw and cjson.decode(raw)
    if entry and entry.seq >= seq then return entry.seq == seq and entry or nil end
    -- another worker may have taken this number and not yet written the entry: wait a moment
    if try == 2 or seq < last - 100 then return nil end
    ngx.sleep(0.001)
  end
end

---Entries with a sequence number above `since`, of one tenant or of all, oldest first.
function _M.list(tenant, since)
  local last = dict:get("log:n") or 0
  local out = {}
  for seq = max((since or 0) + 1, dict:get("log:first") or 1, last - SIZE + 1), last do
    local entry = read(seq, last)
    if entry and (not tenant or entry.tenant == tenant) then out[#out + 1] = entry end
  end
  return out
end

---Hides every entry so far, and every request that arrived before now and is still running;
-- sequence numbers are not given again.
function _M.clear()
  ngx.update_time()
  dict:set("log:reset_at", ngx.now())
  dict:set("log:first", (dict:get("log:n") or 0) + 1)
end

return _M
