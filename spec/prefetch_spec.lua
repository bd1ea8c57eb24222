-- Started calls (h:start / h:finish: a request sent now, its answer taken later) and the pager's
-- prefetch built on them: results, the retry policy and the limiter, lifetimes (docs/internals.md).
local core = require "studioapi.core"
local studioapi = require "studioapi"
local sandbox = require "spec.support.sandbox"

local acme = sandbox.tenant("acme")

local function new_handle(extra)
  local o = { base_url = acme.base_url, api_key = acme.api_key, ca_file = acme.ca_file }
  for k, v in pairs(extra or {}) do o[k] = v end
  return core.new(o)
end

-- acme's logged requests to `endpoint` since `since`.
local function logged(endpoint, since)
  local got = {}
  for _, r in ipairs(sandbox.log { tenant = "acme", since = since }) do
    if r.endpoint == endpoint then got[#got + 1] = r end
  end
  return got
end

local function last_seq()
  local log = sandbox.log { tenant = "acme" }
  return #log > 0 and log[#log].seq or 0
end

describe("h:start and h:finish", function()
  local h
  before_each(function() h = new_handle() end)
  after_each(function()
    h:close()
    sandbox.reset()
  end)

  it("give what perform gives, decoded when asked", function()
    local p = h:start("GET", "/customers/1008", nil, nil, nil, true)
    assert.equal("userdata", type(p))
    local status, headers, body, attempts, retry_after, value = h:finish(p)
    assert.equal(200, status)
    assert.is_nil(headers)
    assert.is_nil(body)
    assert.equal(1, attempts)
    assert.is_nil(retry_after)
    assert.equal(1008, value.id)
    p = h:start("GET", "/customers/1")
    status, headers, body = h:finish(p)
    assert.equal(404, status)
    assert.equal("table", type(headers))
    assert.truthy(body:find("error.customer.not_found", 1, true))
  end)

  it("sends the request at once; the answer waits until finish", function()
    local since = last_seq()
    local p = h:start("GET", "/customers/1008")
    core.sleep(0.2)
    assert.equal(1, #logged("GET /customers/{id}", since))
    assert.equal(200, (h:finish(p)))
  end)

  it("lets perform run while a call is started, and gives the started ones slots of their own",
     function()
    local ps = {}
    for i = 1, 3 do ps[i] = h:start("GET", "/customers/100" .. (7 + i)) end
    assert.is_nil(h:start("GET", "/customers/1008")) -- every slot taken
    local _, _, _, _, _, value = h:perform("GET", "/customers/1008", nil, nil, nil, true)
    assert.equal(1008, value.id)
    for i = 3, 1, -1 do assert.is_number((h:finish(ps[i]))) end
    assert.equal("userdata", type(h:start("GET", "/customers/1008"))) -- the slots are free again
  end)

  it("counts the timeout from finish: an answer waiting in the socket is not late", function()
    local slow = new_handle { timeout = 0.5 }
    local p = slow:start("GET", "/_test/slow?seconds=0.1")
    core.sleep(1) -- the caller is busy for twice the timeout
    assert.equal(200, (slow:finish(p)))
    p = slow:start("GET", "/_test/slow?seconds=3")
    local t = core.now()
    local ok, kind = slow:finish(p)
    assert.is_nil(ok)
    assert.equal("timeout", kind)
    assert.truthy(core.now() - t < 1.2)
    slow:close()
  end)

  it("retries a failed started call on finish, by the client's policy", function()
    local r = new_handle { retry = { base_delay = 0.01 } }
    sandbox.fault { endpoint = "GET /customers/{id}", kind = "status", status = 503, count = 1 }
    local p = r:start("GET", "/customers/1008")
    local status, _, _, attempts = r:finish(p)
    assert.equal(200, status)
    assert.equal(2, attempts)
    r:close()
  end)

  it("is admitted by the limiter when it is sent", function()
    -- The limiter is process-wide: a short window, and older requests of other specs are out.
    local r = new_handle { rate_limit = { limit = 1, window = 0.5, max_wait = 0 } }
    core.sleep(0.6)
    local p1 = r:start("GET", "/customers/1008")
    local p2 = r:start("GET", "/customers/1009")
    local ok, kind, _, sent, attempts = r:finish(p2)
    assert.is_nil(ok)
    assert.equal("rate_limited", kind)
    assert.is_false(sent)
    assert.equal(0, attempts)
    assert.equal(200, (r:finish(p1)))
    r:close()
  end)

  it("refuses to finish a call twice, a cancelled one, or another client's", function()
    local p = h:start("GET", "/customers/1008")
    assert.equal(200, (h:finish(p)))
    assert.has_error(function() h:finish(p) end)
    p = h:start("GET", "/customers/1008")
    p:cancel()
    p:cancel()
    assert.has_error(function() h:finish(p) end)
    local other = new_handle()
    p = other:start("GET", "/customers/1008")
    assert.has_error(function() h:finish(p) end)
    other:close()
    assert.equal(200, (h:perform("GET", "/customers/1008")))
  end)

  it("makes a call that is over into the next one when given it to reuse", function()
    local p = h:start("GET", "/customers/1008")
    h:finish(p)
    local again = h:start("GET", "/customers/1009", nil, nil, nil, nil, nil, p)
    assert.equal(p, again)
    local busy = h:start("GET", "/customers/1008", nil, nil, nil, nil, nil, again)
    assert.are_not.equal(again, busy) -- not over: a new one
    h:finish(again)
    h:finish(busy)
  end)

  it("lets go of started calls when the client closes or is collected", function()
    local weak = setmetatable({}, { __mode = "v" })
    local c = new_handle()
    weak.pending = c:start("GET", "/customers?sliceSize=500")
    weak.client = c
    c:close()
    assert.has_error(function() c:finish(weak.pending) end,
                     "attempt to use a closed studioapi.Client")
    c = new_handle()
    weak.pending2 = c:start("GET", "/customers?sliceSize=500")
    weak.client2 = c
    c = nil -- luacheck: ignore 311
    collectgarbage()
    collectgarbage()
    assert.is_nil(weak.pending)
    assert.is_nil(weak.client)
    assert.is_nil(weak.pending2)
    assert.is_nil(weak.client2)
  end)
end)

describe("the pager's prefetch", function()
  local client
  before_each(function()
    client = assert(studioapi.new { base_url = acme.base_url, api_key = acme.api_key,
                                    ca_file = acme.ca_file, retry = false })
  end)
  after_each(function()
    client:close()
    sandbox.reset()
  end)

  it("asks for the next chunk while the loop is in this one", function()
    local since = last_seq()
    local items = client:pager("getCustomers", { sliceSize = 100 }):items()
    assert.truthy(items())
    core.sleep(0.1)
    assert.equal(2, #logged("GET /customers", since))
  end)

  it("does not ask beyond max_items, nor beyond the last chunk", function()
    local since = last_seq()
    local n = 0
    for _ in client:each("/customers", { sliceSize = 100 }, { max_items = 150 }) do n = n + 1 end
    assert.equal(150, n)
    assert.equal(2, #logged("GET /customers", since))
    since = last_seq()
    for _ in client:each("/employees", { sliceSize = 100 }) do n = n + 1 end
    local chunks = logged("GET /employees", since)
    assert.truthy(#chunks >= 2)
    for _, r in ipairs(chunks) do assert.equal(200, r.status) end
  end)

  it("drops the prefetched chunk on close; the resume point stays where the loop is", function()
    local since = last_seq()
    local pager = client:pager("getCustomers", { sliceSize = 100 })
    local items = pager:items()
    for _ = 1, 30 do items() end
    pager:close()
    assert.is_nil(pager.offset)
    assert.equal(30, pager.skip)
    local resumed = {}
    for c in client:each("getCustomers", { sliceSize = 100 }, { offset = pager.offset,
                                                                  skip = pager.skip,
                                                                  max_items = 5 }) do
      resumed[#resumed + 1] = c.id
    end
    local all = {}
    for c in client:each("getCustomers", { sliceSize = 100 }, { max_items = 35 }) do
      all[#all + 1] = c.id
    end
    assert.same({ all[31], all[32], all[33], all[34], all[35] }, resumed)
    assert.truthy(#logged("GET /customers", since) >= 2)
  end)

  it("reports a failed prefetched chunk when the loop gets there, and resumes from it", function()
    local all = {}
    for c in client:each("getCustomers", { sliceSize = 100 }, { max_items = 400 }) do
      all[#all + 1] = c.id
    end
    local pager = client:pager("getCustomers", { sliceSize = 100 }, { max_items = 400 })
    local items = pager:items()
    local got = { items().id } -- chunk 2 is on its way now; the fault hits chunk 3
    sandbox.fault { endpoint = "GET /customers", kind = "status", status = 503, count = 1 }
    local ok, err = pcall(function() for c in items do got[#got + 1] = c.id end end)
    assert.is_false(ok)
    assert.equal(503, err.status)
    assert.equal(200, #got)
    assert.equal(0, pager.skip)
    for c in client:each("getCustomers", { sliceSize = 100 }, { offset = pager.offset,
                                                                  max_items = 200 }) do
      got[#got + 1] = c.id
    end
    assert.same(all, got)
  end)
end)
