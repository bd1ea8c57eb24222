-- Webhooks the sandbox sends (api-reference §6): an HTTPS POST of {entityId, uuid, payload =
-- [{timestamp (epoch ms), type, content?}]} with the tenant's webhook key in x-api-key, to the URL
-- registered for the tenant (tenants.lua `webhook_url`, or POST /_sandbox/webhooks). Writes through
-- the API emit their event after the answer is decided, from a zero-delay timer; the control API
-- sends any event on demand (and may override the key, the uuid or the whole body).
--
-- Delivery: a cosocket, TLS verified against the sandbox's own CA (lua_ssl_trusted_certificate),
-- HTTP/1.1 with Connection: close. Only loopback receivers: IP literals 127.x and ::1, localhost
-- and *.localhost (nothing leaves the machine, and no resolver is needed). A delivery fails when
-- the receiver does not answer 2xx within 5 s (the API's limit); it is tried again `retries` times
-- every `interval` seconds (default: never, one of the two readings of the API's docs; the other
-- is 3 times at 600 s).
--   dict: wh:conf:<tenant>  the control API's registration {url, retries, interval}
--         wh:n              the last delivery number (kept by a reset)
--         wh:log:<k>        delivery seq at k = seq % LOG_SIZE, as JSON

local cjson = require "cjson.safe"
local config = require "sandbox.config"

local ngx = ngx
local dict = ngx.shared.sandbox
local random, floor = math.random, math.floor
local concat = table.concat
local unpack = table.unpack or unpack -- luacheck: ignore 143

local _M = {}

local LOG_SIZE = 1000
local CONNECT_TIMEOUT, ANSWER_TIMEOUT = 2000, 5000 -- ms
local ANSWER_KEEP = 512 -- bytes of the receiver's answer kept in the log

---A random version-4 UUID.
function _M.uuid()
  local b = {}
  for i = 1, 16 do b[i] = random(0, 255) end
  b[7] = 0x40 + b[7] % 16
  b[9] = 0x80 + b[9] % 64
  return ("%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x")
    :format(unpack(b))
end

---The registration of a tenant {url?, retries, interval}: the control API's, else the config's.
function _M.settings(tenant)
  local raw = dict:get("wh:conf:" .. tenant.name)
  local s = raw and cjson.decode(raw)
  if s then return s end
  local d = config.webhooks
  return { url = tenant.webhook_url, retries = d.retries, interval = d.interval }
end

---Registers {url (nil = none), retries, interval} for a tenant, until a reset.
function _M.configure(tenant, s)
  dict:set("wh:conf:" .. tenant.name, cjson.encode(s))
end

-- The parts of an http(s) URL to a loopback host: scheme, host (for Host, SNI and the
-- certificate), address to connect to, port, path. Nil and why for anything else.
function _M.parse_url(url)
  if type(url) ~= "string" then return nil, "not a string" end
  local scheme, authority, path = url:match("^(https?)://([^/?#]+)([^#]*)$")
  if not scheme then return nil, "not an http or https URL" end
  local host, port = authority:match("^(%[[%x:]+%]):?(%d*)$")
  if not host then host, port = authority:match("^([^:@]+):?(%d*)$") end
  if not host then return nil, "no host" end
  host = host:lower()
  local addr
  if host:find("^127%.%d+%.%d+%.%d+$") or host == "[::1]" then
    addr = host
  elseif host == "localhost" or host:find("^[%w-]+[%w.-]*%.localhost$") then
    addr = "127.0.0.1"
  else
    return nil, "not a loopback host (IP 127.x or ::1, localhost, *.localhost)"
  end
  port = tonumber(port ~= "" and port or (scheme == "https" and "443" or "80"))
  if not port or port < 1 or port > 65535 then return nil, "bad port" end
  if path == "" then path = "/" end
  if path:find("[%s%c]") then return nil, "spaces or control characters in the path" end
  return { scheme = scheme, host = host, addr = addr, port = port, path = path }
end

-- Reads the answer's status line, headers and up to ANSWER_KEEP bytes of its body.
local function read_answer(sock)
  local line, err = sock:receive("*l")
  if not line then return nil, "no answer: " .. tostring(err) end
  local status = tonumber(line:match("^HTTP/%d%.%d (%d%d%d)") or "")
  if not status then return nil, "not an HTTP answer" end
  local length, chunked
  while true do
    local h = sock:receive("*l")
    if not h or h == "" then break end
    h = h:lower()
    local n = h:match("^content%-length:%s*(%d+)")
    if n then length = tonumber(n) end
    if h:find("^transfer%-encoding:.*chunked") then chunked = true end
  end
  if chunked then -- the first chunk is enough for the log
    local size = tonumber((sock:receive("*l") or ""):match("^%x+") or "", 16)
    length = size
  end
  local body = ""
  if length and length > 0 then
    body = sock:receive(math.min(length, ANSWER_KEEP)) or ""
  end
  return status, nil, body
end

---One POST of `body` to `url` with x-api-key `key` (nil: no key header). Returns the status
---answered (0 when there was none), an error message or nil, and the start of the answer.
function _M.post(url, key, body)
  local u, why = _M.parse_url(url)
  if not u then return 0, why end
  local sock = ngx.socket.tcp()
  sock:settimeouts(CONNECT_TIMEOUT, ANSWER_TIMEOUT, ANSWER_TIMEOUT)
  local ok, err = sock:connect(u.addr, u.port)
  if not ok then return 0, "connect: " .. tostring(err) end
  if u.scheme == "https" then
    -- verify = true: the chain against the sandbox's CA, and the host name
    local host = u.host:match("^%[") and nil or u.host
    ok, err = sock:sslhandshake(nil, host, true)
    if not ok then
      sock:close()
      return 0, "tls: " .. tostring(err)
    end
  end
  local default = (u.scheme == "https" and u.port == 443) or (u.scheme == "http" and u.port == 80)
  local lines = {
    "POST " .. u.path .. " HTTP/1.1",
    "Host: " .. u.host .. (default and "" or ":" .. u.port),
    "User-Agent: studioapi-sandbox",
    "Content-Type: application/json",
    "Content-Length: " .. #body,
    "Connection: close",
  }
  if key then lines[#lines + 1] = "x-api-key: " .. key end
  lines[#lines + 1] = ""
  lines[#lines + 1] = body
  ok, err = sock:send(concat(lines, "\r\n"))
  if not ok then
    sock:close()
    return 0, "send: " .. tostring(err)
  end
  local status, rerr, answer = read_answer(sock)
  sock:close()
  return status or 0, rerr, answer
end

---The JSON body of an event, as the API sends it.
function _M.body(event_type, entity_id, content, uuid)
  local element = { timestamp = floor(ngx.now() * 1000), type = event_type }
  if content and next(content) ~= nil then element.content = content end
  return cjson.encode({ entityId = entity_id, uuid = uuid, payload = { element } })
end

-- The delivery log ----------------------------------------------------------------------------

local function log_put(entry)
  dict:set("wh:log:" .. entry.seq % LOG_SIZE, cjson.encode(entry))
end

---Deliveries with a number above `since`, oldest first (the last LOG_SIZE at most).
function _M.log(since, tenant)
  local last = dict:get("wh:n") or 0
  local out = {}
  for seq = math.max((since or 0) + 1, last - LOG_SIZE + 1, 1), last do
    local raw = dict:get("wh:log:" .. seq % LOG_SIZE)
    local entry = raw and cjson.decode(raw)
    if entry and entry.seq == seq and (not tenant or entry.tenant == tenant) then
      out[#out + 1] = entry
    end
  end
  return out
end

-- Delivery ------------------------------------------------------------------------------------

local deliver

-- One attempt of a job; schedules the next one when it failed and retries remain.
local function attempt(job)
  job.attempts = job.attempts + 1
  local status, err, answer = _M.post(job.url, job.key, job.body)
  local ok = status >= 200 and status < 300
  local entry = job.entry
  entry.status, entry.attempts, entry.error, entry.answer = status, job.attempts, err, answer
  entry.state = ok and "delivered" or (job.attempts <= job.retries and "retrying" or "failed")
  log_put(entry)
  if entry.state == "retrying" then
    local scheduled, terr = ngx.timer.at(job.interval, deliver, job)
    if not scheduled then
      entry.state, entry.error = "failed", "cannot schedule a retry: " .. tostring(terr)
      log_put(entry)
    end
  end
  return entry
end

function deliver(premature, job)
  if premature then return end -- nginx is stopping
  local ok, err = pcall(attempt, job)
  if not ok then ngx.log(ngx.ERR, "sandbox: webhook delivery: ", err) end
end

-- A job for an event: what to send where, and its log entry (state "pending").
local function new_job(tenant, s, spec)
  local uuid = spec.uuid or _M.uuid()
  local job = {
    url = s.url, retries = s.retries or 0, interval = s.interval or 0, attempts = 0,
    key = spec.key == nil and tenant.webhook_key or spec.key or nil,
    body = spec.body or _M.body(spec.type, spec.entityId, spec.content, uuid),
  }
  job.entry = {
    seq = dict:incr("wh:n", 1, 0), time = math.floor(ngx.now() * 1000) / 1000,
    tenant = tenant.name, uuid = uuid, type = spec.type, entityId = spec.entityId,
    url = s.url, state = "pending", attempts = 0, status = 0,
  }
  log_put(job.entry)
  return job
end

---Emits an event after a write: nothing when the tenant has no URL, else a delivery from a
---zero-delay timer. Returns the uuid, or nil.
function _M.emit(tenant, event_type, entity_id, content)
  local s = _M.settings(tenant)
  if not s.url then return nil end
  local job = new_job(tenant, s, { type = event_type, entityId = entity_id, content = content })
  local ok, err = ngx.timer.at(0, deliver, job)
  if not ok then
    ngx.log(ngx.ERR, "sandbox: cannot schedule a webhook: ", err)
    job.entry.state, job.entry.error = "failed", "cannot schedule: " .. tostring(err)
    log_put(job.entry)
  end
  return job.entry.uuid
end

---Sends an event now (the control API): spec {type, entityId, content?, uuid?, key? (false: no
---key header), body? (raw, replaces the event), url?}. Returns the log entry after the first
---attempt; retries go on in timers. Nil and why when the tenant has no URL.
function _M.send(tenant, spec)
  local s = _M.settings(tenant)
  if spec.url then s = { url = spec.url, retries = s.retries, interval = s.interval } end
  if not s.url then return nil, "url" end
  return attempt(new_job(tenant, s, spec))
end

return _M
