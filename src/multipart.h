/* studioapi — multipart request bodies built with libcurl's mime API, and downloads streamed to a
 * file (multipart.c). The contract is docs/internals.md, "Multipart bodies and downloads". */
#ifndef STUDIOAPI_MULTIPART_H
#define STUDIOAPI_MULTIPART_H

#include "compat.h"
#include "core.h"

/* Called by h:perform (core.c) after its arguments were checked. When the value at idx is a
 * table (a form: the parts as the Lua layer normalised them), builds x->mime from it: raises on a
 * malformed form, opens every file part now and pushes on_progress and a slot for its error
 * above the call's stack. Returns 1 when the call can go on (also for a body that is no table:
 * a leftover body of an earlier call is freed then), else 0 with h:perform's six failure values
 * pushed: nil, "invalid_argument", message (naming the part), false, 0, nil. */
int sa_mime_build(lua_State *L, sa_transfer *x, int idx);

/* After the call (the transfer is off the multi handle): frees the body, closes its files and
 * turns on_progress off. Returns 1 with on_progress's error pushed when it raised (the caller
 * re-raises it after its own cleanup), else 0; a file that could not be read to its end leaves
 * its message in x->errbuf. */
int sa_mime_done(lua_State *L, sa_transfer *x);

/* From sa_client_release: the download transfer, and any body or file a call left behind. */
void sa_multipart_release(sa_client *c);

/* From luaopen: core.file_info on the module table at the top of the stack, and the client's
 * download method. */
void sa_multipart_open(lua_State *L);

#endif
