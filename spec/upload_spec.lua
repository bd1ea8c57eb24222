-- Multipart uploads and downloads (lua/studioapi/upload.lua over src/multipart.c), against the
-- sandbox: what arrives is checked by the sandbox itself (its parser's sizes and SHA-256 in
-- POST /v1/_test/multipart-echo and in x-sandbox-parts, the files it stores and serves back),
-- what was sent at all by its request log; never guessed from the client's side alone.
local studioapi = require "studioapi"
local core = require "studioapi.core"
local json = require "studioapi.json"
local sandbox = require "spec.support.sandbox"

local acme = sandbox.tenant("acme")
local CUSTOMER = 1008
local DOCUMENTS = "POST /customers/{id}/documents"
local IMAGES = "PUT /customers/{id}/images"
local LUA = jit and "luajit" or "lua5.4" -- luacheck: ignore 113 (jit: LuaJIT's global)

local function new_client(extra)
  return assert(studioapi.new(sandbox.client_options("acme", extra)))
end

--------------------------------------------------------------------------------------------------
-- Files

local tmpdir

local function quote(s)
  return "'" .. tostring(s):gsub("'", [['\'']]) .. "'"
end

local function write_file(name, bytes)
  local path = tmpdir .. "/" .. name
  local f = assert(io.open(path, "wb"))
  assert(f:write(bytes))
  f:close()
  return path
end

local function read_file(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  return s
end

local function random_bytes(n)
  local f = assert(io.open("/dev/urandom", "rb"))
  local s = f:read(n)
  f:close()
  return s
end

local function sha256_file(path)
  local p = assert(io.popen("sha256sum " .. quote(path)))
  local out = p:read("*a")
  p:close()
  return out:match("^(%x+)")
end

local function sha256(bytes)
  return sha256_file(write_file("sha-input", bytes))
end

-- The smallest files of their kind: magic numbers are what the client checks.
local PNG = "\137PNG\r\n\26\n\0\0\0\rIHDR\0\0\0\1\0\0\0\1\8\6\0\0\0\31\21\196\137"
  .. "\0\0\0\rIDATx\218c\248\15\0\1\5\1\2\207\160.\205\0\0\0\0IEND\174B`\130"
local JPEG = "\255\216\255\224\0\16JFIF\0\1\1\1\0H\0H\0\0\255\217"
local PDF = "%PDF-1.4\n% studioapi spec\n%%EOF\n"

--------------------------------------------------------------------------------------------------
-- The sandbox's view

-- acme's requests to `endpoint` (all when nil), oldest first.
local function logged(endpoint)
  local out = {}
  for _, r in ipairs(sandbox.log { tenant = "acme" }) do
    if endpoint == nil or r.endpoint == endpoint then out[#out + 1] = r end
  end
  table.sort(out, function(a, b) return a.seq < b.seq end)
  return out
end

-- How many documents the customer has (generated + uploaded).
local function document_count(client)
  local n = 0
  for _ in client.customers:documents(CUSTOMER, { sliceSize = 50 }):items() do n = n + 1 end
  return n
end

-- The bytes a stored document serves back through its signed URL.
local function stored_document(client, id)
  local doc = assert(client.customers:document(CUSTOMER, id))
  return assert(client:download(doc, "url"))
end

describe("uploads", function()
  local client

  setup(function()
    tmpdir = os.tmpname()
    os.remove(tmpdir)
    assert(os.execute("mkdir -p " .. quote(tmpdir)))
    client = new_client()
  end)
  teardown(function()
    client:close()
    os.execute("rm -rf " .. quote(tmpdir))
  end)
  before_each(function() sandbox.reset() end)
  after_each(function() sandbox.reset() end)

  describe("client:upload", function()
    it("sends a 5 MiB random file and a JSON part byte for byte", function()
      local bytes = random_bytes(5 * 1024 * 1024)
      local path = write_file("random.bin", bytes)
      local data = { startDate = "2025-07-01", reasonId = 3, note = "Grüße" }
      local res = assert(client:upload("/_test/multipart-echo",
        { data = data, document = { path = path } }))
      local parts = res.parts
      assert.equal(2, #parts)
      assert.equal("data", parts[1].name)
      assert.equal("application/json", parts[1].content_type)
      assert.is_nil(parts[1].filename)
      assert.same(data, parts[1].json)
      assert.equal(sha256(json.encode(data)), parts[1].sha256)
      assert.equal("document", parts[2].name)
      assert.equal("random.bin", parts[2].filename)
      assert.equal("application/octet-stream", parts[2].content_type)
      assert.equal(#bytes, parts[2].size)
      assert.equal(sha256_file(path), parts[2].sha256)
    end)

    it("and the same through an operation: the stored file is the file sent", function()
      local bytes = random_bytes(5 * 1024 * 1024)
      local path = write_file("note.pdf", PDF .. bytes)
      local period = assert(client.contracts:add_idle_period(1, { parts = {
        data = { startDate = "2025-07-01", temporalUnit = "WEEK", termValue = 2, reasonId = 1 },
        document = { path = path },
      } }))
      assert.equal("IdlePeriod", period:schema())
      assert.equal("2025-07-01", period.startDate)
      assert.equal("2025-07-14", period.endDate)
      assert.is_true(assert(client:download(period, "documentUrl")) == PDF .. bytes)
    end)

    it("keeps the order of the array form; the map form sends JSON parts first, then by name",
      function()
      local res = assert(client:upload("/_test/multipart-echo", {
        { name = "z", content = "last?" }, { name = "data", json = { n = 1 } },
        { name = "a", content = "first?" },
      }))
      assert.same({ "z", "data", "a" }, { res.parts[1].name, res.parts[2].name, res.parts[3].name })
      res = assert(client:upload("/_test/multipart-echo", {
        z = { content = "1" }, a = { content = "2" }, meta = { json = { n = 2 } }, data = { n = 1 },
      }))
      local names = {}
      for i, p in ipairs(res.parts) do names[i] = p.name end
      assert.same({ "data", "meta", "a", "z" }, names)
    end)

    it("names files and their types: given, from the path, from the magic number", function()
      local res = assert(client:upload("/_test/multipart-echo", {
        { name = "pdf", path = write_file("scan.PDF", PDF) },
        { name = "png", content = PNG },
        { name = "raw", content = "abc" },
        { name = "own", content = "abc", filename = "a.txt", content_type = "text/csv" },
        { name = "field", content = "plain", filename = false, content_type = "text/plain" },
      }))
      local p = res.parts
      assert.same({ "scan.PDF", "application/pdf" }, { p[1].filename, p[1].content_type })
      assert.same({ "png.png", "image/png" }, { p[2].filename, p[2].content_type })
      assert.same({ "raw", "application/octet-stream" }, { p[3].filename, p[3].content_type })
      assert.same({ "a.txt", "text/csv" }, { p[4].filename, p[4].content_type })
      assert.is_nil(p[5].filename)
      assert.equal("plain", p[5].value)
    end)

    it("takes method, query and on_progress options and refuses unknown ones", function()
      local res = assert(client:upload("/_test/echo", { f = { content = "x" } },
        { method = "PUT", query = { a = "b c" } }))
      assert.equal("PUT", res.method)
      assert.equal("/v1/_test/echo?a=b%20c", res.uri)
      assert.matches("^multipart/form%-data; boundary=", res.headers["content-type"])
      assert.has_error(function() client:upload("/x", {}, { methd = "PUT" }) end,
        "client:upload: unknown option 'methd'")
      assert.has_error(function() client:upload("/x", {}, { method = "GET" }) end,
        "client:upload: method must be POST, PUT or PATCH, not GET")
      assert.has_error(function() client:request { path = "/x", multipart = {}, json = {} } end,
        "client:request: give one of multipart, json or body")
    end)

    it("streams a file part from disk: a 50 MiB upload costs a process far less memory",
      function()
      local big = tmpdir .. "/big.bin"
      assert(os.execute("head -c 52428800 /dev/urandom > " .. quote(big)))
      local script = write_file("rss.lua", [[
        local studioapi = require "studioapi"
        local sandbox = require "spec.support.sandbox"
        local function status(field)
          local f = assert(io.open("/proc/self/status"))
          local s = f:read("*a")
          f:close()
          return tonumber(s:match(field .. ":%s*(%d+)"))
        end
        local client = assert(studioapi.new(sandbox.client_options("acme")))
        assert(client.studios:information()) -- TLS, the modules and the tables are loaded now
        collectgarbage()
        collectgarbage()
        local reset = io.open("/proc/self/clear_refs", "w") -- the peak starts again from here
        if reset then reset:write("5") reset:close() end
        local before = status("VmRSS")
        local ok, err = client.customers:upload_document(1008,
          { parts = { file = { path = arg[1] } } })
        assert(ok, tostring(err))
        print(before, status("VmHWM"))
      ]])
      -- Under `make asan` the child runs with ASan too: its quarantine keeps freed memory
      -- resident (256 MiB by default), which would be counted as the upload's.
      local asan = (os.getenv("ASAN_OPTIONS") or "") .. ":quarantine_size_mb=1"
      local p = assert(io.popen(("ASAN_OPTIONS=%s LUA_PATH=%s LUA_CPATH=%s %s %s %s 2>&1"):format(
        quote(asan), quote(package.path), quote(package.cpath), LUA, quote(script), quote(big))))
      local out = p:read("*a")
      p:close()
      local before, peak = out:match("^(%d+)%s+(%d+)")
      assert(before, out)
      local growth = tonumber(peak) - tonumber(before) -- KiB
      assert.is_true(growth < 5 * 1024, ("peak RSS grew by %d KiB for 50 MiB"):format(growth))
      -- and it did arrive, whole
      local last = logged(DOCUMENTS)
      assert.equal(1, #last)
      assert.equal(200, last[1].status)
      assert.truthy(last[1].bytes > 50 * 1024 * 1024)
    end)
  end)

  describe("client:call with parts", function()
    it("uploads a document (part file, description in the query)", function()
      local n = document_count(client)
      local bytes = PDF .. random_bytes(100000)
      local res = assert(client:call("uploadDocument", { customerId = CUSTOMER,
        description = "ID card", parts = { file = { path = write_file("id.pdf", bytes) } } }))
      assert.equal("CustomerDocumentUploadResult", res:schema())
      assert.equal(n + 1, document_count(client))
      local doc = assert(client.customers:document(CUSTOMER, res.id))
      assert.equal("id.pdf", doc.fileName)
      assert.equal("ID card", doc.description)
      assert.equal(bytes, stored_document(client, res.id))
    end)

    it("sets a customer's image, JPEG or PNG", function()
      for _, image in ipairs { PNG, JPEG } do
        local res = assert(client.customers:set_image(CUSTOMER, { parts = { image = {
          content = image } } }))
        assert.equal("CustomerImage", res:schema())
        assert.equal(image, assert(client:download(res, "imageUrl")))
      end
      local log = logged(IMAGES)
      assert.equal(2, #log)
    end)
  end)

  describe("bad input", function()
    -- Each is invalid_argument naming the part, and nothing reaches the server.
    local function refused(reference, fn)
      local res, err = fn()
      assert.is_nil(res)
      assert.equal("invalid_argument", err.code, tostring(err))
      assert.equal(reference, err.reference, tostring(err))
      assert.equal("not_sent", err.outcome, tostring(err))
      return err
    end

    local function doc(parts)
      return function()
        return client:call("uploadDocument", { customerId = CUSTOMER, parts = parts })
      end
    end
    local function image(parts)
      return function() return client.customers:set_image(CUSTOMER, { parts = parts }) end
    end
    local function idle(parts)
      return function() return client.contracts:add_idle_period(1, { parts = parts }) end
    end

    it("is refused before a byte is sent", function()
      local dir = tmpdir .. "/a-directory"
      assert(os.execute("mkdir -p " .. quote(dir)))
      local fifo = tmpdir .. "/a-fifo"
      os.remove(fifo)
      assert(os.execute("mkfifo " .. quote(fifo)))
      local empty = write_file("empty.pdf", "")
      local gif = write_file("x.gif", "GIF89a\1\0\1\0")
      local data = { startDate = "2025-07-01", temporalUnit = "DAY", termValue = 1, reasonId = 1 }

      local err = refused("file", doc { file = { path = tmpdir .. "/missing.pdf" } })
      assert.matches("No such file", err.message)
      err = refused("file", doc { file = { path = dir } })
      assert.matches("not a regular file", err.message)
      refused("file", doc { file = { path = fifo } }) -- and no hang on the open
      err = refused("file", doc { file = { path = empty } })
      assert.matches("is empty", err.message)
      refused("file", doc { file = { content = "" } })
      refused("file", doc { file = "id.pdf" })
      refused("file", doc { file = 42 })
      refused("file", doc { file = { path = empty, content = "x" } })
      refused("file", doc { file = { path = 1 } })
      refused("file", doc { file = { path = empty, filname = "x" } })
      refused("file", doc { file = { content = "x", content_type = "text/\nplain" } })
      err = refused("file", doc {})
      assert.equal("uploadDocument: part 'file' is required", err.message)
      refused("file", function()
        return client:call("uploadDocument", { customerId = CUSTOMER })
      end)
      err = refused("document", doc { document = { content = PDF } })
      assert.equal("uploadDocument: 'document' is not a part of this operation (its parts: file)",
        err.message)
      refused("file", doc { file = { json = { a = 1 } } })
      refused("parts", doc { { name = "file", content = PDF }, "x" })
      refused("parts", doc { { name = "bad\"name", content = PDF } })
      refused("file", doc { { name = "file", content = PDF }, { name = "file", content = PDF } })

      err = refused("image", image { image = { path = gif } })
      assert.equal("updateImage: part 'image' must be a JPEG or PNG image", err.message)
      refused("image", image { image = { content = PDF } })
      refused("image", image { image = { content = PNG, content_type = "image/jpeg" } })
      refused("image", image {})

      refused("data", idle { document = { content = PDF } })
      refused("data", idle { data = { path = empty } })
      refused("data", idle { data = { f = function() end } })
      refused("document", idle { data = data, document = { json = data } })
      refused("parts", function()
        return client:call("getCustomerById", { customerId = CUSTOMER, parts = {} })
      end)
      refused("file", function()
        return client:upload("/customers/1008/documents", { file = { path = dir } })
      end)
      refused("file", function()
        return client:request { method = "POST", path = "/_test/echo",
                                multipart = { file = { content = "" } } }
      end)
      assert.same({}, logged())
    end)
  end)

  describe("retries", function()
    local function fast(extra)
      extra = extra or {}
      extra.retry = extra.retry or {}
      extra.retry.base_delay, extra.retry.max_delay = 0.01, 0.05
      return new_client(extra)
    end

    it("does not send a POST again after a 503 (it is no read): the 503 is the answer",
      function()
      sandbox.fault { endpoint = DOCUMENTS, kind = "status", status = 503, count = 1 }
      local c = fast()
      local n = document_count(c)
      local res, err = c.customers:upload_document(CUSTOMER, { parts = { file = {
        content = PDF } } })
      c:close()
      assert.is_nil(res)
      assert.equal(503, err.status)
      assert.equal("received", err.outcome)
      assert.equal(1, err.attempts)
      assert.equal(1, #logged(DOCUMENTS))
      assert.equal(n, document_count(client))
    end)

    it("sends it again from the start with retry_unsafe, and it arrives once, complete",
      function()
      sandbox.fault { endpoint = DOCUMENTS, kind = "status", status = 503, count = 1 }
      local c = fast { retry = { retry_unsafe = true } }
      local n = document_count(c)
      local bytes = PDF .. random_bytes(3 * 1024 * 1024)
      local res = assert(c.customers:upload_document(CUSTOMER, { parts = { file = {
        path = write_file("again.pdf", bytes) } } }))
      c:close()
      local log = logged(DOCUMENTS)
      assert.equal(2, #log)
      assert.same({ 503, 1 }, { log[1].status, log[1].attempt })
      assert.same({ 200, 2 }, { log[2].status, log[2].attempt })
      assert.equal(log[1].bytes, log[2].bytes)
      assert.equal(n + 1, document_count(client))
      assert.is_true(stored_document(client, res.id) == bytes)
    end)

    it("sends a PUT (an image) again after a 503 by default: it is idempotent", function()
      sandbox.fault { endpoint = IMAGES, kind = "status", status = 503, count = 1 }
      local c = fast()
      local res = assert(c.customers:set_image(CUSTOMER, { parts = { image = {
        path = write_file("me.png", PNG) } } }))
      c:close()
      local log = logged(IMAGES)
      assert.same({ 503, 200 }, { log[1].status, log[2].status })
      assert.equal(PNG, assert(client:download(res, "imageUrl")))
    end)

    it("never sends again an upload that may have reached the server: outcome unknown",
      function()
      sandbox.fault { endpoint = DOCUMENTS, kind = "close", count = 1 }
      local c = fast()
      local n = document_count(c)
      local res, err = c.customers:upload_document(CUSTOMER, { parts = { file = {
        path = write_file("maybe.pdf", PDF .. random_bytes(1024 * 1024)) } } })
      c:close()
      assert.is_nil(res)
      assert.equal("unknown", err.outcome)
      assert.equal(1, err.attempts)
      local log = logged(DOCUMENTS)
      assert.equal(1, #log)
      assert.equal(0, log[1].status)
      assert.equal(n, document_count(client))
    end)

    it("sends a refused one (429) again after the lockout, whole", function()
      sandbox.limits { limit = 1, window = 1, lockout = 1 }
      local c = fast()
      local bytes = PDF .. random_bytes(200000)
      local path = write_file("twice.pdf", bytes)
      assert(c.customers:upload_document(CUSTOMER, { parts = { file = { path = path } } }))
      local res = assert(c.customers:upload_document(CUSTOMER, { parts = { file = {
        path = path } } }))
      c:close()
      local log = logged(DOCUMENTS)
      assert.same({ 200, 429, 200 }, { log[1].status, log[2].status, log[3].status })
      assert.is_true(stored_document(client, res.id) == bytes)
    end)

    it("sends one that surely never reached the server again, from its first byte", function()
      -- A second sandbox on a port of our own: down for the first attempt (connection refused,
      -- so nothing was sent), started by the client's sleep hook before the second.
      local dir = tmpdir .. "/second-sandbox"
      local ctl = "SANDBOX_DIR=" .. quote(dir) .. " sandbox/sandboxctl"
      assert(os.execute(ctl .. " start >/dev/null"))
      local port = assert(tonumber(read_file(dir .. "/port")))
      assert(os.execute(ctl .. " stop >/dev/null")) -- its CA stays
      local started = false
      local events = {}
      local c = new_client {
        base_url = ("https://acme.localhost:%d/v1"):format(port), ca_file = dir .. "/ca.pem",
        retry = { base_delay = 0.01, max_attempts = 3 },
        sleep = function()
          if not started then
            started = assert(os.execute(("SANDBOX_PORT=%d %s start >/dev/null"):format(port,
              ctl)))
          end
        end,
        on_event = function(ev) events[#events + 1] = ev end,
      }
      local bytes = PDF .. random_bytes(2 * 1024 * 1024)
      local ok, res, err = pcall(c.request, c, { method = "POST",
        path = "/customers/1008/documents", multipart = { file = {
          path = write_file("first.pdf", bytes) } } })
      c:close()
      -- its request log, with its own CA (sandbox.curl trusts the first sandbox's)
      local p = assert(io.popen(("curl -sS --cacert %s -H %s %s"):format(quote(dir .. "/ca.pem"),
        quote("x-api-key: " .. sandbox.info().admin_key),
        quote(("https://127.0.0.1:%d/_sandbox/log?tenant=acme"):format(port)))))
      local second = p:read("*a")
      p:close()
      os.execute(ctl .. " stop >/dev/null")
      assert(ok, res)
      assert(res, err and tostring(err))
      assert.equal(2, res.attempts)
      local retry
      for _, ev in ipairs(events) do if ev.type == "retry" then retry = ev end end
      assert.equal("network", retry.reason)
      local parts = sandbox.parts(res.headers)
      assert.equal(#bytes, parts[1].size)
      assert.equal(sha256(bytes), parts[1].sha256)
      local log = json.decode(second).requests
      assert.equal(1, #log)
      assert.same({ DOCUMENTS, 2, 200 }, { log[1].endpoint, log[1].attempt, log[1].status })
    end)
  end)

  describe("on_progress", function()
    it("is called with growing numbers up to the body's size", function()
      local seen = {}
      local res = assert(client:upload("/_test/multipart-echo", {
        file = { path = write_file("p.bin", random_bytes(2 * 1024 * 1024)) } }, {
        on_progress = function(sent, total) seen[#seen + 1] = { sent, total } end }))
      assert.truthy(#seen >= 3)
      local total = seen[#seen][2]
      assert.equal(res.bytes, total)
      assert.equal(total, seen[#seen][1])
      for i = 2, #seen do
        assert.is_true(seen[i][1] > seen[i - 1][1])
        assert.equal(total, seen[i][2])
      end
    end)

    it("aborts the upload when it raises, and its error is raised after the transfer",
      function()
      local n = document_count(client)
      local raised, err_value = false, { reason = "enough" }
      local ok, err = pcall(client.customers.upload_document, client.customers, CUSTOMER, {
        parts = { file = { path = write_file("stop.pdf", PDF .. random_bytes(4 * 1024 * 1024)) } },
        on_progress = function(sent)
          assert(not raised, "on_progress was called again after it raised")
          if sent > 0 then
            raised = true
            error(err_value)
          end
        end })
      assert.is_false(ok)
      assert.equal(err_value, err) -- the very value, not a copy or a message
      for _, r in ipairs(logged(DOCUMENTS)) do assert.is_not.equal(200, r.status) end
      assert.equal(n, document_count(client))
      -- the client goes on working
      assert(client:upload("/_test/multipart-echo", { f = { content = "x" } }))
    end)

    it("must not use its own client", function()
      local ok, err = pcall(client.upload, client, "/_test/multipart-echo",
        { f = { content = ("x"):rep(100000) } },
        { on_progress = function() client:get("/studios/information") end })
      assert.is_false(ok)
      assert.matches("cannot be used from its own sleep, clock, on_event or on_progress", err)
    end)
  end)
end)

--------------------------------------------------------------------------------------------------

describe("client:download", function()
  local client

  setup(function()
    tmpdir = os.tmpname()
    os.remove(tmpdir)
    assert(os.execute("mkdir -p " .. quote(tmpdir)))
    client = new_client()
  end)
  teardown(function()
    client:close()
    os.execute("rm -rf " .. quote(tmpdir))
  end)
  before_each(function() sandbox.reset() end)
  after_each(function() sandbox.reset() end)

  -- The customer with a fresh image of ours, fetched now.
  local function customer_with_image(bytes)
    assert(client.customers:set_image(CUSTOMER, { parts = { image = { content = bytes } } }))
    return assert(client.customers:get(CUSTOMER))
  end

  local function files_log()
    local out = {}
    for _, r in ipairs(logged()) do
      if r.endpoint == "GET /files" then out[#out + 1] = r end
    end
    return out
  end

  it("streams an entity's URL into a file, or returns the bytes", function()
    local image = PNG .. random_bytes(300000)
    local customer = customer_with_image(image)
    local path = tmpdir .. "/me.png"
    assert.equal(path, client:download(customer, "imageUrl", path))
    assert.is_true(read_file(path) == image)
    assert.is_true(client:download(customer, "imageUrl") == image)
    assert.is_true(client:download(customer.imageUrl, tmpdir .. "/by-url.png") ~= nil)
    assert.is_true(read_file(tmpdir .. "/by-url.png") == image)
  end)

  it("never sends the key to another host; to the base URL's own it may", function()
    local customer = customer_with_image(PNG)
    assert.matches("^https://files%.localhost:", customer.imageUrl)
    assert(client:download(customer, "imageUrl"))
    local files = files_log()
    assert.equal(1, #files)
    assert.equal("files.localhost", files[1].host)
    assert.is_false(files[1].api_key)
    -- the API's own host: the key goes along (the echo shows its first 4 characters)
    local echo = json.decode(assert(client:download(acme.base_url .. "/_test/echo")))
    assert.equal(acme.api_key:sub(1, 4) .. "…", echo.headers["x-api-key"])
    -- the same server under another name is another host: no key, so a 401
    local other = ("https://127.0.0.1:%d/v1/_test/echo"):format(sandbox.info().port)
    local res, err = client:download(other)
    assert.is_nil(res)
    assert.equal(401, err.status)
  end)

  it("refreshes an entity whose URL has expired by its own clock, then downloads", function()
    local customer = customer_with_image(JPEG)
    getmetatable(customer).__fetched = os.time() - 3600 -- fetched an hour ago
    assert.is_true(customer:url_expired("imageUrl"))
    local before = #logged("GET /customers/{id}")
    assert.equal(JPEG, client:download(customer, "imageUrl"))
    assert.equal(before + 1, #logged("GET /customers/{id}"))
    assert.equal(1, #files_log()) -- the stale URL was not even tried
  end)

  it("refreshes once when the server says 403 (expired there), then downloads", function()
    sandbox.url_lifetime(1)
    local customer = customer_with_image(PNG)
    core.sleep(2.1) -- the URL lived 1 to 2 s
    assert.is_false(customer:url_expired("imageUrl")) -- the client believes the API's 15 min
    local path = tmpdir .. "/late.png"
    assert.equal(path, client:download(customer, "imageUrl", path))
    assert.equal(PNG, read_file(path))
    local files = files_log()
    assert.same({ 403, 200 }, { files[1].status, files[2].status })
  end)

  it("answers forbidden for a 403 after the refresh, and leaves the file alone", function()
    local customer = customer_with_image(PNG)
    local bad = function(url) return (url:gsub("sig=[^&]+", "sig=forged")) end
    customer.imageUrl = bad(customer.imageUrl)
    local c = new_client()
    local refresh = c.refresh
    c.refresh = function(self, e) -- the fresh URL is refused too
      local fresh, err = refresh(self, e)
      if fresh then fresh.imageUrl = bad(fresh.imageUrl) end
      return fresh, err
    end
    local path = write_file("keep.png", "old bytes")
    local res, err = c:download(customer, "imageUrl", path)
    c:close()
    assert.is_nil(res)
    assert.equal("forbidden", err.code)
    assert.equal(403, err.status)
    assert.is_nil(err.path:find("sig=", 1, true)) -- a signature is a credential
    assert.equal("old bytes", read_file(path))
    assert.equal(2, #files_log())
    -- a URL alone cannot be refreshed: the first 403 is the answer
    res, err = client:download(bad(assert(client.customers:get(CUSTOMER)).imageUrl))
    assert.is_nil(res)
    assert.equal("forbidden", err.code)
  end)

  it("refuses what is not a URL to download, before sending", function()
    local function refused(reference, ...)
      local res, err = client:download(...)
      assert.is_nil(res)
      assert.equal("invalid_argument", err.code, tostring(err))
      assert.equal(reference, err.reference)
    end
    refused("url", "ftp://files.example.com/x")
    refused("url", "http://files.example.com/x") -- plain http only to loopback
    refused("url", "https://user:pw@files.example.com/x")
    refused("url", "https://files.example.com/a b")
    refused("path", acme.base_url .. "/_test/echo", tmpdir .. "/no/such/dir/x")
    assert.same({}, logged())
    local customer = assert(client.customers:get(CUSTOMER))
    customer.imageUrl = nil
    refused("imageUrl", customer, "imageUrl")
    assert.has_error(function() client:download(42) end,
      "client:download: expected a URL or an entity, got number")
  end)
end)
