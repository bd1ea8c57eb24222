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

/* Size hints: the sizes of the last object and array seen at a depth (see json.c). A lazy array's
 * elements are decoded one at a time with the hints its owner keeps. */
#define SA_JSON_HINT_LEVELS 32
typedef struct sa_json_shape {
  int obj, arr;
} sa_json_shape;

/* What stands in for a lazy array (see sa_json_push_plan): push pushes one value in its place;
 * [start, end) are the array's bytes ('[' to ']'), already checked as the decoder reads them,
 * count its elements, node and mts the slots of its plan node and of the metatables (0: none). */
typedef struct sa_json_lazy sa_json_lazy;
struct sa_json_lazy {
  void (*push)(lua_State *L, sa_json_lazy *self, size_t start, size_t end, int count, int node,
               int mts);
};

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
 * metatables are set as the objects are made: no second walk. Raises what an __index raises.
 * With lazy (else NULL), an array that is a member of the root object and whose node says
 * `lazy = true` is checked and counted but not made: lazy->push gives the member's value. */
int sa_json_push_plan(lua_State *L, const char *s, size_t len, int plan, int mts,
                      sa_json_lazy *lazy);

/* A lazy array's elements: decodes the one at s[*pos] (white space first) with plan node `node`
 * and metatables `mts` (slots, 0: none) and pushes it, moving *pos past it and its ','; returns
 * 1, or 0 with nil and a message pushed. hints: SA_JSON_HINT_LEVELS + 1 of them, kept by the
 * caller from one element to the next (zeroed at first). */
int sa_json_push_next(lua_State *L, const char *s, size_t len, size_t *pos, int node, int mts,
                      sa_json_shape *hints);

/* Like sa_json_push_next for n elements, stored at t[1..n] (t a slot): returns n, or -1 with nil
 * and a message pushed (the elements before the bad one are stored, *pos is past them). */
int sa_json_fill(lua_State *L, const char *s, size_t len, size_t *pos, int n, int t, int node,
                 int mts, sa_json_shape *hints);

/* Moves *pos past n elements (and their commas) without making them; pushes true, or nil and a
 * message (returning 0). */
int sa_json_skip_next(lua_State *L, const char *s, size_t len, size_t *pos, int n);

#endif
