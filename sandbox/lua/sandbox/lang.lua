-- Accept-Language resolution with the Open API's rules: a fixed set of languages and regional
-- variants, an unknown region falls back to its language, an unknown language to "en", and no
-- header at all to the studio's configured language. q-values pick the preferred entry.

local _M = {}

local LANGUAGES = {
  cs = true, de = true, en = true, es = true, fr = true, hu = true, it = true, nb = true,
  nl = true, pl = true, ro = true, ru = true, sl = true, sv = true, tr = true,
}
local VARIANTS = {
  ["de-CH"] = true, ["de-LI"] = true, ["en-CA"] = true, ["en-GB"] = true, ["en-US"] = true,
  ["fr-LU"] = true,
}

---The supported tag one language range stands for ("DE-ch" → "de-CH", "de-AT" → "de"),
---or nil when its language is not supported.
function _M.match(range)
  local lang, rest = range:match("^(%a+)(.*)$")
  if not lang or (rest ~= "" and not rest:find("^[-_]")) then return nil end
  lang = lang:lower()
  if not LANGUAGES[lang] then return nil end
  -- the region is the first two-letter subtag after the language ("de-Latn-CH" → CH)
  for sub in rest:gmatch("[-_](%w+)") do
    if #sub == 2 and sub:match("^%a%a$") then
      local tag = lang .. "-" .. sub:upper()
      if VARIANTS[tag] then return tag end
      break
    end
  end
  return lang
end

-- The q-value of one entry's parameters: 1 when absent, nil when malformed (entry ignored).
local function quality(params)
  local q = params:match(";%s*[qQ]%s*=%s*([%d.]+)%s*$")
  if not q then
    if params:find("[qQ]%s*=") then return nil end
    return 1
  end
  q = tonumber(q)
  if not q or q > 1 then return nil end
  return q
end

---The tag to answer in for an Accept-Language header value (nil or blank = no header).
function _M.resolve(header, default)
  if type(header) == "table" then header = table.concat(header, ",") end
  if not header or not header:find("%S") then return default end
  local best, best_q = nil, 0
  for entry in header:gmatch("[^,]+") do
    local range, params = entry:match("^%s*([^;%s]+)%s*(.*)$")
    local q = range and quality(params)
    -- the first entry wins among equal q-values; "*" and q=0 never select anything
    if q and q > best_q then
      local tag = _M.match(range)
      if tag then best, best_q = tag, q end
    end
  end
  return best or "en"
end

return _M
