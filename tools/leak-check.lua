-- Lifetimes of what outlives a call, for valgrind: started calls (finished, cancelled, in flight
-- when their client closes or is collected), pagers left half-way with a chunk prefetched, lazy
-- chunk cursors outliving their client. Prints "done"; valgrind must report no definite or
-- indirect loss (the module stays loaded to the end, so LSan under ASan cannot tell):
--   make build && LUA_PATH="lua/?.lua;lua/?/init.lua;./?.lua;;" \
--     LUA_CPATH="build/lua5.4/?.so;;" tools/with-sandbox valgrind --leak-check=full \
--     --keep-debuginfo=yes --errors-for-leak-kinds=definite,indirect --error-exitcode=1 \
--     lua5.4 tools/leak-check.lua
local studioapi = require "studioapi"
local core = require "studioapi.core"
local sandbox = require "spec.support.sandbox"

local info = sandbox.info()
local acme = sandbox.tenant("acme")

for round = 1, 2 do
  local client = assert(studioapi.new { base_url = info.bench_url, api_key = "k",
                                        ca_file = info.ca_file, retry = false, rate_limit = false })
  local pager = client.customers:list({ sliceSize = 500 })
  local n = 0
  for _ in pager:items() do -- chunk 5 is on its way when the loop stops
    n = n + 1
    if n >= 1700 then break end
  end
  if round == 1 then client:close() end
  pager, client = nil, nil -- luacheck: ignore 311
  collectgarbage()
  collectgarbage()
end

local h = core.new { base_url = acme.base_url, api_key = acme.api_key, ca_file = acme.ca_file,
                     retry = {}, rate_limit = {} }
local p = h:start("GET", "/customers/1008", nil, nil, nil, true)
assert(h:finish(p) == 200)
h:start("GET", "/customers/1008"):cancel()
local chunk = select(6, h:perform("GET", "/customers?sliceSize=100", nil, nil, nil,
                                  { fields = { result = { lazy = true } } }))
chunk.result:next()
local left = h:start("GET", "/customers?sliceSize=500") -- in flight when the client closes
h:close()
assert(left)
assert(chunk.result:next()) -- the cursor keeps its bytes
h = core.new { base_url = acme.base_url, api_key = acme.api_key, ca_file = acme.ca_file }
left = h:start("GET", "/customers?sliceSize=500") -- in flight when both are collected
assert(left)
h, left, chunk = nil, nil, nil -- luacheck: ignore 311
collectgarbage()
collectgarbage()
print("done")
