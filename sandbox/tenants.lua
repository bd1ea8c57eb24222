-- The sandbox's tenants: two studios with fake keys and deterministic data.
-- Read by nginx (LuaJIT, sandbox.config) and by sandbox/render.lua (Lua 5.4), so plain Lua only.
-- The keys are fake on purpose; the sandbox never writes them to a log.

-- SANDBOX_CUSTOMERS sizes both tenants. Every record is derived from its id, so a million costs
-- no memory; sandboxctl passes the value into nginx with an `env` directive.
local MAX_CUSTOMERS = 1000000
local customers = 2500
local wanted = os.getenv("SANDBOX_CUSTOMERS")
if wanted and wanted ~= "" then
  customers = tonumber(wanted:match("^%d+$") or "")
  if not customers or customers < 1 or customers > MAX_CUSTOMERS then
    error(("SANDBOX_CUSTOMERS must be an integer from 1 to %d, not '%s'")
      :format(MAX_CUSTOMERS, wanted), 0)
  end
end

-- The rate limit per tenant key and endpoint (the API's is 1000 a minute). The environment
-- overrides it at start, the control API while the sandbox runs.
local function setting(name, default, integer, min)
  local value = os.getenv(name)
  if not value or value == "" then return default end
  local n = tonumber(value:match(integer and "^%d+$" or "^%d+%.?%d*$") or "")
  if not n or n < min or n > 1e9 then
    error(("%s must be %s from %g to 1e9, not '%s'")
      :format(name, integer and "an integer" or "a number", min, value), 0)
  end
  return n
end

-- one receiver for both tenants: the webhook key tells them apart
local webhook_url = os.getenv("SANDBOX_WEBHOOK_URL")
if webhook_url == "" then webhook_url = nil end

return {
  -- for the control API under /_sandbox/; refused on every other path
  admin_key = "sbx-admin-5e0d8c3a91f7",

  rate_limit = {
    limit = setting("SANDBOX_RATE_LIMIT", 1000, true, 0),         -- requests per window
    window = setting("SANDBOX_RATE_WINDOW", 60, false, 0.001),    -- seconds
    lockout = setting("SANDBOX_LOCKOUT", 60, false, 0),           -- seconds
  },

  -- Webhooks the sandbox sends after writes, to each tenant's `webhook_url` (SANDBOX_WEBHOOK_URL
  -- for both, else none: register one with POST /_sandbox/webhooks). The API's docs say both
  -- "failed deliveries are not retried" and "resent 3 times, 10 minutes apart": by default once.
  webhooks = {
    retries = setting("SANDBOX_WEBHOOK_RETRIES", 0, true, 0),     -- further attempts
    interval = setting("SANDBOX_WEBHOOK_INTERVAL", 600, false, 0), -- seconds between attempts
  },

  -- Lifetime of the signed image and document URLs, seconds; nil = the API's (900 s for these)
  url_lifetime = setting("SANDBOX_URL_LIFETIME", nil, false, 0.001),

  tenants = {
    acme = {
      host = "acme.localhost",
      api_key = "sbx-acme-3f9c2a71d4e8",
      webhook_key = "sbx-acme-wh-8b41e6d2c05a",
      seed = 1,
      language = "en",          -- used when a request has no Accept-Language
      customers = customers,
      employees = 137,
      classes = 2345,           -- GET /classes: the specs walk them in cursor mode
      studio_id = 1210000001,
      webhook_url = webhook_url,
      country = "US", currency = "USD",
      zone = "-05:00[America/New_York]",
    },
    zenith = {
      host = "zenith.localhost",
      api_key = "sbx-zenith-a7d2f90e6b13",
      webhook_key = "sbx-zenith-wh-41c9b7e3d862",
      seed = 2,
      language = "de",
      customers = customers,
      employees = 137,
      classes = 240,
      studio_id = 1210000002,
      webhook_url = webhook_url,
      country = "DE", currency = "EUR",
      zone = "+01:00[Europe/Berlin]",
    },
  },
}
