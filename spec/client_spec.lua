-- The client against the real sandbox over TLS on loopback: options, requests, errors, lifetime.
local studioapi = require "studioapi"
local sandbox = require "spec.support.sandbox"

local acme = sandbox.tenant("acme")

local function new_client(extra)
  local opts = { base_url = acme.base_url, api_key = acme.api_key, ca_file = acme.ca_file }
  for k, v in pairs(extra or {}) do opts[k] = v end
  return studioapi.new(opts)
end

local function raises(pattern, fn)
  local ok, msg = pcall(fn)
  assert.is_false(ok)
  assert.truthy(tostring(msg):find(pattern, 1, true), "unexpected error: " .. tostring(msg))
end

describe("studioapi", function()
  it("has a version", function()
    assert.truthy(studioapi._VERSION:match("^studioapi %d+%.%d+%.%d+$"))
  end)
end)

describe("studioapi.new()", function()
  it("raises on an unknown option, naming it", function()
    raises("unknown option 'api_kee'", function()
      studioapi.new { base_url = acme.base_url, api_kee = "x" }
    end)
    raises("unknown option 'max_attempt'", function()
      new_client { retry = { max_attempt = 3 } }
    end)
  end)

  it("raises on a wrong option type, naming option and type", function()
    raises("option 'timeout' must be a number, got string", function()
      new_client { timeout = "30" }
    end)
    raises("option 'retry' must be a table or false, got boolean", function()
      new_client { retry = true }
    end)
  end)

  it("raises when a required option is missing", function()
    raises("option 'api_key' is required", function()
      studioapi.new { base_url = acme.base_url }
    end)
    raises("expected an options table", function() studioapi.new() end)
  end)

  it("accepts retry = false and rate_limit = false", function()
    local client = assert(new_client { retry = false, rate_limit = false })
    client:close()
  end)

  it("refuses a non-https base URL for a non-loopback host", function()
    for _, url in ipairs { "http://acme.open-api.example.com/v1", "ftp://example.com/v1",
                           "acme.example.com/v1", "https://user:pw@example.com/v1",
                           "https://example.com/v1?x=1", "https:///v1", "https://exa mple.com" } do
      local client, err = studioapi.new { base_url = url, api_key = acme.api_key }
      assert.is_nil(client, url)
      assert.equal("invalid_argument", err.code, url)
      assert.is_nil(tostring(err):find(acme.api_key, 1, true))
    end
  end)

  it("accepts http:// for loopback hosts", function()
    local urls = { "http://127.0.0.1:1/v1", "http://localhost:1/v1", "http://[::1]:1/v1" }
    for _, url in ipairs(urls) do
      local client = assert(studioapi.new { base_url = url, api_key = "k" }, url)
      client:close()
    end
  end)

  it("rejects control characters in key, language and user agent", function()
    local cases = {
      { api_key = acme.api_key .. "\r\nX-Evil: 1" },
      { language = "de\r\nX: y" },
      { user_agent = "app\n" },
    }
    for _, opts in ipairs(cases) do
      opts.base_url = opts.base_url or acme.base_url
      opts.api_key = opts.api_key or acme.api_key
      local client, err = studioapi.new(opts)
      assert.is_nil(client)
      assert.equal("invalid_argument", err.code)
      assert.is_nil(tostring(err):find(acme.api_key, 1, true))
    end
  end)

  it("normalises the language", function()
    local client = assert(new_client { language = "de-lu" })
    assert.equal("de", client.language)
    client:close()
  end)

  it("never shows the key in tostring(client)", function()
    local client = assert(new_client())
    local s = tostring(client)
    assert.is_nil(s:find(acme.api_key, 1, true))
    assert.truthy(s:find(acme.api_key:sub(1, 4) .. "…", 1, true))
    client:close()
    assert.equal("studioapi.Client (closed)", tostring(client))
  end)
end)

describe("client:ping()", function()
  it("returns true for a valid key", function()
    local client = assert(new_client())
    assert.is_true(client:ping())
    client:close()
  end)

  it("returns an unauthorized error for a wrong key", function()
    local client = assert(studioapi.new { base_url = acme.base_url, api_key = "wrong-key-123",
                                          ca_file = acme.ca_file })
    local ok, err = client:ping()
    assert.is_nil(ok)
    assert.equal("unauthorized", err.code)
    assert.equal(401, err.status)
    assert.equal("HEAD", err.method)
    client:close()
  end)

  it("rejects another tenant's key on this tenant's host", function()
    local zenith = sandbox.tenant("zenith")
    local client = assert(studioapi.new { base_url = acme.base_url, api_key = zenith.api_key,
                                          ca_file = acme.ca_file })
    local ok, err = client:ping()
    assert.is_nil(ok)
    assert.equal(401, err.status)
    client:close()
  end)
end)

describe("client:get()", function()
  local client
  before_each(function() client = assert(new_client()) end)
  after_each(function() client:close() end)

  it("decodes the studio's information", function()
    local studio = assert(client:get("/studios/information"))
    assert.equal("number", type(studio.studioId))
    assert.equal("string", type(studio.name))
  end)

  it("fetches a customer shaped like the API's JSON", function()
    local page = assert(client:get("/customers", { sliceSize = 50 }))
    assert.equal(50, #page.result)
    assert.is_boolean(page.hasNext)
    assert.equal("string", type(page.offset))
    local id = page.result[1].id
    local customer = assert(client:get("/customers/" .. id))
    assert.equal(id, customer.id)
    assert.equal("string", type(customer.firstName))
    assert.truthy(({ MEMBER = true, PROSPECT = true, FORMER_MEMBER = true })[customer.status])
  end)

  it("drops JSON nulls and keeps arrays as arrays when encoded again", function()
    local page = assert(client:get("/customers", { sliceSize = 100 }))
    local with_empty
    for _, c in ipairs(page.result) do
      assert.are_not.equal(studioapi.json.null, c.thirdPartyId)
      if c.cardNumbers and #c.cardNumbers == 0 then with_empty = c end
    end
    assert.truthy(with_empty, "the sandbox serves customers with empty arrays")
    local again = studioapi.json.encode(with_empty)
    assert.truthy(again:find('"cardNumbers":[]', 1, true))
    assert.same(with_empty, studioapi.json.decode(again))
  end)

  it("returns the API's error for an unknown customer", function()
    local customer, err = client:get("/customers/1")
    assert.is_nil(customer)
    assert.is_true(studioapi.is_error(err))
    assert.equal(404, err.status)
    assert.equal("not_found", err.kind)
    assert.equal("string", type(err.code))
    assert.equal("string", type(err.message))
    assert.equal("string", type(err.trace_id))
    assert.equal("GET", err.method)
    assert.equal("/customers/1", err.path)
    assert.equal("received", err.outcome)
    assert.is_false(err.retryable)
    assert.equal(("studioapi: 404 %s GET /customers/1: %s"):format(err.code, err.message),
                 tostring(err))
  end)

  it("returns a validation error naming the offending parameter", function()
    local page, err = client:get("/customers", { sliceSize = 501 })
    assert.is_nil(page)
    assert.equal(400, err.status)
    assert.equal("validation", err.kind)
    assert.equal("sliceSize", err.reference)
  end)

  it("returns unauthorized for a wrong key", function()
    local bad = assert(studioapi.new { base_url = acme.base_url, api_key = "nope-nope",
                                       ca_file = acme.ca_file })
    local res, err = bad:get("/studios/information")
    assert.is_nil(res)
    assert.equal(401, err.status)
    assert.equal("unauthorized", err.kind)
    assert.is_false(err.retryable)
    bad:close()
  end)

  it("returns a decode error for a body that is not JSON", function()
    for _, path in ipairs { "/_test/not-json", "/_test/html" } do
      local res, err = client:get(path)
      assert.is_nil(res, path)
      assert.equal("decode", err.code, path)
      assert.equal(200, err.status)
      assert.equal("string", type(err.body))
    end
  end)

  it("returns true for an empty 200 body", function()
    assert.is_true(client:get("/_test/empty"))
  end)

  it("maps each error status to its generic kind", function()
    -- one attempt each, and no lockout after the 429 (it would hold the 503 on this endpoint)
    local once = assert(new_client { retry = false, rate_limit = { lockout = 0 } })
    local kinds = { [403] = "forbidden", [409] = "conflict", [429] = "rate_limited",
                    [500] = "server_error", [503] = "unavailable" }
    for status, kind in pairs(kinds) do
      local res, err = once:get("/_test/status/" .. status)
      assert.is_nil(res)
      assert.equal(status, err.status)
      assert.equal(kind, err.kind)
    end
    once:close()
  end)
end)

describe("languages", function()
  it("sends the client's language and gets the error text in it", function()
    local en = assert(new_client { language = "en" })
    local de = assert(new_client { language = "de-CH" })
    local fr = assert(new_client { language = "fr" })
    local _, e_en = en:get("/customers/1")
    local _, e_de = de:get("/customers/1")
    local _, e_fr = fr:get("/customers/1")
    assert.are_not.equal(e_en.message, e_de.message)
    assert.are_not.equal(e_en.message, e_fr.message)
    assert.are_not.equal(e_de.message, e_fr.message)
    assert.equal(e_en.code, e_de.code)
    en:close(); de:close(); fr:close()
  end)

  it("lets one request choose another language", function()
    local client = assert(new_client { language = "en" })
    local res = assert(client:request { path = "/_test/echo", language = "fr-LU" })
    assert.equal("fr-LU", res.json.headers["accept-language"])
    local _, err = client:request { path = "/_test/echo", language = "x\r\ny" }
    assert.equal("invalid_argument", err.code)
    client:close()
  end)
end)

describe("client:request()", function()
  local client
  before_each(function() client = assert(new_client { user_agent = "acme-sync/2.1" }) end)
  after_each(function() client:close() end)

  it("sends the key, user agent and JSON body, and returns status, headers and body", function()
    local res = assert(client:request { method = "POST", path = "/_test/echo",
                                        json = { customerId = 42, tags = studioapi.json.array() },
                                        query = { b = 2, a = "x y" } })
    assert.equal(200, res.status)
    assert.truthy(res.headers["content-type"]:find("application/json", 1, true))
    local echo = res.json
    assert.equal("POST", echo.method)
    assert.equal("application/json", echo.headers["content-type"])
    assert.same({ customerId = 42, tags = {} }, studioapi.json.decode(echo.body))
    assert.truthy(echo.body:find('"tags":[]', 1, true))
    assert.truthy(echo.uri:find("?a=x%20y&b=2", 1, true))
    local ua = echo.headers["user-agent"]
    assert.truthy(ua:match("^studioapi/%d+%.%d+%.%d+ libcurl/[%d.]+ acme%-sync/2%.1$"), ua)
    assert.equal(acme.api_key:sub(1, 4) .. "…", echo.headers["x-api-key"])
  end)

  it("repeats a key for an array query value", function()
    local res = assert(client:request { path = "/_test/echo", query = { status = { "A", "B" } } })
    assert.truthy(res.json.uri:find("status=A&status=B", 1, true))
  end)

  it("sends integral numbers without a fraction", function()
    local res = assert(client:request { path = "/_test/echo", query = { offset = 1e6 } })
    assert.truthy(res.json.uri:find("offset=1000000", 1, true))
  end)

  it("refuses header values with control characters before sending", function()
    local res, err = client:request { path = "/_test/echo", headers = { ["X-Note"] = "a\r\nb: c" } }
    assert.is_nil(res)
    assert.equal("invalid_argument", err.code)
    res, err = client:request { path = "/_test/echo", headers = { ["Bad Name"] = "x" } }
    assert.is_nil(res)
    assert.equal("invalid_argument", err.code)
  end)

  it("raises on programming mistakes", function()
    raises("unknown option 'bdy'", function() client:request { path = "/x", bdy = "" } end)
    raises("path must be a string starting with '/'", function()
      client:request { path = "customers" }
    end)
    raises("unknown method 'FETCH'", function() client:request { method = "FETCH", path = "/" } end)
  end)

  it("does not follow a redirect to another host", function()
    local zenith = sandbox.tenant("zenith")
    local res, err = client:request { path = "/_test/redirect",
                                      query = { to = zenith.base_url .. "/_test/echo" } }
    assert.is_nil(res)
    assert.equal(302, err.status)
    assert.equal("network", err.code)
  end)
end)

describe("transport failures", function()
  it("reports a timeout", function()
    local client = assert(new_client { timeout = 0.5, retry = false })
    local res, err = client:get("/_test/slow", { seconds = 3 })
    assert.is_nil(res)
    assert.equal("timeout", err.code)
    assert.is_nil(err.status)
    assert.is_true(err.retryable)
    client:close()
  end)

  it("reports a connection the server closed without answering", function()
    local client = assert(new_client { retry = false })
    local res, err = client:get("/_test/close")
    assert.is_nil(res)
    assert.equal("network", err.code)
    assert.equal("unknown", err.outcome)
    -- the client is still usable afterwards
    assert.is_true(client:ping())
    client:close()
  end)

  it("reports a refused connection as not sent", function()
    local client = assert(studioapi.new { base_url = "http://127.0.0.1:1/v1", api_key = "k",
                                          retry = false })
    local res, err = client:post("/customers", { a = 1 })
    assert.is_nil(res)
    assert.equal("network", err.code)
    assert.equal("not_sent", err.outcome)
    client:close()
  end)

  it("never turns TLS verification off: an unknown CA is a tls error", function()
    local client = assert(studioapi.new { base_url = acme.base_url, api_key = acme.api_key })
    local res, err = client:get("/studios/information")
    assert.is_nil(res)
    assert.equal("tls", err.code)
    assert.equal("not_sent", err.outcome)
    client:close()
  end)
end)

describe("the key", function()
  it("never appears in events or errors", function()
    local seen = {}
    local client = assert(new_client {
      on_event = function(ev)
        for k, v in pairs(ev) do seen[#seen + 1] = tostring(k) .. "=" .. tostring(v) end
      end,
    })
    assert(client:get("/studios/information"))
    local _, err = client:get("/customers/1")
    client:close()
    assert.truthy(#seen > 0)
    local all = table.concat(seen, " ")
    for k, v in pairs(err) do all = all .. " " .. tostring(k) .. "=" .. tostring(v) end
    assert.is_nil(all:find(acme.api_key, 1, true))
    assert.truthy(all:find("type=request", 1, true))
    assert.truthy(all:find("type=response", 1, true))
  end)
end)

describe("client lifetime", function()
  it("closes twice without complaint", function()
    local client = assert(new_client())
    client:close()
    client:close()
  end)

  it("raises when used after close", function()
    local client = assert(new_client())
    client:close()
    raises("attempt to use a closed studioapi.Client", function() client:ping() end)
  end)

  it("is collected when no longer referenced", function()
    local weak = setmetatable({}, { __mode = "v" })
    do
      local client = assert(new_client())
      assert.is_true(client:ping())
      weak[1] = client
      weak[2] = client._handle
    end
    collectgarbage()
    collectgarbage()
    assert.is_nil(weak[1])
    assert.is_nil(weak[2])
  end)
end)
