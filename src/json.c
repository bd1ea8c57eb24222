/* Placeholder until the codec lands: keeps the module linkable. */
#include "json.h"

void sa_json_open(lua_State *L) { (void)L; }

int sa_json_push(lua_State *L, const char *s, size_t len) {
  (void)s; (void)len;
  lua_pushnil(L);
  lua_pushliteral(L, "json codec not built yet");
  return 0;
}
