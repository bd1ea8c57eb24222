-- The example server's locations (nginx.conf.in):
--   POST /webhooks    the platform's deliveries: receiver:handle answers at once (200, 400, 401,
--                     503); a zero-delay timer drains the queue afterwards
--   GET /received     what the handlers saw: {events, refused, duplicates}, oldest first
--   DELETE /received  forgets it
-- luacheck: globals ngx

local cjson = require "cjson.safe"
local hooks = require "hooks"

local _M = {}

local received = ngx.shared.received

local function send(status, text)
  ngx.status = status
  ngx.header["Content-Type"] = "application/json"
  ngx.print(text)
  return ngx.exit(ngx.HTTP_OK)
end

local function answer(status, value)
  return send(status, cjson.encode(value))
end

-- A JSON array of a list's records, which the dict keeps encoded (hooks.record).
local function list(name)
  local out = {}
  for k = 1, received:get(name .. ":n") or 0 do
    out[#out + 1] = received:get(name .. ":" .. k)
  end
  return "[" .. table.concat(out, ",") .. "]"
end

local function drain(premature)
  if premature then return end
  local _, failures = hooks.receiver:drain()
  for _, f in ipairs(failures) do
    ngx.log(ngx.ERR, "example: handler failed for ", tostring(f.event), ": ", f.traceback)
  end
end

-- The request body: in memory, or in nginx's temporary file when it was large.
local function body()
  ngx.req.read_body()
  local data = ngx.req.get_body_data()
  if data then return data end
  local path = ngx.req.get_body_file()
  if not path then return nil end
  local f = assert(io.open(path, "rb"))
  data = f:read("*a")
  f:close()
  return data
end

function _M.webhook()
  if ngx.req.get_method() ~= "POST" then return answer(405, { error = "POST only" }) end
  local status, err = hooks.receiver:handle(ngx.req.get_headers(100), body())
  if err and err.code == "duplicate" then
    hooks.record("duplicates", { message = err.message })
  elseif err then
    -- a refusal: what the receiver said, never the key it was shown
    hooks.record("refused", { status = status, code = err.code, message = err.message })
  end
  if status == 200 and not err then
    local ok, terr = ngx.timer.at(0, drain)
    if not ok then ngx.log(ngx.ERR, "example: cannot schedule the drain: ", terr) end
  end
  return answer(status, err and { error = err.code } or { ok = true })
end

function _M.received()
  local method = ngx.req.get_method()
  if method == "DELETE" then
    received:flush_all()
    return answer(200, { ok = true })
  end
  return send(200, ('{"events":%s,"refused":%s,"duplicates":%s}')
    :format(list("events"), list("refused"), list("duplicates")))
end

return _M
