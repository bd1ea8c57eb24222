local language = require "studioapi.language"

describe("studioapi.language.normalize()", function()
  it("keeps a supported language", function()
    assert.equal("de", language.normalize("de"))
    assert.equal("tr", language.normalize("tr"))
  end)

  it("keeps a supported regional variant, in canonical case", function()
    assert.equal("de-CH", language.normalize("de-CH"))
    assert.equal("de-CH", language.normalize("DE-ch"))
    assert.equal("en-GB", language.normalize("en_GB"))
    assert.equal("fr-LU", language.normalize("fr-lu"))
  end)

  it("falls back from an unknown region to its language", function()
    assert.equal("de", language.normalize("de-LU"))
    assert.equal("fr", language.normalize("fr-CA"))
    assert.equal("en", language.normalize("en-IE"))
  end)

  it("falls back from an unsupported language to English", function()
    assert.equal("en", language.normalize("pt-BR"))
    assert.equal("en", language.normalize("ja"))
  end)

  it("rejects malformed tags with an invalid_argument error", function()
    for _, bad in ipairs { "de\r\nX: y", "", "de-", "-de", "d e", "de--CH", "12", "*",
                           "de-CHXXXXXXXXX", ("x"):rep(40), "de\0" } do
      local tag, err = language.normalize(bad)
      assert.is_nil(tag, bad)
      assert.equal("invalid_argument", err.code)
      assert.truthy(err.message:find("malformed language tag", 1, true))
    end
  end)

  it("rejects non-strings", function()
    local tag, err = language.normalize(42)
    assert.is_nil(tag)
    assert.equal("invalid_argument", err.code)
  end)
end)

describe("studioapi.language.supported", function()
  it("lists the API's 15 languages and 6 variants", function()
    assert.equal(15, #language.supported)
    assert.equal(15, #language.supported.languages)
    assert.same({ "de-CH", "de-LI", "en-CA", "en-GB", "en-US", "fr-LU" },
                language.supported.variants)
    for _, tag in ipairs(language.supported) do
      assert.equal(tag, language.normalize(tag))
    end
  end)
end)
