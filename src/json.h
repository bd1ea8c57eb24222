/* studioapi — JSON codec (json.c): decode straight into Lua tables, encode them back. */
#ifndef STUDIOAPI_JSON_H
#define STUDIOAPI_JSON_H

#include <stddef.h>
#include "compat.h"

/* Registry name of the metatable every decoded array carries (core.json_array_mt). It is created
 * once per lua_State, so every load of the module shares it. */
#define SA_JSON_ARRAY_MT "studioapi.json.array"

/* Nesting limit of both directions (arrays and objects count alike). */
#define SA_JSON_MAX_DEPTH 1000

/* Adds json_decode, json_encode, json_array_mt and json_null to the table on top of the stack. */
void sa_json_open(lua_State *L);

/* Decodes len bytes at s and pushes the value; on malformed input pushes nil and a message and
 * returns 0 (1 on success). Never raises except on memory errors. s need not be NUL-terminated
 * and must stay valid (and unchanged) during the call. A top-level null pushes nil and returns 1.
 * Needs sa_json_open to have run in this lua_State. */
int sa_json_push(lua_State *L, const char *s, size_t len);

/* sa_json_push with a plan: plan and mts are stack slots (0 or a slot without a table: none).
 * A plan node is a table {schema = <key>, fields = {<member> = <node>}, items = <node>}: the node
 * applies to the value where it stands (the root for `plan`); an object under a node whose schema
 * is set gets metatables[schema] (an ordinary index, so __index may make it) when that is a
 * table; fields gives an object's members their nodes, items every element of an array. The
 * metatables are set as the objects are made: no second walk. Raises what an __index raises. */
int sa_json_push_plan(lua_State *L, const char *s, size_t len, int plan, int mts);

#endif
