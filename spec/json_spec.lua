-- The JSON codec of studioapi.core (src/json.c), on Lua 5.4 and LuaJIT alike.
local core = require "studioapi.core"
local cjson = require "cjson"

local decode, encode = core.json_decode, core.json_encode
local null, array_mt = core.json_null, core.json_array_mt
local HAS_INTEGERS = math.type ~= nil -- Lua 5.4: integers and floats are distinct subtypes

local function is_array(t)
  return getmetatable(t) == array_mt
end

-- Structural equality: numbers by value (3 == 3.0), metatables ignored.
local function same(a, b)
  if type(a) ~= "table" or type(b) ~= "table" then
    if a ~= a and b ~= b then return true end -- NaN
    return a == b
  end
  for k, v in pairs(a) do
    if not same(v, b[k]) then return false end
  end
  for k in pairs(b) do
    if a[k] == nil then return false end
  end
  return true
end

-- Decoded value → a readable canonical form (sorted keys), for assertion messages and comparisons.
local function show(v)
  if type(v) ~= "table" then
    if v == null then return "null" end
    if type(v) == "string" then return ("%q"):format(v) end
    if type(v) == "number" then return ("%.17g"):format(v) end -- 3 and 3.0 alike
    return tostring(v)
  end
  local parts = {}
  if is_array(v) then
    for i = 1, #v do parts[i] = show(v[i]) end
    return "[" .. table.concat(parts, ",") .. "]"
  end
  for k, x in pairs(v) do parts[#parts + 1] = ("%q"):format(k) .. ":" .. show(x) end
  table.sort(parts)
  return "{" .. table.concat(parts, ",") .. "}"
end

local function decode_error(s)
  local v, err = decode(s)
  assert.is_nil(v)
  assert.is_string(err)
  return err
end

describe("core.json_decode", function()
  it("decodes every JSON type", function()
    local v = decode('{"s":"x","i":42,"f":1.5,"t":true,"f2":false,"a":[1,"two"],"o":{"k":"v"}}')
    assert.equal("x", v.s)
    assert.equal(42, v.i)
    assert.equal(1.5, v.f)
    assert.is_true(v.t)
    assert.is_false(v.f2)
    assert.same({ 1, "two" }, v.a)
    assert.same({ k = "v" }, v.o)
    assert.equal("str", decode('"str"'))
    assert.equal(-7, decode("-7"))
    assert.is_true(decode("true"))
    assert.is_false(decode("false"))
  end)

  it("decodes nested structures", function()
    local v = decode('{"a":[{"b":[[1,2],[3]],"c":{"d":{"e":[]}}}]}')
    assert.equal(3, v.a[1].b[2][1])
    assert.is_true(is_array(v.a[1].b[2]))
    assert.is_true(is_array(v.a[1].c.d.e))
    assert.equal(0, #v.a[1].c.d.e)
  end)

  it("gives arrays the shared json_array_mt and objects no metatable", function()
    local v = decode('{"a":[],"b":[1],"c":{}}')
    assert.is_nil(getmetatable(v))
    assert.is_nil(getmetatable(v.c))
    assert.equal(array_mt, getmetatable(v.a))
    assert.equal(array_mt, getmetatable(v.b))
    assert.equal("studioapi.json.array", array_mt.__name)
    assert.equal("array", array_mt.__jsontype)
  end)

  it("leaves null members out of objects", function()
    local v = decode('{"a":null,"b":1,"c":null}')
    assert.same({ b = 1 }, v)
    assert.is_nil(next(decode('{"a":null}')))
  end)

  it("lets the last of duplicate keys win, also when it is null", function()
    assert.same({ a = 2 }, decode('{"a":1,"a":2}'))
    assert.same({ b = 0 }, decode('{"a":1,"b":0,"a":null}'))
    assert.same({ a = 1 }, decode('{"a":null,"a":1}'))
  end)

  it("keeps null elements of arrays as json_null", function()
    local v = decode("[null,1,null]")
    assert.equal(3, #v)
    assert.equal(null, v[1])
    assert.equal(1, v[2])
    assert.equal(null, v[3])
  end)

  it("exports json_null as lightuserdata NULL, the same value as cjson.null", function()
    assert.equal("userdata", type(null))
    assert.equal(cjson.null, null)
  end)

  it("decodes a top-level null to a single nil", function()
    assert.equal(1, select("#", decode("null")))
    assert.is_nil(decode(" null "))
  end)

  it("accepts whitespace around every token", function()
    local v = decode(' \t\r\n{ "a" : [ 1 , 2 ] , "b" : { } }\n ')
    assert.same({ a = { 1, 2 }, b = {} }, v)
  end)

  it("raises on a non-string argument (a caller mistake)", function()
    assert.has_error(function() decode(42) end)
    assert.has_error(function() decode() end)
  end)

  describe("numbers", function()
    if HAS_INTEGERS then
      it("keeps integer literals as integers, int64 ids exactly", function()
        assert.equal("integer", math.type(decode("42")))
        assert.equal(9007199254740993, decode("9007199254740993"))
        assert.equal("9007199254740993", tostring(decode("9007199254740993")))
        assert.equal(math.maxinteger, decode("9223372036854775807"))
        assert.equal(math.mininteger, decode("-9223372036854775808"))
        assert.equal("integer", math.type(decode("-9223372036854775808")))
        local ids = decode('[{"id":4200000000000007},{"id":-4200000000000007}]')
        assert.equal(4200000000000007, ids[1].id)
        assert.equal(-4200000000000007, ids[2].id)
      end)

      it("makes floats of literals with a fraction or an exponent, or beyond int64", function()
        assert.equal("float", math.type(decode("1.0")))
        assert.equal("float", math.type(decode("1e2")))
        assert.equal(100.0, decode("1E+2"))
        assert.equal("float", math.type(decode("9223372036854775808")))
        assert.equal(9223372036854775808.0, decode("9223372036854775808"))
        assert.equal(-9223372036854775809.0, decode("-9223372036854775809"))
      end)
    else
      it("makes doubles of every number (LuaJIT): ids beyond 2^53 round", function()
        assert.equal(9007199254740992, decode("9007199254740993"))
        assert.equal(2 ^ 53, decode("9007199254740992"))
        assert.equal(4200000000000007, decode("4200000000000007"))
      end)
    end

    it("keeps the sign of -0", function()
      local z = decode("-0")
      assert.equal(0, z)
      assert.equal(-1 / 0, 1 / z)
      assert.equal(-1 / 0, 1 / decode("-0.0e5"))
      assert.equal(1 / 0, 1 / decode("0"))
    end)

    it("reads floats exactly as tonumber does (correctly rounded)", function()
      for _, s in ipairs {
        "0.1", "-0.1", "3.14159", "2.5e-3", "1e-7", "0.30000000000000004", "123456.789e3",
        "1.7976931348623157e308", "2.2250738585072014e-308", "4.9e-324", "5e-324",
        "9007199254740993.0", "123456789012345678901234567890", "0.000000000000000000001234",
        "1.00000000000000011102230246251565404236316680908203125", "8311.64", "47.376887",
        "1e22", "1e23", "9.999999999999999e22", "-1.5E-10", "0e10", "12345678901234567890e-5",
        "4503599627370497.5",
      } do
        assert.equal(tonumber(s), decode(s), s)
        assert.equal(tonumber(s), decode("[" .. s .. "]")[1], s)
      end
    end)

    it("gives ±math.huge beyond the double range and 0 below it", function()
      assert.equal(math.huge, decode("1e400"))
      assert.equal(-math.huge, decode("-1e400"))
      assert.equal(0, decode("1e-400"))
    end)

    it("does not depend on the C locale's decimal point", function()
      local old = os.setlocale(nil, "numeric")
      local set
      for _, name in ipairs { "de_DE.UTF-8", "de_DE.utf8", "de_CH.UTF-8", "fr_FR.UTF-8" } do
        set = os.setlocale(name, "numeric")
        if set then break end
      end
      -- `make test` builds de_DE.UTF-8 into build/locale and points LOCPATH at it.
      assert(set, "no locale with a decimal comma: run through make, or set LOCPATH")
      local ok, err = pcall(function()
        assert.equal(1.5, decode("1.5"))
        assert.equal(0.125, decode("[0.125]")[1])
        assert.equal(1.5e300, decode("1.5e300"))
        assert.equal(1.2345678901234567, decode("1.23456789012345678901234567890"))
        assert.equal("[1.5,0.1,1e+300,2.5e-07]", encode(setmetatable({ 1.5, 0.1, 1e300, 2.5e-7 },
          array_mt)))
      end)
      os.setlocale(old, "numeric")
      assert(ok, err)
    end)
  end)

  describe("strings", function()
    it("decodes every escape", function()
      assert.equal('"\\/\b\f\n\r\t', decode([["\"\\\/\b\f\n\r\t"]]))
      assert.equal("a\0b", decode([["a\u0000b"]]))
      assert.equal("é", decode([["\u00e9"]]))
      assert.equal("é", decode([["\u00E9"]]))
      assert.equal("€", decode([["\u20ac"]]))
      assert.equal("\xef\xbf\xbf", decode([["\uffff"]]))
    end)

    it("joins surrogate pairs into one UTF-8 character", function()
      assert.equal("😀", decode([["\ud83d\ude00"]]))
      assert.equal("x😀y", decode([["x\uD83D\uDE00y"]]))
      assert.equal("\xf4\x8f\xbf\xbf", decode([["\udbff\udfff"]]))
    end)

    it("turns an unpaired surrogate into U+FFFD", function()
      local fffd = "\xef\xbf\xbd"
      assert.equal(fffd, decode([["\ud83d"]]))
      assert.equal(fffd .. "x", decode([["\ud83dx"]]))
      assert.equal(fffd .. "A", decode([["\ud83d\u0041"]]))
      assert.equal(fffd .. fffd, decode([["\ud83d\ud83d"]]))
      assert.equal(fffd, decode([["\ude00"]]))
      assert.equal(fffd .. "😀", decode([["\ude00\ud83d\ude00"]]))
    end)

    it("passes raw bytes >= 0x80 through, valid UTF-8 or not", function()
      assert.equal("Zürich", decode('"Zürich"'))
      assert.equal("\xff\xfe\x80", decode('"\xff\xfe\x80"'))
      assert.equal("\x7f", decode('"\x7f"'))
    end)

    it("decodes long strings, with and without escapes, and keys with escapes", function()
      local long = string.rep("abcdefghij", 1000)
      assert.equal(long, decode('"' .. long .. '"'))
      local escaped = string.rep("ab\\n\\u00e9", 2000)
      assert.equal(string.rep("ab\né", 2000), decode('"' .. escaped .. '"'))
      local v = decode('{"k\\u00e9y":1,"' .. long .. '":2,"' .. escaped .. '":3}')
      assert.equal(1, v["kéy"])
      assert.equal(2, v[long])
      assert.equal(3, v[string.rep("ab\né", 2000)])
    end)

    it("decodes many objects with the same keys (the key cache)", function()
      local parts = {}
      for i = 1, 300 do
        parts[i] = ('{"id":%d,"name":"n%d","tags":["t%d"],"deep":{"id":%d}}'):format(i, i, i, -i)
      end
      local v = decode("[" .. table.concat(parts, ",") .. "]")
      for i = 1, 300 do
        assert.same({ id = i, name = "n" .. i, tags = { "t" .. i }, deep = { id = -i } }, v[i])
      end
    end)
  end)

  describe("malformed input", function()
    local cases = {
      { "", "empty document" },
      { " \n\t ", "empty document" },
      { "[1,2", "unexpected end of input at byte 5 (expected ',' or ']')" },
      { '{"a":1', "unexpected end of input at byte 7 (expected ',' or '}')" },
      { '{"a"', "unexpected end of input at byte 5 (expected ':')" },
      { '{"a":', "unexpected end of input at byte 6 (expected a value)" },
      { '"abc', "unexpected end of input at byte 5 (unterminated string)" },
      { '"ab\\', "unexpected end of input at byte 5 (unterminated string)" },
      { '"\\u12', "unexpected end of input at byte 6 (unterminated string)" },
      { "tru", "unexpected end of input at byte 4 (truncated literal)" },
      { "-", "unexpected end of input at byte 2 (expected a digit)" },
      { "[1,]", "trailing comma at byte 3" },
      { '{"a":1,}', "trailing comma at byte 7" },
      { "{'a':1}", [[expected a string key but found "'" at byte 2]] },
      { "['a']", [[expected a value but found "'" at byte 2]] },
      { "{a:1}", "expected a string key but found 'a' at byte 2" },
      { "{1:2}", "expected a string key but found '1' at byte 2" },
      { '{"a" 1}', "expected ':' but found '1' at byte 6" },
      { "[1 2]", "expected ',' or ']' but found '2' at byte 4" },
      { '{"a":1 "b":2}', "expected ',' or '}' but found '\"' at byte 8" },
      { "01", "leading zero in number at byte 1" },
      { "-01", "leading zero in number at byte 2" },
      { "[00]", "leading zero in number at byte 2" },
      { "+1", "expected a value but found '+' at byte 1" },
      { ".5", "expected a value but found '.' at byte 1" },
      { "1.", "unexpected end of input at byte 3 (expected a digit after '.')" },
      { "1.e5", "expected a digit after '.' but found 'e' at byte 3" },
      { "[1. 5]", "expected a digit after '.' but found ' ' at byte 4" },
      { "1e", "unexpected end of input at byte 3 (expected a digit in the exponent)" },
      { "1e+", "unexpected end of input at byte 4 (expected a digit in the exponent)" },
      { "-a", "expected a digit but found 'a' at byte 2" },
      { "NaN", "expected a value but found 'N' at byte 1" },
      { "Infinity", "expected a value but found 'I' at byte 1" },
      { "-Infinity", "expected a digit but found 'I' at byte 2" },
      { "0x10", "expected end of input but found 'x' at byte 2" },
      { "nul", "unexpected end of input at byte 4 (truncated literal)" },
      { "nulL", "invalid literal at byte 1" },
      { "True", "expected a value but found 'T' at byte 1" },
      { '"a\1b"', "unescaped control character in string at byte 3" },
      { '"a\nb"', "unescaped control character in string at byte 3" },
      { '"a\tb"', "unescaped control character in string at byte 3" },
      { '"\\x"', "invalid escape sequence at byte 2" },
      { '"\\U00e9"', "invalid escape sequence at byte 2" },
      { '"\\u00g9"', "invalid \\u escape at byte 2" },
      { "[1]x", "expected end of input but found 'x' at byte 4" },
      { "[1] [2]", "expected end of input but found '[' at byte 5" },
      { '{"a":1}}', "expected end of input but found '}' at byte 8" },
      { "1 2", "expected end of input but found '2' at byte 3" },
      { "\xef\xbb\xbf[]", "expected a value but found byte 0xef at byte 1" },
      { "[\1]", "expected a value but found control character 0x01 at byte 2" },
      { "]", "expected a value but found ']' at byte 1" },
    }
    for _, case in ipairs(cases) do
      -- %q writes a newline as "\" + newline: fold it, a test name must stay on one TAP line.
      it((("rejects %q"):format(case[1]):gsub("\\\n", "\\n")), function()
        assert.equal(case[2], decode_error(case[1]))
      end)
    end

    it("rejects a control character after an escape in the same string", function()
      assert.equal("unescaped control character in string at byte 6", decode_error('"\\n\\t\1"'))
    end)

    it("limits nesting to 1000 levels, without overflowing any stack", function()
      assert.equal("nesting deeper than 1000 levels at byte 1001",
        decode_error(string.rep("[", 100000)))
      assert.equal("nesting deeper than 1000 levels at byte 5001",
        decode_error(string.rep('{"a":', 100000)))
      assert.equal("nesting deeper than 1000 levels at byte 1001",
        decode_error(string.rep("[", 1001) .. string.rep("]", 1001)))
      local v = decode(string.rep("[", 1000) .. string.rep("]", 1000))
      for _ = 1, 999 do v = v[1] end
      assert.is_true(is_array(v))
      assert.equal(0, #v)
      local o = decode(string.rep('{"a":', 1000) .. "1" .. string.rep("}", 1000))
      for _ = 1, 1000 do o = o.a end
      assert.equal(1, o)
    end)

    it("fails cleanly over and over, half-way through strings and structures", function()
      for _ = 1, 2000 do
        assert.is_nil((decode('{"a":[1,2,{"b":"' .. string.rep("x", 300) .. '\\n"}, tru')))
      end
      local t = {}
      for i = 1, 200 do t[i] = decode("[" .. i .. "]")[1] end
      assert.equal(200, t[200])
    end)
  end)
end)

describe("core.json_encode", function()
  it("encodes scalars", function()
    assert.equal("null", encode(nil))
    assert.equal("null", encode(null))
    assert.equal("true", encode(true))
    assert.equal("false", encode(false))
    assert.equal("0", encode(0))
    assert.equal("-42", encode(-42))
    assert.equal('"hi"', encode("hi"))
    assert.equal('""', encode(""))
  end)

  it("escapes strings per JSON and passes other bytes through", function()
    assert.equal([["a\"b\\c/d"]], encode('a"b\\c/d'))
    assert.equal([["\b\f\n\r\t"]], encode("\b\f\n\r\t"))
    assert.equal([["\u0000\u0001\u001f\u000b"]], encode("\0\1\31\11"))
    assert.equal('"\x7fé😀\xff"', encode("\x7fé😀\xff"))
    local long = string.rep('x"\n', 5000)
    assert.equal(long, decode(encode(long)))
    assert.equal(2 + 5000 * 5, #encode(long))
  end)

  it("encodes integers as integers", function()
    assert.equal("4200000000000007", encode(4200000000000007))
    if HAS_INTEGERS then
      assert.equal("9007199254740993", encode(decode("9007199254740993")))
      assert.equal("9223372036854775807", encode(math.maxinteger))
      assert.equal("-9223372036854775808", encode(math.mininteger))
    end
  end)

  it("writes integral floats without a fraction, and -0 as -0", function()
    assert.equal("3", encode(3.0))
    assert.equal("-3", encode(-3.0))
    assert.equal("1152921504606846976", encode(2.0 ^ 60))
    assert.equal("1e+300", encode(1e300))
    assert.equal("-0", encode(-0.0))
    assert.equal("0", encode(0.0))
  end)

  it("writes floats in the shortest form that reads back exactly", function()
    assert.equal("0.1", encode(0.1))
    assert.equal("1.5", encode(1.5))
    assert.equal("0.30000000000000004", encode(0.1 + 0.2))
    assert.equal("0.3333333333333333", encode(1 / 3))
    assert.equal("1e-07", encode(1e-7))
    assert.equal("8311.64", encode(8311.64))
    for _, x in ipairs { 0.1, 1 / 3, math.pi, -math.pi, 1e-300, 5e-324, 1.7976931348623157e308,
      2.2250738585072014e-308, 123456.789, 1e21 + 0.5, 2 ^ 70, -2 ^ 63, 2 ^ 63,
      4503599627370497.5 } do
      local s = encode(x)
      assert.equal(x, decode(s), s)
      assert.equal(x, tonumber(s), s)
    end
  end)

  it("encodes tables with json_array_mt as arrays, also when empty", function()
    assert.equal("[]", encode(setmetatable({}, array_mt)))
    assert.equal("[1,2,3]", encode(setmetatable({ 1, 2, 3 }, array_mt)))
    assert.equal("[null,1,null]", encode(setmetatable({ null, 1, null }, array_mt)))
    assert.equal("[1]", encode(setmetatable({ 1, x = "ignored" }, array_mt)))
  end)

  it("encodes a non-empty sequence as an array and an empty plain table as {}", function()
    assert.equal("[1,2,3]", encode({ 1, 2, 3 }))
    assert.equal('["a",["b"],[]]', encode({ "a", { "b" }, setmetatable({}, array_mt) }))
    assert.equal("{}", encode({}))
    local t = {}
    t[3], t[2], t[1] = "c", "b", "a" -- a sequence that lives in the hash part
    assert.equal('["a","b","c"]', encode(t))
  end)

  it("encodes tables with string keys as objects, json_null members as null", function()
    assert.equal('{"a":1}', encode({ a = 1 }))
    assert.equal('{"a":null}', encode({ a = null }))
    assert.equal('{"1":true}', encode({ ["1"] = true }))
    local v = decode(encode({ a = 1, b = { c = { 1, 2 } }, d = "x", e = false }))
    assert.same({ a = 1, b = { c = { 1, 2 } }, d = "x", e = false }, v)
  end)

  it("gives back [] and {} after a round trip", function()
    for _, s in ipairs { "[]", "{}", '{"a":[]}', '{"a":{}}', "[[],{}]", '[{"a":[{}]}]',
      '{"a":[null]}', "[1.5,-2,\"x\",true,false,null]" } do
      assert.equal(s, encode(decode(s)))
    end
  end)

  it("honours __jsontype in a metatable and reads raw contents otherwise", function()
    assert.equal("[]", encode(setmetatable({}, { __jsontype = "array" })))
    assert.equal('["x"]', encode(setmetatable({ "x" }, { __jsontype = "array" })))
    assert.equal("{}", encode(setmetatable({}, { __jsontype = "object" })))
    assert.equal('{"a":1}', encode(setmetatable({ a = 1 }, { __jsontype = "object" })))
    local Entity = { __index = function() return "computed" end, __jsontype = nil }
    assert.equal('{"id":7}', encode(setmetatable({ id = 7 }, Entity)))
    assert.equal("{}", encode(setmetatable({}, { __index = { a = 1 } })))
    assert.equal("[1,2]", encode(setmetatable({ 1, 2 }, { __len = function() return 0 end })))
  end)

  describe("errors", function()
    local function encode_error(v)
      local ok, err = pcall(encode, v)
      assert.is_false(ok)
      return err
    end

    it("names values JSON cannot hold", function()
      assert.equal("cannot encode a function", encode_error(print))
      assert.equal("cannot encode a function", encode_error({ a = { 1, print } }))
      assert.equal("cannot encode a userdata", encode_error(io.stdout))
      assert.equal("cannot encode a thread", encode_error(coroutine.create(print)))
      assert.equal("cannot encode NaN", encode_error(0 / 0))
      assert.equal("cannot encode NaN", encode_error({ x = 0 / 0 }))
      assert.equal("cannot encode inf", encode_error(math.huge))
      assert.equal("cannot encode -inf", encode_error(-math.huge))
    end)

    it("rejects tables that are neither arrays nor objects", function()
      local mixed = "cannot encode a table with mixed or non-string keys"
      assert.equal(mixed, encode_error({ 1, 2, a = 3 }))
      assert.equal(mixed, encode_error({ a = 3, [1] = 1 }))
      assert.equal(mixed, encode_error({ [true] = 1 }))
      assert.equal(mixed, encode_error({ [1.5] = 1 }))
      assert.equal(mixed, encode_error({ [0] = 1 }))
      assert.equal(mixed, encode_error({ [-1] = 1 }))
      assert.equal(mixed, encode_error(setmetatable({ 1 }, { __jsontype = "object" })))
      assert.equal("cannot encode a sparse array (mark it with json_array_mt, holes as json_null)",
        encode_error({ [1] = 1, [3] = 3 }))
      assert.equal('invalid __jsontype "list" (expected "array" or "object")',
        encode_error(setmetatable({}, { __jsontype = "list" })))
      assert.equal('invalid __jsontype (a boolean; expected "array" or "object")',
        encode_error(setmetatable({}, { __jsontype = true })))
    end)

    it("stops at cycles", function()
      local t = {}
      t.self = t
      assert.equal("table nesting too deep (cycle?)", encode_error(t))
      local a = setmetatable({}, array_mt)
      a[1] = a
      assert.equal("table nesting too deep (cycle?)", encode_error(a))
    end)

    it("encodes 1000 levels of nesting but not 1001", function()
      local deep = {}
      local t = deep
      for _ = 1, 999 do
        t[1] = {}
        t = t[1]
      end
      assert.equal(string.rep("[", 999) .. "{}" .. string.rep("]", 999), encode(deep))
      t[1] = {}
      assert.equal("table nesting too deep (cycle?)", encode_error(deep))
    end)

    it("raises on a missing argument", function()
      assert.has_error(function() encode() end)
    end)

    it("can fail many times over (the buffer is reclaimed)", function()
      local big = {}
      for i = 1, 1000 do big[i] = string.rep("x", 100) end
      big[1001] = print
      for _ = 1, 200 do assert.is_false((pcall(encode, big))) end
      collectgarbage()
      collectgarbage()
    end)
  end)
end)

-- Random documents, decoded by both codecs. lua-cjson 2.1.0 keeps null members as cjson.null
-- (the same value as json_null), reads every number as a double and has no array metatable.
describe("differential test against lua-cjson", function()
  local seed = 1
  local function rand(n) -- Park–Miller, the same sequence on both interpreters
    seed = (seed * 16807) % 2147483647
    return seed % n + 1
  end
  local function pick(t) return t[rand(#t)] end

  local function ws()
    return pick { "", "", "", " ", "\n  ", "\t", " \r\n" }
  end

  local PIECES = { "a", "b", "Z", "0", " ", "-", "_", "é", "€", "😀", "\\n", "\\t", "\\\"", "\\\\",
    "\\/", "\\b", "\\f", "\\r", "\\u0041", "\\u00e9", "\\u20AC", "\\ud83d\\ude00", "\\u0000",
    "\\u001f", "\\uffff", "xyz", "hello world", "\xc3\xa4" }

  local function gen_string()
    local n = rand(12) - 1
    if rand(20) == 1 then n = 150 + rand(200) end
    local out = {}
    for i = 1, n do out[i] = pick(PIECES) end
    return '"' .. table.concat(out) .. '"'
  end

  local function digits(n, first_nonzero)
    local out = {}
    for i = 1, n do out[i] = tostring(rand(10) - 1) end
    if first_nonzero then out[1] = tostring(rand(9)) end
    return table.concat(out)
  end

  local function gen_number()
    local sign = rand(3) == 1 and "-" or ""
    local kind = rand(6)
    if kind == 1 then return sign .. "0" end
    local int = rand(5) == 1 and "0" or digits(rand(15), true)
    if kind == 2 then return sign .. int end
    local s = sign .. int
    if kind <= 4 or rand(2) == 1 then s = s .. "." .. digits(rand(kind == 4 and 25 or 8)) end
    if kind >= 5 then
      local e = rand(kind == 6 and 330 or 30) - 1
      s = s .. pick { "e", "E" } .. pick { "", "+", "-" } .. tostring(e)
    end
    return s
  end

  local KEYS = { '"id"', '"name"', '"a"', '"b"', '"tags"', '"k\\u00e9y"', '""', '"x y"' }

  local function gen_value(depth)
    local kind = rand(depth >= 5 and 5 or 8)
    if kind == 1 then return gen_string() end
    if kind == 2 then return gen_number() end
    if kind == 3 then return pick { "true", "false" } end
    if kind == 4 then return "null" end
    if kind == 5 then return gen_number() end
    if kind == 6 or kind == 8 then
      local parts = {}
      for i = 1, rand(6) - 1 do
        local key = rand(3) == 1 and gen_string() or pick(KEYS)
        parts[i] = ws() .. key .. ws() .. ":" .. ws() .. gen_value(depth + 1) .. ws()
      end
      return "{" .. table.concat(parts, ",") .. ws() .. "}"
    end
    local parts = {}
    for i = 1, rand(6) - 1 do parts[i] = ws() .. gen_value(depth + 1) .. ws() end
    return "[" .. table.concat(parts, ",") .. ws() .. "]"
  end

  -- ours and theirs describe the same document: arrays alike (null elements are equal values),
  -- objects alike once theirs drops its null members.
  local function agree(ours, theirs, path)
    path = path or "$"
    if path == "$" and theirs == cjson.null then -- a top-level null is nil for us
      return ours == nil, "$: top-level null"
    end
    if type(ours) ~= "table" then
      if ours ~= theirs and not (ours ~= ours and theirs ~= theirs) then
        return false, ("%s: %s vs %s"):format(path, tostring(ours), tostring(theirs))
      end
      return true
    end
    if type(theirs) ~= "table" then return false, path .. ": table vs " .. tostring(theirs) end
    if is_array(ours) then
      if #ours ~= #theirs then return false, path .. ": lengths differ" end
      for i = 1, #ours do
        local ok, err = agree(ours[i], theirs[i], path .. "[" .. i .. "]")
        if not ok then return false, err end
      end
      return true
    end
    if getmetatable(ours) ~= nil then return false, path .. ": object with a metatable" end
    for k, v in pairs(theirs) do
      if v == cjson.null then
        if ours[k] ~= nil then return false, path .. "." .. k .. ": should be absent" end
      else
        local ok, err = agree(ours[k], v, path .. "." .. k)
        if not ok then return false, err end
      end
    end
    for k in pairs(ours) do
      if theirs[k] == nil then return false, path .. "." .. k .. ": extra member" end
    end
    return true
  end

  local docs = {}
  for i = 1, 400 do docs[i] = ws() .. gen_value(0) .. ws() end

  it("decodes 400 random documents to the same structures", function()
    for i, doc in ipairs(docs) do
      local ours, err = decode(doc)
      assert(err == nil, ("doc %d: %s\n%s"):format(i, tostring(err), doc))
      local theirs = cjson.decode(doc)
      local ok, why = agree(ours, theirs)
      assert(ok, ("doc %d: %s\n%s"):format(i, tostring(why), doc))
    end
  end)

  it("re-encodes them to documents that decode to the same again", function()
    for i, doc in ipairs(docs) do
      local v = decode(doc)
      local ok, again = pcall(encode, v)
      if not ok then -- a number beyond the double range decoded to ±inf
        assert.matches("^cannot encode %-?inf$", again)
      else
        assert(same(v, decode(again)), ("doc %d:\n%s\n%s"):format(i, doc, again))
        assert(agree(decode(again), cjson.decode(again)), again)
        assert.equal(show(v), show(decode(again)))
      end
    end
  end)

  it("never raises on damaged documents, and agrees with cjson on what it accepts", function()
    local JUNK = { "", "{", "}", "[", "]", ",", ":", '"', "\\", "0", "-", ".", "e", "n", "\1",
      "\255", " ", "u" }
    local accepted = 0
    for i = 1, 2000 do
      local doc = docs[(i - 1) % #docs + 1]
      for _ = 1, rand(3) do
        local at = rand(#doc + 1) - 1
        local op = rand(3)
        if op == 1 then
          doc = doc:sub(1, at) .. doc:sub(at + 2)
        elseif op == 2 then
          doc = doc:sub(1, at) .. pick(JUNK) .. doc:sub(at + 1)
        else
          doc = doc:sub(1, at)
        end
      end
      local ok, ours, err = pcall(decode, doc)
      assert(ok, ("raised on %q: %s"):format(doc, tostring(ours)))
      if err == nil then
        accepted = accepted + 1
        local cok, theirs = pcall(cjson.decode, doc)
        if cok then
          local same_doc, why = agree(ours, theirs)
          assert(same_doc, ("%s\n%q"):format(tostring(why), doc))
        else -- cjson is stricter only about unpaired surrogates
          assert.matches("invalid unicode escape", theirs)
        end
      elseif err ~= "empty document" then
        assert.is_nil(ours)
        assert.matches(" at byte %d+", err)
      end
    end
    assert.is_true(accepted > 100)
  end)
end)
