/* studioapi — the one place where Lua 5.1/LuaJIT and Lua 5.4 API differences are bridged.
 *
 * The module is written against the Lua 5.4 C API. LuaJIT 2.1 already has luaL_setfuncs,
 * luaL_setmetatable, luaL_testudata, lua_tointegerx and LUA_OK, so only what it lacks is
 * added here, under the 5.4 names, and every addition is a small static inline function. */
#ifndef STUDIOAPI_COMPAT_H
#define STUDIOAPI_COMPAT_H

#include <lua.h>
#include <lauxlib.h>

#if LUA_VERSION_NUM == 501

/* LUA_LJDIR comes from LuaJIT's luaconf.h: plain Lua 5.1 lacks far more than this header adds. */
#if !defined(LUA_LJDIR)
#error "studioapi needs Lua 5.4 or LuaJIT 2.1"
#endif

#define lua_rawlen(L, i) lua_objlen(L, (i))

/* 5.4's getters return the type of the value they pushed. */
static inline int sa_compat_getfield(lua_State *L, int idx, const char *k) {
  lua_getfield(L, idx, k);
  return lua_type(L, -1);
}
#define lua_getfield sa_compat_getfield

static inline int sa_compat_rawget(lua_State *L, int idx) {
  lua_rawget(L, idx);
  return lua_type(L, -1);
}
#define lua_rawget sa_compat_rawget

static inline int sa_compat_rawgeti(lua_State *L, int idx, int n) {
  lua_rawgeti(L, idx, n);
  return lua_type(L, -1);
}
#define lua_rawgeti sa_compat_rawgeti

static inline int sa_compat_absindex(lua_State *L, int idx) {
  return (idx > 0 || idx <= LUA_REGISTRYINDEX) ? idx : lua_gettop(L) + idx + 1;
}
#define lua_absindex sa_compat_absindex

/* A number is an integer on 5.1 when it has an integral value that fits lua_Integer. */
static inline int sa_compat_isinteger(lua_State *L, int idx) {
  if (lua_type(L, idx) == LUA_TNUMBER) {
    lua_Number n = lua_tonumber(L, idx);
    return n == (lua_Number)(lua_Integer)n;
  }
  return 0;
}
#define lua_isinteger sa_compat_isinteger

/* User values: 5.1 gives every userdata one environment table, which holds the values at
 * indices 1..nuv. A fresh table per userdata, since the default environment is shared. */
static inline void *sa_compat_newuserdatauv(lua_State *L, size_t size, int nuv) {
  void *p = lua_newuserdata(L, size);
  lua_createtable(L, nuv > 0 ? nuv : 0, 0);
  lua_setfenv(L, -2);
  return p;
}
#define lua_newuserdatauv sa_compat_newuserdatauv

/* Pushes user value n of the userdata at idx and returns its type (nil when never set). */
static inline int sa_compat_getiuservalue(lua_State *L, int idx, int n) {
  lua_getfenv(L, idx);
  lua_rawgeti(L, -1, n);
  lua_remove(L, -2);
  return lua_type(L, -1);
}
#define lua_getiuservalue sa_compat_getiuservalue

/* Pops a value and stores it as user value n of the userdata at idx. */
static inline int sa_compat_setiuservalue(lua_State *L, int idx, int n) {
  idx = sa_compat_absindex(L, idx);
  lua_getfenv(L, idx);
  lua_insert(L, -2);
  lua_rawseti(L, -2, n);
  lua_pop(L, 1);
  return 1;
}
#define lua_setiuservalue sa_compat_setiuservalue

#elif LUA_VERSION_NUM != 504
#error "studioapi needs Lua 5.4 or LuaJIT 2.1"
#endif

#endif
