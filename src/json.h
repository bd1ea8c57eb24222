/* studioapi — JSON codec (json.c): decode straight into Lua tables, encode them back. */
#ifndef STUDIOAPI_JSON_H
#define STUDIOAPI_JSON_H

#include <stddef.h>
#include "compat.h"

/* Adds json_decode, json_encode, json_array_mt and json_null to the table on top of the stack. */
void sa_json_open(lua_State *L);

/* Decodes len bytes at s and pushes the value; on malformed input pushes nil and a message and
 * returns 0 (1 on success). Never raises except on memory errors. */
int sa_json_push(lua_State *L, const char *s, size_t len);

#endif
