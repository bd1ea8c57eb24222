-- quickstart: check the key, show the studio, fetch a customer, and see what an error looks like.
--   STUDIOAPI_BASE_URL=https://acme.open-api.example.com/v1 STUDIOAPI_KEY=… \
--     lua5.4 examples/quickstart.lua
-- (`make demo` runs it against the local sandbox; STUDIOAPI_CA_FILE names the sandbox's CA.)
local studioapi = require "studioapi"

local client, err = studioapi.new {
  base_url = os.getenv "STUDIOAPI_BASE_URL",
  api_key = os.getenv "STUDIOAPI_KEY",
  ca_file = os.getenv "STUDIOAPI_CA_FILE",
  language = "de-CH",
}
if not client then error(tostring(err)) end
print(client)

assert(client:ping())
print("key accepted")

local studio = assert(client:get("/studios/information"))
print(("studio %d: %s, %s"):format(studio.studioId, studio.name, studio.city or "?"))

local page = assert(client:get("/customers", { sliceSize = 50 }))
local first = page.result[1]
local customer = assert(client:get("/customers/" .. first.id))
print(("customer %d: %s %s <%s>, %s"):format(customer.id, customer.firstName, customer.lastName,
                                             customer.email or "-", customer.status))

local missing, nf = client:get("/customers/1")
assert(missing == nil)
print("an unknown customer gives: " .. tostring(nf))
print(("  status %d, code %s, kind %s, retryable %s"):format(nf.status, nf.code, nf.kind,
                                                             tostring(nf.retryable)))

client:close()
