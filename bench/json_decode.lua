-- Decode speed of studioapi's JSON codec against lua-cjson on one page of 500 customers.
--   make build && LUA_CPATH="$PWD/build/lua5.4/?.so;;" lua5.4 bench/json_decode.lua [N]
--   (the same with LUA=luajit / luajit). N is the number of decodes per codec (default 100).
-- Prints MB/s per codec and the ratio; asserts nothing about speed.
-- Two renderings of the same page: compact with raw UTF-8 (what most servers send) and pretty
-- with every non-ASCII character as a \u escape (Python's ensure_ascii, PHP's default).
local core = require "studioapi.core"
local cjson = require "cjson"

local N = tonumber(arg and arg[1]) or 100

-- A deterministic generator that gives the same page on every interpreter (Park–Miller).
local seed = 20240611
local function rand(n)
  seed = (seed * 16807) % 2147483647
  return seed % n + 1
end
local function pick(t) return t[rand(#t)] end

local NULL = {}
local FIRST = { "Anna", "Luca", "Sofia", "Noah", "Léa", "Jürg", "Chloé", "Matteo", "Zoë", "Elias",
  "Mia", "Björn", "Ana", "François", "Lena" }
local LAST = { "Müller", "Meier", "Schmid", "Keller", "Weber", "Huber", "Rossi", "Dubois",
  "Brunner", "Baumann", "Frei", "Zürcher", "Gerber", "Moser", "Widmer" }
local CITY = { { "8001", "Zürich" }, { "3011", "Bern" }, { "4051", "Basel" }, { "1201", "Genève" },
  { "6900", "Lugano" }, { "9000", "St. Gallen" }, { "6003", "Luzern" }, { "1003", "Lausanne" } }
local STREET = { "Bahnhofstrasse", "Hauptstrasse", "Dorfstrasse", "Rue du Rhône", "Via Nassa",
  "Seestrasse", "Kirchgasse", "Schützengasse" }
local TAGS = { "vip", "newsletter", "b2b", "wholesale", "late-payer", "event-2023", "partner" }
local LANG = { "de-CH", "fr-CH", "it-CH", "en" }

local function date()
  return ("20%02d-%02d-%02dT%02d:%02d:%02dZ"):format(18 + rand(6), rand(12), rand(28), rand(24) - 1,
    rand(60) - 1, rand(60) - 1)
end

local function address()
  local c = pick(CITY)
  return { { "street", pick(STREET) .. " " .. rand(120) }, { "zip", c[1] }, { "city", c[2] },
    { "country", "CH" }, { "state", NULL } }
end

local function customer(i)
  local first, last = pick(FIRST), pick(LAST)
  local company = rand(3) == 1
  local tags = {}
  for _ = 1, rand(4) - 1 do tags[#tags + 1] = pick(TAGS) end
  local contacts = {}
  for j = 1, rand(3) - 1 do
    contacts[j] = { { "id", 5000000000 + i * 10 + j }, { "name", pick(FIRST) .. " " .. pick(LAST) },
      { "role", pick { "billing", "shipping", "owner" } },
      { "email", ("contact%d.%d@example.ch"):format(i, j) }, { "phone", NULL } }
  end
  return {
    { "id", 4200000000000 + i * 7 },
    { "uuid", ("%08x-%04x-4%03x-a%03x-%012d"):format(rand(2 ^ 30), rand(65535), rand(4095),
      rand(4095), rand(999999999)) },
    { "type", company and "company" or "person" },
    { "first_name", first }, { "last_name", last },
    { "company", company and (last .. " & Partner AG") or NULL },
    { "email", ("%s.%s%d@example.ch"):format(first, last, i):lower() },
    { "phone", ("+41 %02d %03d %02d %02d"):format(rand(80) + 20, rand(900) + 99, rand(90) + 9,
      rand(90) + 9) },
    { "language", pick(LANG) },
    { "address", address() },
    { "billing_address", rand(4) == 1 and address() or NULL },
    { "tags", tags },
    { "balance", (rand(2000000) - 500000) / 100 },
    { "credit_limit", rand(20) * 500 },
    { "discount", rand(20) / 100 },
    { "is_active", rand(10) > 1 },
    { "created_at", date() }, { "updated_at", date() }, { "deleted_at", NULL },
    { "notes", rand(3) == 1 and ("Call before delivery.\nGate code \"%d\" — ask for %s."):format(
      rand(9999), first) or "" },
    { "custom_fields", { { "segment", pick { "B2C", "B2B", "Gov" } }, { "score", rand(100) },
      { "source", pick { "web", "shop", "import", "api" } } } },
    { "contacts", contacts },
    { "location", { { "lat", (45800000 + rand(2000000)) / 1e6 },
      { "lon", (5900000 + rand(4600000)) / 1e6 } } },
  }
end

-- A serializer for the generator's ordered pairs (cjson would reorder keys and lose []).
local function serialize(v, out, ascii, indent)
  local t = type(v)
  local nl = indent and ("\n" .. indent) or ""
  local inner = indent and (indent .. "  ")
  if v == NULL then
    out[#out + 1] = "null"
  elseif t == "string" then
    local s = v:gsub('[%c"\\]', function(c)
      local map = { ['"'] = '\\"', ["\\"] = "\\\\", ["\n"] = "\\n" }
      return map[c] or ("\\u%04x"):format(c:byte())
    end)
    if ascii then
      s = s:gsub("[\xc2-\xdf][\x80-\xbf]", function(c)
        local a, b = c:byte(1, 2)
        return ("\\u%04x"):format((a - 0xc0) * 64 + (b - 0x80))
      end):gsub("[\xe0-\xef][\x80-\xbf][\x80-\xbf]", function(c)
        local a, b, d = c:byte(1, 3)
        return ("\\u%04x"):format((a - 0xe0) * 4096 + (b - 0x80) * 64 + (d - 0x80))
      end)
    end
    out[#out + 1] = '"' .. s .. '"'
  elseif t == "number" then
    local s -- integers as such; floats in the shortest form that reads back exactly
    if v == math.floor(v) then
      s = ("%d"):format(v)
    else
      for digits = 15, 17 do
        s = ("%." .. digits .. "g"):format(v)
        if tonumber(s) == v then break end
      end
    end
    out[#out + 1] = s
  elseif t == "boolean" then
    out[#out + 1] = tostring(v)
  elseif type(v[1]) == "table" and type(v[1][1]) == "string" and v ~= NULL then -- object
    out[#out + 1] = "{"
    for i, kv in ipairs(v) do
      out[#out + 1] = (i > 1 and "," or "") .. (inner and ("\n" .. inner) or "")
      serialize(kv[1], out, ascii)
      out[#out + 1] = indent and ": " or ":"
      serialize(kv[2], out, ascii, inner)
    end
    out[#out + 1] = nl .. "}"
  else -- array (also empty)
    out[#out + 1] = "["
    for i, x in ipairs(v) do
      out[#out + 1] = (i > 1 and "," or "") .. (inner and ("\n" .. inner) or "")
      serialize(x, out, ascii, inner)
    end
    out[#out + 1] = (#v > 0 and nl or "") .. "]"
  end
end

local customers = {}
for i = 1, 500 do customers[i] = customer(i) end
local page = { { "data", customers },
  { "paging", { { "limit", 500 }, { "next", "/v1/customers?cursor=b3BhcXVlLWN1cnNvcg&limit=500" },
    { "total", 1000000 } } } }

local function render(ascii, indent)
  local out = {}
  serialize(page, out, ascii, indent)
  return table.concat(out)
end

local function bench(decode, doc)
  collectgarbage()
  collectgarbage()
  local t0 = os.clock()
  for _ = 1, N do decode(doc) end
  local dt = os.clock() - t0
  return #doc * N / dt / 1e6
end

print(("%s, %d decodes per codec"):format(jit and jit.version or _VERSION, N))
for _, variant in ipairs {
  { "compact, raw UTF-8       ", render(false, nil) },
  { "pretty, \\u-escaped       ", render(true, "") },
} do
  local name, doc = variant[1], variant[2]
  local ours = assert(core.json_decode(doc))
  assert(#ours.data == 500 and #cjson.decode(doc).data == 500)
  local a = bench(core.json_decode, doc)
  local b = bench(cjson.decode, doc)
  print(("%s %6.1f KB  studioapi %7.1f MB/s  cjson %7.1f MB/s  ratio %.2fx"):format(
    name, #doc / 1024, a, b, a / b))
end
