-- GET /bench/customers?sliceSize=500[&offset=N]: a chunked list for benchmarks that costs the
-- server next to nothing. SANDBOX_BENCH_CHUNKS chunks (default 2000) of the same 500 customers of
-- acme (1,000,000 records): the chunk body is built once per worker, and chunk N is sent as the
-- pre-built pieces {"result":[…],"offset":"<N+1>","hasNext":<N+1 < chunks>} with one ngx.print
-- of a table, so no request encodes JSON or copies the ~500 KB into a new string. No key, no rate
-- limit, no request log (nginx.conf: location = /bench/customers).

local config = require "sandbox.config"
local customers = require "sandbox.customers"
local json = require "sandbox.json"
local lang = require "sandbox.lang"
local params = require "sandbox.params"

local ngx = ngx

local _M = {}

local SLICE = 500

local head -- '{"result":[…500 customers…],"offset":"'
local pieces = { "", "", '","hasNext":', "", "}" }

local function chunks()
  return tonumber(os.getenv("SANDBOX_BENCH_CHUNKS") or "") or 2000
end

local function build()
  local tenant = config.tenants.acme
  local list = {}
  for i = 1, SLICE do list[i] = customers.customer(tenant, i, "DECIMAL") end
  head = '{"result":' .. json.encode(list) .. ',"offset":"'
  pieces[1] = head
end

function _M.customers()
  local args = ngx.req.get_uri_args(20)
  local req = { method = ngx.req.get_method(), lang = lang.resolve(nil, "en"), args = args }
  local n = chunks()
  if params.integer(req, args, "sliceSize", SLICE, SLICE, SLICE) == nil then return end
  local offset = params.integer(req, args, "offset", 0, 0, n - 1)
  if offset == nil then return end
  if not head then build() end

  local next_offset = ("%d"):format(offset + 1)
  local has_next = offset + 1 < n and "true" or "false"
  pieces[2], pieces[4] = next_offset, has_next
  ngx.status = 200
  ngx.header["Content-Type"] = "application/json"
  ngx.header["Content-Length"] = #head + #next_offset + #pieces[3] + #has_next + 1
  ngx.print(pieces)
  return ngx.exit(ngx.HTTP_OK)
end

return _M
