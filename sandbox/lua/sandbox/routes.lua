-- The route table: method ("*" = any), a Lua pattern on the decoded path, the handler.
-- The first match wins, so literal routes (a later /customers/by) go above /customers/([^/]+).
-- A path that matches with another method is a 404 like an unknown path: the API has no 405.

local api = require "sandbox.api"
local test = require "sandbox.testroutes"

local _M = {}

local ROUTES = {
  { "GET", "^/v1/studios/information$", api.studio_information },
  { "GET", "^/v1/customers$", api.customers },
  { "GET", "^/v1/customers/([^/]+)$", api.customer },
  { "GET", "^/v1/customers/([^/]+)/contracts$", api.contracts },
  { "GET", "^/v1/employees$", api.employees },
  { "GET", "^/v1/employees/([^/]+)$", api.employee },

  { "GET", "^/v1/_test/slow$", test.slow },
  { "GET", "^/v1/_test/not%-json$", test.not_json },
  { "GET", "^/v1/_test/html$", test.html },
  { "GET", "^/v1/_test/close$", test.close },
  { "GET", "^/v1/_test/empty$", test.empty },
  { "*", "^/v1/_test/echo$", test.echo },
  { "GET", "^/v1/_test/status/(%d+)$", test.status },
  { "GET", "^/v1/_test/redirect$", test.redirect },
  { "GET", "^/v1/_test/big$", test.big },
}

---The handler for a request and up to two path captures, or nil.
function _M.find(method, path)
  for _, route in ipairs(ROUTES) do
    if route[1] == method or route[1] == "*" then
      local found, _, c1, c2 = path:find(route[2])
      if found then return route[3], c1, c2 end
    end
  end
  return nil
end

return _M
