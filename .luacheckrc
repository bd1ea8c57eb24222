-- luacheck: the sources target Lua 5.4 and LuaJIT (5.1 API) alike: check against their common globals.
std = "lua54+luajit"
max_line_length = 100
codes = true

files["spec/"] = { std = "+busted" }
files["sandbox/lua/"] = { globals = { "ngx" } }
files["sandbox/"] = { read_globals = { "ngx" } }
