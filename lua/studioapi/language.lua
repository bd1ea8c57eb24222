--- Accept-Language tags as the Open API understands them.
-- The API speaks a fixed set of languages and a few regional variants; an unknown region falls back
-- to its language and an unknown language to English. We normalise on the client so the header we
-- send is always one the API resolves the same way, and so bad input never reaches a header.
local errors = require "studioapi.errors"

local _M = {}

local LANGUAGES = {
  "cs", "de", "en", "es", "fr", "hu", "it", "nb", "nl", "pl", "ro", "ru", "sl", "sv", "tr",
}
local VARIANTS = { "de-CH", "de-LI", "en-CA", "en-GB", "en-US", "fr-LU" }

local IS_LANGUAGE, IS_VARIANT = {}, {}
for _, tag in ipairs(LANGUAGES) do IS_LANGUAGE[tag] = true end
for _, tag in ipairs(VARIANTS) do IS_VARIANT[tag] = true end

--- The languages and variants the API has texts for.
_M.supported = { languages = LANGUAGES, variants = VARIANTS }
for i, tag in ipairs(LANGUAGES) do _M.supported[i] = tag end

_M.DEFAULT = "en"

local function invalid(tag)
  return nil, errors.new {
    code = "invalid_argument",
    message = ("malformed language tag %q"):format(tostring(tag):sub(1, 40)),
  }
end

--- Normalises a language tag to the one the API will use.
-- `"de-lu"` → `"de"`, `"de-ch"` → `"de-CH"`, `"pt-BR"` → `"en"`. A tag that is not a well-formed
-- BCP 47 shape (letters and digits in dash-separated pieces, 1–8 each) is `nil, err`: it could
-- otherwise smuggle control characters into a header.
-- @tparam string tag
-- @treturn string|nil the normalised tag
-- @treturn[opt] studioapi.Error
function _M.normalize(tag)
  if type(tag) ~= "string" or #tag == 0 or #tag > 35 then return invalid(tag) end
  -- "_" is a common typo for "-" (en_GB, from POSIX locales); accept it.
  local t = tag:gsub("_", "-")
  if not t:match("^%a%a?%a?%a?%a?%a?%a?%a?[%w%-]*$") or t:find("%-%-") or t:find("%-$")
  then
    return invalid(tag)
  end
  for piece in t:gmatch("[^%-]+") do
    if #piece > 8 then return invalid(tag) end
  end
  local lang, region = t:match("^(%a+)%-(%w+)")
  lang = (lang or t):lower()
  if region then
    local variant = lang .. "-" .. region:upper()
    if IS_VARIANT[variant] then return variant end
  end
  if IS_LANGUAGE[lang] then return lang end
  return _M.DEFAULT
end

return _M
