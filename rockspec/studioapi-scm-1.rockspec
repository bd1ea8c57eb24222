rockspec_format = "3.0"
package = "studioapi"
version = "scm-1"

source = {
  url = "git+https://git.example.com/studioapi/studioapi.git",
}

description = {
  summary = "Lua client for the Open API of the studio platform",
  detailed = [[
    A C module (libcurl: keep-alive HTTPS, retries, rate limiting, multipart) under a small Lua
    layer (options, errors, pagination, entities). Runs on Lua 5.4 and LuaJIT / OpenResty.
  ]],
  homepage = "https://studioapi.example.com",
}

dependencies = {
  "lua >= 5.1",
}

external_dependencies = {
  CURL = { header = "curl/curl.h", library = "curl" },
}

build = {
  type = "builtin",
  modules = {
    ["studioapi.core"] = {
      sources = { "src/core.c", "src/transport.c", "src/json.c", "src/retry.c", "src/ratelimit.c",
                  "src/multipart.c" },
      libraries = { "curl" },
      incdirs = { "$(CURL_INCDIR)" },
      libdirs = { "$(CURL_LIBDIR)" },
    },
    ["studioapi"] = "lua/studioapi/init.lua",
    ["studioapi.api"] = "lua/studioapi/api.lua",
    ["studioapi.entity"] = "lua/studioapi/entity.lua",
    ["studioapi.errors"] = "lua/studioapi/errors.lua",
    ["studioapi.json"] = "lua/studioapi/json.lua",
    ["studioapi.language"] = "lua/studioapi/language.lua",
    ["studioapi.operations"] = "lua/studioapi/operations.lua",
    ["studioapi.options"] = "lua/studioapi/options.lua",
    ["studioapi.pager"] = "lua/studioapi/pager.lua",
    ["studioapi.params"] = "lua/studioapi/params.lua",
    ["studioapi.resources"] = "lua/studioapi/resources.lua",
    ["studioapi.upload"] = "lua/studioapi/upload.lua",
    ["studioapi.webhook"] = "lua/studioapi/webhook.lua",
  },
}

test_dependencies = { "busted" }
test = { type = "busted" }
