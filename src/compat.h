/* studioapi — the one place where Lua 5.1/LuaJIT and Lua 5.4 API differences are bridged. */
#ifndef STUDIOAPI_COMPAT_H
#define STUDIOAPI_COMPAT_H

#include <lua.h>
#include <lauxlib.h>

#endif
