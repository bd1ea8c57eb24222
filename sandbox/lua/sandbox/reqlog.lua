-- A ring of the last requests in the shared dict, for the control API to show (and for specs to
-- check what reached the server). It holds tenant names, never keys.

local dict = ngx.shared.sandbox

local _M = {}

local SIZE = 1000

---Records one finished request.
function _M.record(tenant, method, path, status, seconds)
  local n = dict:incr("log:n", 1, 0)
  dict:set("log:" .. n % SIZE, ("%s %s %s %d %.3f"):format(tenant, method, path, status, seconds))
end

---The last `count` entries, oldest first.
function _M.recent(count)
  local n = dict:get("log:n") or 0
  count = math.min(count or SIZE, SIZE, n)
  local out = {}
  for k = n - count + 1, n do out[#out + 1] = dict:get("log:" .. k % SIZE) end
  return out
end

return _M
