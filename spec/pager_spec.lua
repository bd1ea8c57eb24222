-- Pagination over both chunk modes against the sandbox: every record exactly once, in order;
-- resuming from pager.offset / pager.skip loses and repeats nothing.
local studioapi = require "studioapi"
local pager_mod = require "studioapi.pager"
local sandbox = require "spec.support.sandbox"

local acme = sandbox.tenant("acme")

local function new_client()
  return assert(studioapi.new { base_url = acme.base_url, api_key = acme.api_key,
                                ca_file = acme.ca_file })
end

-- The ids a plain walk with one big chunk size sees: the reference the other walks must match.
local function reference_ids(client, what, query)
  local ids = {}
  for item in client:each(what, query) do ids[#ids + 1] = item.id end
  return ids
end

local function assert_same_ids(expected, got)
  assert.equal(#expected, #got)
  for i = 1, #expected do
    if expected[i] ~= got[i] then
      error(("id #%d: expected %s, got %s"):format(i, tostring(expected[i]), tostring(got[i])))
    end
  end
end

describe("cursor mode (GET /customers)", function()
  local client, all
  setup(function()
    client = new_client()
    all = reference_ids(client, "/customers", { sliceSize = 500 })
  end)
  teardown(function() client:close() end)

  it("walks every customer once, strictly increasing, whatever the chunk size", function()
    assert.truthy(#all > 1000)
    for i = 2, #all do assert.truthy(all[i] > all[i - 1]) end
    for _, size in ipairs { 50, 137, 499 } do
      local ids = {}
      local pager = client:pager("/customers", { sliceSize = size })
      for c in pager:items() do ids[#ids + 1] = c.id end
      assert_same_ids(all, ids)
      assert.equal(math.ceil(#all / size), pager.chunks)
      assert.is_true(pager.done)
    end
  end)

  it("pages through chunks with pages()", function()
    local n, chunks = 0, 0
    for page in client:pager("getCustomers", { sliceSize = 300 }):pages() do
      chunks = chunks + 1
      n = n + #page.result
      assert.equal("string", type(page.offset))
    end
    assert.equal(#all, n)
    assert.equal(math.ceil(#all / 300), chunks)
  end)

  it("hands out entities", function()
    local first = client:each("/customers", { sliceSize = 50 })()
    assert.equal("Customer", first:schema())
    assert.equal("string", type(first:full_name()))
  end)

  it("resumes from offset and skip after the loop stops half-way through a chunk", function()
    local got = {}
    local pager = client:pager("getCustomers", { sliceSize = 100 })
    for c in pager:items() do
      got[#got + 1] = c.id
      if #got == 250 then break end
    end
    assert.equal(50, pager.skip)
    local resumed = client:pager("getCustomers", { sliceSize = 100 },
                                 { offset = pager.offset, skip = pager.skip })
    for c in resumed:items() do got[#got + 1] = c.id end
    assert_same_ids(all, got)
  end)

  it("resumes from a new client with only the saved cursor", function()
    local pager = client:pager("/customers", { sliceSize = 200 })
    local got = {}
    for page in pager:pages() do
      for _, c in ipairs(page.result) do got[#got + 1] = c.id end
      if #got >= 600 then break end
    end
    -- pages(): the chunk the loop held counts as delivered only when the next is asked for.
    local saved = pager.offset
    local other = new_client()
    local skip = #got - 400
    for c in other:each("/customers", { sliceSize = 200 }, { offset = saved, skip = skip }) do
      got[#got + 1] = c.id
    end
    other:close()
    assert_same_ids(all, got)
  end)

  it("stops after max_items", function()
    local n = 0
    for _ in client:each("/customers", { sliceSize = 50 }, { max_items = 120 }) do n = n + 1 end
    assert.equal(120, n)
  end)

  it("raises the error object for a failed chunk and keeps the resume point", function()
    local pager = client:pager("getCustomers", { sliceSize = 501 })
    local ok, err = pcall(function() for _ in pager:items() do end end)
    assert.is_false(ok)
    assert.is_true(studioapi.is_error(err))
    assert.equal("invalid_argument", err.code)
    assert.equal("sliceSize", err.reference)
    assert.is_nil(pager.offset)
  end)
end)

describe("slice mode (GET /employees)", function()
  local client, all
  setup(function()
    client = new_client()
    all = reference_ids(client, "/employees", { sliceSize = 100 })
  end)
  teardown(function() client:close() end)

  it("walks every employee once with offsets that count up by sliceSize", function()
    assert.truthy(#all > 100)
    for _, size in ipairs { 10, 33, 100 } do
      local ids, offsets = {}, {}
      for page in client.employees:list({ sliceSize = size }):pages() do
        offsets[#offsets + 1] = page.offset
        for _, e in ipairs(page.result) do ids[#ids + 1] = e.id end
      end
      assert_same_ids(all, ids)
      for i, off in ipairs(offsets) do
        if i < #offsets then assert.equal(tostring(i * size), off) end
      end
    end
  end)

  it("resumes with an offset and skip", function()
    local got = {}
    local pager = client:pager("getEmployees", { sliceSize = 25 })
    for e in pager:items() do
      got[#got + 1] = e.id
      if #got == 60 then break end
    end
    assert.equal("50", pager.offset)
    assert.equal(10, pager.skip)
    local resume = { offset = pager.offset, skip = pager.skip }
    for e in client:each("getEmployees", { sliceSize = 25 }, resume) do got[#got + 1] = e.id end
    assert_same_ids(all, got)
  end)
end)

describe("studioapi.pager", function()
  -- The pager's own logic over a scripted sequence of chunks (no HTTP involved: these cases are
  -- about the loop, not the transport).
  local function scripted(chunks)
    local calls = {}
    local fetch = function(q)
      calls[#calls + 1] = q.offset or "start"
      local c = chunks[#calls]
      if c == nil then return nil, studioapi.errors.new { code = "network", message = "gone" } end
      return c
    end
    return fetch, calls
  end

  it("raises pagination_stalled when the offset does not advance", function()
    local fetch = scripted {
      { result = { { id = 1 } }, offset = "5", hasNext = true },
      { result = { { id = 2 } }, offset = "5", hasNext = true },
    }
    local pager = pager_mod.new(fetch, {}, {})
    local seen = 0
    local ok, err = pcall(function() for _ in pager:items() do seen = seen + 1 end end)
    assert.is_false(ok)
    assert.equal("pagination_stalled", err.code)
    assert.equal(1, seen)
    assert.equal("5", pager.offset)
  end)

  it("goes on past an empty chunk while hasNext is true", function()
    local fetch, calls = scripted {
      { result = {}, offset = "10", hasNext = true },
      { result = { { id = 11 } }, offset = "11", hasNext = false },
    }
    local ids = {}
    for item in pager_mod.new(fetch, {}, {}):items() do ids[#ids + 1] = item.id end
    assert.same({ 11 }, ids)
    assert.same({ "start", "10" }, calls)
  end)

  it("stops on hasNext == false even when the chunk is full", function()
    local fetch, calls = scripted {
      { result = { { id = 1 }, { id = 2 } }, offset = "2", hasNext = false },
    }
    local n = 0
    for _ in pager_mod.new(fetch, {}, {}):items() do n = n + 1 end
    assert.equal(2, n)
    assert.equal(1, #calls)
  end)

  it("rejects an answer that is not a chunk", function()
    local fetch = scripted { { result = "nope" } }
    local ok, err = pcall(function() for _ in pager_mod.new(fetch, {}, {}):items() do end end)
    assert.is_false(ok)
    assert.equal("decode", err.code)
  end)
end)
