-- Decoding with a plan (metatables set by the decoder as it makes the objects) and decoding
-- straight from a client's receive buffer (h:perform's decode argument); docs/internals.md.
local core = require "studioapi.core"
local studioapi = require "studioapi"
local entity = require "studioapi.entity"
local sandbox = require "spec.support.sandbox"

local acme = sandbox.tenant("acme")
local decode, array_mt = core.json_decode, core.json_array_mt

describe("core.json_decode with a plan", function()
  local A, B, C = { __name = "A" }, { __name = "B" }, { __name = "C" }
  local mts = { A = A, B = B, C = C }

  it("gives the root and the members named by fields their metatables", function()
    local plan = { schema = "A", fields = { b = { schema = "B" } } }
    local v = assert(decode('{"b":{"x":1},"c":{"y":2},"n":null}', plan, mts))
    assert.equal(A, getmetatable(v))
    assert.equal(B, getmetatable(v.b))
    assert.is_nil(getmetatable(v.c))
    assert.equal(1, v.b.x)
  end)

  it("applies items to every element of an array, which keeps json_array_mt", function()
    local plan = { fields = { result = { items = { schema = "C" } } } }
    local v = assert(decode('{"result":[{"id":1},{"id":2},[3],"s",null],"offset":"9"}', plan, mts))
    assert.is_nil(getmetatable(v))
    assert.equal(array_mt, getmetatable(v.result))
    assert.equal(C, getmetatable(v.result[1]))
    assert.equal(C, getmetatable(v.result[2]))
    assert.equal(array_mt, getmetatable(v.result[3]))
    assert.equal("s", v.result[4])
    assert.equal(core.json_null, v.result[5])
  end)

  it("follows nodes that refer to each other as deep as the data goes", function()
    local node = { schema = "A" }
    node.fields = { child = node, list = { items = node } }
    local v = assert(decode('{"child":{"child":{"list":[{"child":{}}]}}}', node, mts))
    assert.equal(A, getmetatable(v.child.child))
    assert.equal(A, getmetatable(v.child.child.list[1]))
    assert.equal(A, getmetatable(v.child.child.list[1].child))
  end)

  it("ignores what is not a table where a node, fields or a metatable is due", function()
    local plan = { schema = "nope", fields = { a = 42, b = { schema = "A", fields = "x" },
                                               c = { items = true } } }
    local v = assert(decode('{"a":{},"b":{"a":{}},"c":[{}]}', plan, mts))
    assert.is_nil(getmetatable(v))
    assert.is_nil(getmetatable(v.a))
    assert.equal(A, getmetatable(v.b))
    assert.is_nil(getmetatable(v.b.a))
    assert.is_nil(getmetatable(v.c[1]))
    v = assert(decode('{"x":1}', { schema = "A" })) -- no metatables given
    assert.is_nil(getmetatable(v))
  end)

  it("asks the metatables' __index for a schema it lacks, and lets its error through", function()
    local asked = {}
    local lazy = setmetatable({}, { __index = function(t, k)
      asked[#asked + 1] = k
      local mt = { __name = k }
      rawset(t, k, mt)
      return mt
    end })
    local v = assert(decode('[{"a":1},{"a":2}]', { items = { schema = "Lazy" } }, lazy))
    assert.same({ "Lazy" }, asked)
    assert.equal(lazy.Lazy, getmetatable(v[2]))
    local raising = setmetatable({}, { __index = function() error("no metatable today") end })
    assert.has_error(function() decode('{"a":1}', { schema = "X" }, raising) end)
  end)

  it("decodes right while another document is decoded from inside it", function()
    -- The key cache is kept across documents; an __index that decodes shares it.
    local inner
    local lazy = setmetatable({}, { __index = function(t, k)
      inner = assert(decode('{"zeta":1,"eta":[1,2],"theta":{"alpha":"x","beta":"y"}}'))
      rawset(t, k, { __name = k })
      return t[k]
    end })
    local v = assert(decode('{"alpha":1,"beta":{"alpha":2,"gamma":[3]},"delta":"d"}',
                            { fields = { beta = { schema = "B" } } }, lazy))
    assert.same({ alpha = 1, beta = { alpha = 2, gamma = { 3 } }, delta = "d" }, v)
    assert.same({ zeta = 1, eta = { 1, 2 }, theta = { alpha = "x", beta = "y" } }, inner)
    for _ = 1, 3 do -- and again, from the cache
      assert.same({ alpha = 1, beta = { alpha = 2, gamma = { 3 } }, delta = "d" },
                  assert(decode('{"alpha":1,"beta":{"alpha":2,"gamma":[3]},"delta":"d"}')))
    end
  end)

  it("refuses a plan or metatables that are not tables", function()
    assert.has_error(function() decode("{}", "plan") end)
    assert.has_error(function() decode("{}", {}, 42) end)
  end)

  it("gives what entity.wrap gives, for a chunk of customers", function()
    local body = '{"result":[{"id":1,"preferredLanguage":{"languageCode":"de"},' ..
                 '"accessMediums":[{"id":7,"value":"x","type":"CARD_NUMBER"}]}],' ..
                 '"offset":"1","hasNext":false}'
    local ctx = entity.context(1000)
    local v = assert(decode(body, entity.chunk_plan("Customer"), ctx))
    local c = v.result[1]
    assert.equal("Customer", c:schema())
    assert.equal("Language", c.preferredLanguage:schema())
    assert.equal("AccessMediumDto", c.accessMediums[1]:schema())
    assert.equal(1000, c:fetched_at())
    local wrapped = entity.wrap(assert(decode(body)).result[1], "Customer", entity.context(1000))
    assert.equal(wrapped:schema(), c:schema())
    assert.equal(wrapped.preferredLanguage:schema(), c.preferredLanguage:schema())
  end)
end)

describe("h:perform with decode", function()
  local h
  before_each(function()
    h = core.new { base_url = acme.base_url, api_key = acme.api_key, ca_file = acme.ca_file }
  end)
  after_each(function() h:close() end)

  it("returns a 2xx JSON answer decoded, without headers and body", function()
    local status, headers, body, attempts, retry_after, value =
      h:perform("GET", "/customers/1008", nil, nil, nil, true)
    assert.equal(200, status)
    assert.is_nil(headers)
    assert.is_nil(body)
    assert.equal(1, attempts)
    assert.is_nil(retry_after)
    assert.equal(1008, value.id)
    assert.is_nil(getmetatable(value))
  end)

  it("decodes with a plan and its metatables", function()
    local mt = { __name = "Customer" }
    local _, _, _, _, _, value = h:perform("GET", "/customers/1008", nil, nil, nil,
                                           { schema = "Customer" }, { Customer = mt })
    assert.equal(mt, getmetatable(value))
  end)

  it("returns the body as a string when it is not JSON, not valid, empty or not a 2xx", function()
    for _, target in ipairs { "/_test/html", "/_test/not-json", "/_test/empty",
                              "/customers/1" } do
      local status, headers, body, _, _, value = h:perform("GET", target, nil, nil, nil, true)
      assert.is_number(status, target)
      assert.equal("table", type(headers), target)
      assert.equal("string", type(body), target)
      assert.is_nil(value, target)
    end
  end)

  it("keeps the client usable after a decode raised", function()
    local raising = setmetatable({}, { __index = function() error("boom") end })
    for _ = 1, 3 do
      assert.has_error(function()
        h:perform("GET", "/customers/1008", nil, nil, nil, { schema = "X" }, raising)
      end)
    end
    local _, _, _, _, _, value = h:perform("GET", "/customers/1008", nil, nil, nil, true)
    assert.equal(1008, value.id)
    collectgarbage()
    collectgarbage()
  end)

  it("decodes a big body (the receive buffer is kept or freed as before)", function()
    local _, _, _, _, _, value = h:perform("GET", "/_test/big?kb=2048", nil, nil, nil, true)
    assert.equal(2048, #value.items)
    _, _, _, _, _, value = h:perform("GET", "/_test/big?kb=1", nil, nil, nil, true)
    assert.equal(1, #value.items)
  end)
end)

describe("h:perform with a lazy chunk plan", function()
  local h
  local node = { schema = "Customer" }
  local lazy_plan = { fields = { result = { items = node, lazy = true } } }
  local Customer = { __name = "Customer" }
  before_each(function()
    h = core.new { base_url = acme.base_url, api_key = acme.api_key, ca_file = acme.ca_file }
  end)
  after_each(function() h:close() end)

  local function chunk(size)
    local _, _, _, _, _, value = h:perform("GET", "/customers?sliceSize=" .. size, nil, nil, nil,
                                           lazy_plan, { Customer = Customer })
    return value
  end

  it("gives result as a cursor that decodes the items as they are asked for", function()
    local eager = select(6, h:perform("GET", "/customers?sliceSize=50", nil, nil, nil, true))
    local c = chunk(50)
    assert.equal("userdata", type(c.result))
    assert.equal("string", type(c.offset))
    assert.is_true(c.hasNext)
    local cur = c.result
    assert.equal(50, cur:size())
    assert.equal(50, cur:left())
    local first = cur:next()
    assert.equal(Customer, getmetatable(first))
    -- imageUrl is signed with the time of the answer: the rest is the same
    eager.result[1].imageUrl, first.imageUrl = nil, nil
    assert.same(eager.result[1], setmetatable(first, nil))
    local t = {}
    assert.equal(10, cur:fill(t, 10))
    for i = 1, 10 do assert.equal(eager.result[i + 1].id, t[i].id) end
    cur:skip(30)
    assert.equal(9, cur:left())
    assert.equal(eager.result[42].id, cur:next().id)
    assert.equal(8, cur:fill(t, 100))
    assert.equal(eager.result[50].id, t[8].id)
    assert.equal(0, cur:left())
    assert.is_nil(cur:next())
    assert.equal(0, cur:fill(t, 5))
  end)

  it("checks the whole answer first: a broken one comes back as a body", function()
    local status, headers, body, _, _, value = h:perform("GET", "/_test/not-json", nil, nil, nil,
                                                         lazy_plan, {})
    assert.equal(200, status)
    assert.equal("table", type(headers))
    assert.equal("string", type(body))
    assert.is_nil(value)
  end)

  it("keeps its bytes after close, and after its client closed", function()
    local cur = chunk(100).result
    cur:close()
    assert.is_nil(cur:next())
    cur = chunk(100).result
    local again = chunk(100).result -- the first cursor's bytes are still its own
    h:close()
    local n = 0
    while cur:next() do n = n + 1 end
    assert.equal(100, n)
    assert.equal(100, again:size())
    assert.truthy(again:next())
  end)

  it("lets a cursor and its bytes be collected", function()
    local weak = setmetatable({}, { __mode = "v" })
    weak[1] = chunk(50).result
    weak[1]:next()
    collectgarbage()
    collectgarbage()
    assert.is_nil(weak[1])
    assert.equal(50, chunk(50).result:size()) -- and the client goes on
  end)
end)

describe("core.plain_target", function()
  it("tells whether a target holds no space, control character or DEL", function()
    assert.is_true(core.plain_target("/customers/1?x=%20"))
    assert.is_true(core.plain_target(""))
    for _, bad in ipairs { "/a b", "/a\tb", "/a\0b", "/a\127", "/\r\n" } do
      assert.is_false(core.plain_target(bad), bad)
    end
  end)
end)

describe("client:get and the pager", function()
  it("give the same as client:request's json", function()
    local client = assert(studioapi.new { base_url = acme.base_url, api_key = acme.api_key,
                                          ca_file = acme.ca_file })
    local got = assert(client:get("/customers/1008"))
    local res = assert(client:request { path = "/customers/1008" })
    got.imageUrl, res.json.imageUrl = nil, nil -- signed with the time of the answer
    assert.same(res.json, got)
    assert.equal("string", type(res.body))
    assert.equal("table", type(res.headers))
    local _, err = client:get("/_test/html")
    assert.equal("decode", err.code)
    assert.truthy(err.body:find("Maintenance", 1, true))
    _, err = client:get("/_test/not-json")
    assert.equal("decode", err.code)
    assert.truthy(err.message:find("not valid JSON", 1, true))
    assert.is_true(client:get("/_test/empty"))
    client:close()
  end)
end)
