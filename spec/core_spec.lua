-- studioapi.core, the C transport, on its own: options, lifetime, and real HTTPS exchanges with the
-- sandbox on loopback (docs/internals.md, "studioapi.core (C) as seen from Lua").
local core = require "studioapi.core"
local cjson = require "cjson"
local sandbox = require "spec.support.sandbox"

local acme = sandbox.tenant("acme")
local KEY = acme.api_key
local IS_54 = _VERSION == "Lua 5.4" and not rawget(_G, "jit")

local function opts(extra)
  local o = { base_url = acme.base_url, api_key = KEY, ca_file = acme.ca_file,
              user_agent = "studioapi-spec/1", timeout = 10, connect_timeout = 5 }
  for k, v in pairs(extra or {}) do o[k] = v end
  return o
end

-- Raises, with a message holding `text` (plain) and never the key.
local function raises(text, fn, ...)
  local ok, msg = pcall(fn, ...)
  assert.is_false(ok, "expected an error holding: " .. text)
  msg = tostring(msg)
  assert.truthy(msg:find(text, 1, true), "unexpected error: " .. msg)
  assert.is_nil(msg:find(KEY, 1, true), "the key leaked into: " .. msg)
  return msg
end

-- The sandbox's echo route answers with what it received: method, uri, headers (a repeated one as
-- an array; the key cut to its first 4 characters), body.
local function echo(h, method, headers, body, target)
  local status, hdrs, rbody = h:perform(method, target or "/_test/echo", headers, body)
  assert.equal(200, status, tostring(hdrs) .. " " .. tostring(rbody))
  return cjson.decode(rbody), hdrs
end

describe("studioapi.core", function()
  it("tells the libcurl version", function()
    assert.truthy(core.curl_version:match("^%d+%.%d+%.%d+"))
  end)

  it("has a monotonic clock in fractional seconds", function()
    local a = core.now()
    local b = core.now()
    assert.is_number(a)
    assert.truthy(b >= a)
  end)

  it("sleeps for the given seconds", function()
    local t = core.now()
    core.sleep(0.05)
    assert.truthy(core.now() - t >= 0.05)
    core.sleep(0)
  end)

  it("refuses a negative or non-numeric sleep", function()
    raises("seconds must be >= 0", core.sleep, -1)
    raises("number expected", core.sleep, "soon")
  end)
end)

describe("core.new()", function()
  it("needs an options table", function()
    raises("table expected", core.new)
    raises("table expected", core.new, "https://x")
  end)

  it("needs base_url and api_key", function()
    raises("option 'base_url' must be a string, got nil", core.new, { api_key = KEY })
    raises("option 'api_key' must be a string, got nil", core.new, { base_url = acme.base_url })
    raises("option 'api_key' must not be empty", core.new, opts { api_key = "" })
  end)

  it("names the option and the type it got", function()
    raises("option 'timeout' must be a number, got string", core.new, opts { timeout = "30" })
    raises("option 'connect_timeout' must be a number, got boolean", core.new,
           opts { connect_timeout = true })
    raises("option 'language' must be a string, got number", core.new, opts { language = 1 })
    raises("option 'user_agent' must be a string, got table", core.new, opts { user_agent = {} })
    raises("option 'ca_file' must be a string, got boolean", core.new, opts { ca_file = false })
    raises("option 'api_key' must be a string, got number", core.new, opts { api_key = 42 })
  end)

  it("refuses unknown options, naming them", function()
    raises("unknown option 'retries'", core.new, opts { retries = {} })
    raises("option names must be strings", core.new, opts { [1] = "x" })
  end)

  it("refuses timeouts that are not positive", function()
    raises("option 'timeout' must be a number of seconds > 0", core.new, opts { timeout = 0 })
    raises("option 'connect_timeout' must be a number of seconds > 0", core.new,
           opts { connect_timeout = -1 })
    raises("option 'timeout' must be a number of seconds > 0", core.new, opts { timeout = 0 / 0 })
  end)

  it("refuses http:// to a host that is not loopback", function()
    for _, url in ipairs { "http://acme.example.com/v1", "http://10.0.0.1/v1",
                           "http://localhost.example.com/v1", "http://[::2]/v1",
                           "http://128.0.0.1/v1" } do
      raises("http:// is allowed only for localhost, 127.0.0.0/8, ::1", core.new,
             opts { base_url = url })
    end
  end)

  it("accepts http:// to a loopback host", function()
    for _, url in ipairs { "http://localhost:8080/v1", "http://127.0.0.1/v1",
                           "http://127.1.2.3:9/v1", "http://[::1]:8080/v1", "HTTP://LOCALHOST" } do
      core.new(opts { base_url = url }):close()
    end
  end)

  it("refuses other schemes and ambiguous URLs", function()
    raises("option 'base_url' must start with https://", core.new,
           opts { base_url = "ftp://example.com/v1" })
    raises("must start with https://", core.new, opts { base_url = "example.com/v1" })
    raises("must not hold credentials", core.new,
           opts { base_url = "https://user:pw@example.com/v1" })
    raises("must not hold credentials", core.new, opts { base_url = "https://user@example.com/" })
    raises("credentials or unexpected characters", core.new,
           opts { base_url = "https://exa%6dple.com/v1" })
    raises("must not hold a query", core.new, opts { base_url = "https://example.com/v1?a=1" })
    raises("must not hold a query", core.new, opts { base_url = "https://example.com\\@evil/" })
    raises("has no host", core.new, opts { base_url = "https:///v1" })
    raises("has a bad port", core.new, opts { base_url = "https://example.com:/v1" })
    raises("has a bad port", core.new, opts { base_url = "https://example.com:123456/v1" })
    raises("must not hold control characters", core.new,
           opts { base_url = "https://example.com/v1\r\nX: y" })
  end)

  it("refuses control characters in the key, the language and the user agent", function()
    for _, bad in ipairs { "\r\nX-Evil: 1", "\n", "\0", "\127", "\t" } do
      local msg = raises("option 'api_key' must not hold control characters", core.new,
                         opts { api_key = KEY .. bad })
      assert.is_nil(msg:find(KEY:sub(1, 8), 1, true))
      raises("option 'language' must not hold control characters", core.new,
             opts { language = "de" .. bad })
      raises("option 'user_agent' must not hold control characters", core.new,
             opts { user_agent = "agent" .. bad })
    end
  end)
end)

describe("tostring(client)", function()
  it("shows the base URL and at most the key's first 4 characters", function()
    local h = core.new(opts())
    assert.equal("studioapi.Client (" .. acme.base_url .. ", key " .. KEY:sub(1, 4) .. "…)",
                 tostring(h))
    h:close()
  end)

  it("shows nothing of a short key", function()
    local h = core.new(opts { api_key = "short" })
    assert.equal("studioapi.Client (" .. acme.base_url .. ", key …)", tostring(h))
    h:close()
  end)

  it("drops a trailing slash of the base URL", function()
    local h = core.new(opts { base_url = acme.base_url .. "/" })
    assert.truthy(tostring(h):find("(" .. acme.base_url .. ",", 1, true))
    h:close()
  end)

  it("says when the client is closed", function()
    local h = core.new(opts())
    h:close()
    assert.equal("studioapi.Client (closed)", tostring(h))
  end)
end)

describe("client:close()", function()
  it("can be called twice", function()
    local h = core.new(opts())
    h:close()
    h:close()
  end)

  it("makes every method raise afterwards", function()
    local h = core.new(opts())
    h:close()
    local msg = raises("attempt to use a closed studioapi.Client", h.perform, h, "GET", "/")
    assert.equal("attempt to use a closed studioapi.Client", msg)
  end)

  it("is the client's __close", function()
    if not IS_54 then return end   -- to-be-closed variables are Lua 5.4 syntax
    local chunk = assert(load [[
      local core, o = ...
      local h
      do
        local c <close> = core.new(o)
        h = c
      end
      return h
    ]])
    assert.equal("studioapi.Client (closed)", tostring(chunk(core, opts())))
  end)

  it("lets the garbage collector free open, used and closed clients", function()
    local weak = setmetatable({}, { __mode = "v" })
    weak[1] = core.new(opts())
    weak[2] = core.new(opts())
    weak[2]:perform("GET", "/_test/echo")
    weak[3] = core.new(opts())
    weak[3]:close()
    collectgarbage()
    collectgarbage()
    assert.is_nil(next(weak))
  end)
end)

describe("client:perform()", function()
  local h
  before_each(function() h = core.new(opts { language = "de-CH" }) end)
  after_each(function() h:close() end)

  describe("checks its arguments", function()
    it("knows the methods", function()
      raises("invalid option 'TRACE'", h.perform, h, "TRACE", "/_test/echo")
      raises("invalid option 'get'", h.perform, h, "get", "/_test/echo")
    end)

    it("wants a target starting with a slash, without spaces", function()
      raises("target must start with \"/\"", h.perform, h, "GET", "_test/echo")
      raises("target must start with \"/\"", h.perform, h, "GET", "")
      raises("target must not hold spaces or control characters", h.perform, h, "GET", "/a b")
      raises("target must not hold spaces or control characters", h.perform, h, "GET", "/a\r\n")
    end)

    it("wants headers as \"Name: value\" lines without control characters", function()
      raises("header 1 must be \"Name: value\"", h.perform, h, "GET", "/", { "NoColon" })
      raises("header 2 must be \"Name: value\"", h.perform, h, "GET", "/", { "A: 1", ": x" })
      raises("header 1 must be \"Name: value\"", h.perform, h, "GET", "/", { "Bad Name: x" })
      raises("header 1 holds a control character", h.perform, h, "GET", "/",
             { "X-A: 1\r\nX-Injected: 1" })
      raises("header 1 holds a control character", h.perform, h, "GET", "/", { "X-A: 1\0" })
      raises("header 1 must be a string, got number", h.perform, h, "GET", "/", { 1 })
      raises("table expected", h.perform, h, "GET", "/", "X-A: 1")
    end)

    it("refuses a body for GET and HEAD", function()
      raises("a GET request takes no body", h.perform, h, "GET", "/", nil, "x")
      raises("a HEAD request takes no body", h.perform, h, "HEAD", "/", nil, "x")
    end)
  end)

  it("sends the prepared headers with every request", function()
    local e = echo(h, "GET")
    assert.equal("GET", e.method)
    assert.equal(KEY:sub(1, 4) .. "…", e.headers["x-api-key"])
    assert.equal("de-CH", e.headers["accept-language"])
    assert.equal("application/json", e.headers["accept"])
    assert.equal("studioapi-spec/1", e.headers["user-agent"])
    assert.is_nil(e.headers["content-type"])
  end)

  it("returns status, headers with lower-case names, and the body", function()
    local status, headers, body = h:perform("GET", "/_test/echo")
    assert.equal(200, status)
    assert.equal(math.type and "integer" or "number", math.type and math.type(status) or "number")
    assert.is_table(headers)
    assert.truthy(headers["content-type"]:find("application/json", 1, true))
    for name in pairs(headers) do assert.equal(name:lower(), name) end
    assert.equal(tonumber(headers["content-length"]) or #body, #body)
  end)

  it("answers HEAD with an empty body", function()
    local status, headers, body = h:perform("HEAD", "/_test/echo")
    assert.equal(200, status)
    assert.is_table(headers)
    assert.equal("", body)
  end)

  it("sends bodies as they are, for POST, PUT, PATCH and DELETE", function()
    local body = '{"a":"b\0c","n":' .. ("1"):rep(5000) .. "}"   -- binary-safe, not tiny
    for _, m in ipairs { "POST", "PUT", "PATCH", "DELETE" } do
      local e = echo(h, m, { "Content-Type: application/json" }, body)
      assert.equal(m, e.method)
      assert.equal(body, e.body)
      assert.equal("application/json", e.headers["content-type"])
      assert.equal(tostring(#body), e.headers["content-length"])
      assert.is_nil(e.headers["expect"])
    end
  end)

  it("does not label a body without a Content-Type as a form", function()
    local e = echo(h, "POST", nil, "x=1")
    assert.equal("x=1", e.body)
    assert.is_nil(e.headers["content-type"])
  end)

  it("sends POST, PUT and PATCH without a body as empty, DELETE without one", function()
    for _, m in ipairs { "POST", "PUT", "PATCH" } do
      local e = echo(h, m)
      assert.equal(m, e.method)
      assert.equal("", e.body)
      assert.equal("0", e.headers["content-length"])
    end
    local e = echo(h, "DELETE")
    assert.equal("DELETE", e.method)
    assert.is_nil(e.headers["content-length"])
  end)

  it("leaks nothing of a request into the next one on the same handle", function()
    echo(h, "PUT", { "X-Once: 1", "Content-Type: text/plain" }, "first body")
    local e = echo(h, "DELETE")
    assert.equal("", e.body or "")
    assert.is_nil(e.headers["x-once"])
    assert.is_nil(e.headers["content-length"])
    e = echo(h, "GET")
    assert.equal("GET", e.method)
    assert.is_nil(e.headers["content-type"])
    assert.equal(200, (h:perform("HEAD", "/_test/echo")))
    e = echo(h, "GET")                    -- after HEAD: a body again
    assert.equal("GET", e.method)
  end)

  it("adds extra headers, which replace prepared ones of the same name", function()
    local e = echo(h, "GET", { "X-Trace: abc", "accept-language: fr" })
    assert.equal("abc", e.headers["x-trace"])
    assert.equal("fr", e.headers["accept-language"])
    assert.equal(KEY:sub(1, 4) .. "…", e.headers["x-api-key"])
    e = echo(h, "GET", {})                 -- an empty list: the prepared headers alone
    assert.equal("de-CH", e.headers["accept-language"])
    assert.is_nil(e.headers["x-trace"])
  end)

  it("keeps working over many requests on one handle", function()
    for i = 1, 50 do
      local e = echo(h, "GET", nil, nil, "/_test/echo?i=" .. i)
      assert.equal("/v1/_test/echo?i=" .. i, e.uri)
    end
  end)

  it("returns a redirect as a response and does not follow it", function()
    local status, headers, body = h:perform("GET", "/_test/redirect?to=https://example.com/x")
    assert.equal(302, status)
    assert.equal("https://example.com/x", headers.location)
    assert.equal("", body)
  end)

  it("returns an empty body as an empty string", function()
    local status, _, body = h:perform("GET", "/_test/empty")
    assert.equal(200, status)
    assert.equal("", body)
  end)

  it("returns a body larger than the buffer it keeps, and smaller ones after it", function()
    local status, _, body = h:perform("GET", "/_test/big?kb=3072")
    assert.equal(200, status)
    assert.truthy(#body >= 3072 * 1024)
    assert.equal("x", body:sub(-1024, -1024))
    local e = echo(h, "GET")
    assert.equal("GET", e.method)
  end)

  it("reports a timeout as sent", function()
    local slow = core.new(opts { timeout = 0.3 })
    local ok, kind, msg, sent = slow:perform("GET", "/_test/slow?seconds=2")
    slow:close()
    assert.is_nil(ok)
    assert.equal("timeout", kind)
    assert.is_string(msg)
    assert.is_true(sent)
  end)

  it("reports a connection closed without an answer as a network failure, sent", function()
    local ok, kind, msg, sent = h:perform("GET", "/_test/close")
    assert.is_nil(ok)
    assert.equal("network", kind)
    assert.is_string(msg)
    assert.is_true(sent)
    assert.equal(200, (h:perform("GET", "/_test/echo")))   -- and the handle still works
  end)

  it("reports a refused connection as a network failure, not sent", function()
    local c = core.new(opts { base_url = "http://127.0.0.1:1/v1" })
    local ok, kind, msg, sent = c:perform("POST", "/x", nil, "{}")
    c:close()
    assert.is_nil(ok)
    assert.equal("network", kind)
    assert.is_string(msg)
    assert.is_nil(msg:find(KEY, 1, true))
    assert.is_false(sent)
  end)

  it("reports an untrusted certificate as a TLS failure, not sent", function()
    local o = opts()
    o.ca_file = nil                       -- the sandbox's CA is not a system CA
    local c = core.new(o)
    local ok, kind, msg, sent = c:perform("GET", "/_test/echo")
    c:close()
    assert.is_nil(ok)
    assert.equal("tls", kind)
    assert.is_nil(msg:find(KEY, 1, true))
    assert.is_false(sent)
  end)

  it("reports a CA file that cannot be read as a TLS failure, not sent", function()
    local c = core.new(opts { ca_file = "/nonexistent/ca.pem" })
    local ok, kind, msg, sent = c:perform("GET", "/_test/echo")
    c:close()
    assert.is_nil(ok)
    assert.equal("tls", kind)
    assert.is_string(msg)
    assert.is_false(sent)
  end)
end)
