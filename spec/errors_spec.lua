local errors = require "studioapi.errors"

describe("studioapi.errors.from_response()", function()
  local req = { method = "GET", path = "/customers/42" }

  it("takes code, message, trace id and reference from the API's error body", function()
    local body = '{"errorMessage":"Kunde nicht gefunden","errorCode":"error.customer.not_found"}'
    local err = errors.from_response(404, body, {
      errorMessage = "Kunde nicht gefunden", errorCode = "error.customer.not_found",
      traceId = "abc123", reference = "customerId",
    }, req)
    assert.equal(404, err.status)
    assert.equal("error.customer.not_found", err.code)
    assert.equal("not_found", err.kind)
    assert.equal("Kunde nicht gefunden", err.message)
    assert.equal("abc123", err.trace_id)
    assert.equal("customerId", err.reference)
    assert.equal(body, err.body)
    assert.equal("received", err.outcome)
    assert.is_false(err.retryable)
    assert.equal("GET", err.method)
    assert.equal("/customers/42", err.path)
    assert.equal(1, err.attempts)
  end)

  it("falls back to the generic code for each status without an error code", function()
    local cases = {
      [400] = "validation", [401] = "unauthorized", [403] = "forbidden", [404] = "not_found",
      [409] = "conflict", [429] = "rate_limited", [500] = "server_error", [502] = "unavailable",
      [503] = "unavailable", [504] = "unavailable", [418] = "validation", [599] = "server_error",
    }
    for status, kind in pairs(cases) do
      local err = errors.from_response(status, "", nil, req)
      assert.equal(kind, err.code, status)
      assert.equal(kind, err.kind, status)
      assert.equal("HTTP " .. status, err.message)
      assert.is_nil(err.body)
    end
  end)

  it("marks throttling and unavailability as retryable, and nothing else", function()
    assert.is_true(errors.from_response(429, "", nil, req).retryable)
    assert.is_true(errors.from_response(503, "", nil, req).retryable)
    assert.is_false(errors.from_response(500, "", nil, req).retryable)
    assert.is_false(errors.from_response(400, "", nil, req).retryable)
  end)

  it("scrubs the key from whatever the server echoed back", function()
    local key = "sbx-secret-key-0123456789"
    local body = '{"errorMessage":"bad key ' .. key .. '"}'
    local err = errors.from_response(401, body, { errorMessage = "bad key " .. key }, req, key)
    assert.is_nil(err.message:find(key, 1, true))
    assert.is_nil(err.body:find(key, 1, true))
    assert.truthy(err.message:find("sbx-…", 1, true))
    assert.is_nil(tostring(err):find(key, 1, true))
  end)
end)

describe("studioapi.errors.from_transport()", function()
  it("says not_sent when the request never left", function()
    local err = errors.from_transport("network", "Couldn't connect", false,
                                      { method = "POST", path = "/x" })
    assert.equal("network", err.code)
    assert.equal("not_sent", err.outcome)
    assert.is_true(err.retryable)
    assert.is_nil(err.status)
  end)

  it("says unknown when a request may have reached the server", function()
    local err = errors.from_transport("timeout", "Operation timed out", true,
                                      { method = "POST", path = "/x" })
    assert.equal("timeout", err.code)
    assert.equal("unknown", err.outcome)
  end)

  it("treats a TLS failure as not retryable", function()
    local err = errors.from_transport("tls", "certificate problem", false, { method = "GET" })
    assert.is_false(err.retryable)
  end)
end)

describe("tostring(err)", function()
  it("is one line with status, code, method, path and message", function()
    local err = errors.from_response(404, "", { errorMessage = "Customer not found" },
                                     { method = "GET", path = "/customers/42" })
    assert.equal("studioapi: 404 not_found GET /customers/42: Customer not found", tostring(err))
  end)

  it("leaves out the status when no response came", function()
    local err = errors.from_transport("timeout", "Operation timed out", true,
                                      { method = "GET", path = "/slow" })
    assert.equal("studioapi: timeout GET /slow: Operation timed out", tostring(err))
  end)

  it("keeps a multi-line server message on one line", function()
    local err = errors.from_response(500, "", { errorMessage = "boom\nsecond line" },
                                     { method = "GET", path = "/x" })
    assert.is_nil(tostring(err):find("\n", 1, true))
  end)
end)

describe("studioapi.errors.is_error()", function()
  it("tells an error object apart", function()
    assert.is_true(errors.is_error(errors.new { code = "decode", message = "x" }))
    assert.is_false(errors.is_error({ code = "decode" }))
    assert.is_false(errors.is_error("decode"))
    assert.is_false(errors.is_error(nil))
  end)
end)
