/* studioapi — multipart/form-data bodies (libcurl's mime API) and downloads to a file.
 * The contract is docs/internals.md, "Multipart bodies and downloads".
 *
 * A body is built from the form the Lua layer hands to h:perform: an array of parts, each
 * { name, path | content, filename?, content_type? }, plus an optional on_progress function.
 * Every part is a curl_mime_data_cb part reading from a source owned by the transfer: a file
 * opened when the body is built (so a missing file fails before any byte is sent, and a file
 * part is streamed in libcurl's upload-buffer pieces, never loaded whole) or the bytes of a Lua
 * string anchored in the form for the whole call. libcurl rewinds a mime body before each send
 * through the seek callback, so a retry sends the same bytes from the start.
 *
 * on_progress(sent, total) runs from libcurl's XFERINFO callback through lua_pcall: an error
 * aborts the transfer (a non-zero return), is kept in a stack slot and raised by h:perform only
 * after libcurl returned and everything was cleaned up. Never a longjmp through libcurl. */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "multipart.h"
#include "retry.h"

#define CLIENT_MT "studioapi.Client"

/* Bytes core.file_info reads from the start of a file: enough for every magic number we check. */
#define HEAD_BYTES 16
/* A download's error body (not 2xx) is kept up to this size; the rest is dropped. */
#define ERROR_BODY_MAX ((size_t)1 << 20)

/* ---------------------------------------------------------------- part sources */

struct sa_upload;

/* Where one part's bytes come from: an open file or a Lua string's bytes. */
typedef struct part_src {
  struct sa_upload *up;
  FILE *f;          /* a file part, or NULL */
  const char *mem;  /* a content part: the bytes of a string anchored in the form */
  const char *name; /* the part's name (anchored in the form too), for messages */
  curl_off_t size, pos;
} part_src;

typedef struct sa_upload {
  sa_transfer *x;
  lua_State *L;
  int fn, err;           /* stack slots of on_progress (0: none) and of its error */
  int raised;            /* on_progress raised: its error is in slot err */
  const char *failed;    /* the part whose file could not be read to its end, or NULL */
  curl_off_t now, total; /* what on_progress was last told */
  int n;                 /* parts opened so far */
  part_src part[];
} sa_upload;

/* CURLOPT_READFUNCTION of a part. A file that gives fewer bytes than it had when the body was
 * built aborts the transfer: a short part must never go out as if it were complete. */
static size_t read_part(char *buf, size_t size, size_t nitems, void *arg) {
  part_src *s = arg;
  size_t want = size * nitems, got;
  if (s->pos >= s->size) return 0;
  if ((curl_off_t)want > s->size - s->pos) want = (size_t)(s->size - s->pos);
  if (s->f == NULL) {
    memcpy(buf, s->mem + s->pos, want);
    got = want;
  } else if ((got = fread(buf, 1, want, s->f)) == 0) {
    s->up->failed = s->name;
    s->up->x->aborted = 1; /* not retried: the file would be short again */
    return CURL_READFUNC_ABORT;
  }
  s->pos += (curl_off_t)got;
  return got;
}

/* The seek callback libcurl rewinds a part with before a send (offset 0, SEEK_SET). */
static int seek_part(void *arg, curl_off_t offset, int origin) {
  part_src *s = arg;
  if (origin != SEEK_SET || offset < 0 || offset > s->size) return CURL_SEEKFUNC_CANTSEEK;
  if (s->f != NULL && fseeko(s->f, (off_t)offset, SEEK_SET) != 0) return CURL_SEEKFUNC_FAIL;
  s->pos = offset;
  return CURL_SEEKFUNC_OK;
}

/* CURLOPT_XFERINFOFUNCTION: calls on_progress(sent, total) when either changed, through
 * lua_pcall. The stack has room: sa_mime_build reserved it, and nothing else pushes while
 * libcurl runs. A non-zero return aborts the transfer (CURLE_ABORTED_BY_CALLBACK). */
static int on_xferinfo(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow) {
  sa_upload *u = ud;
  lua_State *L = u->L;
  (void)dltotal, (void)dlnow;
  if (u->raised) return 1;
  if (ulnow == u->now && ultotal == u->total) return 0;
  u->now = ulnow;
  u->total = ultotal;
  lua_pushvalue(L, u->fn);
  lua_pushinteger(L, (lua_Integer)ulnow);
  lua_pushinteger(L, (lua_Integer)ultotal);
  if (lua_pcall(L, 2, 0, 0) == LUA_OK) return 0;
  lua_replace(L, u->err); /* kept until h:perform raises it */
  u->raised = 1;
  u->x->aborted = 1; /* the caller's own function failed: no retry */
  return 1;
}

/* Unbinds and frees x's body, closes its files, turns progress off. Idempotent. Unbinding first:
 * the easy handle must not point at a freed mime. */
static void free_body(sa_transfer *x) {
  sa_upload *u = x->upload;
  int i;
  if (x->mime != NULL) {
    if (x->easy != NULL) curl_easy_setopt(x->easy, CURLOPT_MIMEPOST, (curl_mime *)NULL);
    curl_mime_free(x->mime);
    x->mime = NULL;
  }
  if (u != NULL) {
    if (u->fn != 0 && x->easy != NULL) {
      curl_easy_setopt(x->easy, CURLOPT_NOPROGRESS, 1L);
      curl_easy_setopt(x->easy, CURLOPT_XFERINFOFUNCTION, (curl_xferinfo_callback)NULL);
    }
    for (i = 0; i < u->n; i++)
      if (u->part[i].f != NULL) fclose(u->part[i].f);
    free(u);
    x->upload = NULL;
  }
}

/* ---------------------------------------------------------------- the form */

static int has_control(const char *s, size_t len) {
  size_t i;
  for (i = 0; i < len; i++)
    if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) return 1;
  return 0;
}

/* Pushes the field `key` of the part table at `part` (part i of the form at `form`) and returns
 * it; raises unless it is a string (or nil, when optional) that is not empty and has no control
 * characters (content may hold any byte). The form comes from the Lua layer, which checked the
 * caller's input already: these are programming mistakes. */
static const char *part_field(lua_State *L, int form, int part, int i, const char *key, size_t *len,
                              int required, int any_byte) {
  size_t n;
  const char *s;
  lua_pushstring(L, key);
  if (lua_rawget(L, part) == LUA_TNIL && !required) return NULL;
  if (lua_type(L, -1) != LUA_TSTRING)
    luaL_argerror(
        L, form,
        lua_pushfstring(L, "part %d: '%s' must be a string, got %s", i, key, luaL_typename(L, -1)));
  s = lua_tolstring(L, -1, &n);
  if (!any_byte && (n == 0 || has_control(s, n)))
    luaL_argerror(L, form,
                  lua_pushfstring(L,
                                  "part %d: '%s' must be a non-empty string without "
                                  "control characters",
                                  i, key));
  if (len != NULL) *len = n;
  return s;
}

/* The fields of part i (the table at the top): 5 values pushed. */
typedef struct part_desc {
  const char *name, *path, *content, *filename, *type;
  size_t content_len;
} part_desc;

static void read_part_desc(lua_State *L, int form, int i, part_desc *p) {
  int part = lua_gettop(L);
  if (!lua_istable(L, part))
    luaL_argerror(L, form, lua_pushfstring(L, "part %d must be a table", i));
  p->name = part_field(L, form, part, i, "name", NULL, 1, 0);
  p->path = part_field(L, form, part, i, "path", NULL, 0, 0);
  p->content = part_field(L, form, part, i, "content", &p->content_len, 0, 1);
  p->filename = part_field(L, form, part, i, "filename", NULL, 0, 0);
  p->type = part_field(L, form, part, i, "content_type", NULL, 0, 0);
  if ((p->path == NULL) == (p->content == NULL))
    luaL_argerror(L, form, lua_pushfstring(L, "part %d needs either path or content", i));
}

/* Checks the whole form before anything is allocated, so a raise leaves nothing behind.
 * Returns the number of parts. */
static int check_form(lua_State *L, int form) {
  int i, n = (int)lua_rawlen(L, form), top = lua_gettop(L);
  part_desc p;
  if (n == 0) luaL_argerror(L, form, "a multipart body needs at least one part");
  for (i = 1; i <= n; i++) {
    lua_rawgeti(L, form, i);
    read_part_desc(L, form, i, &p);
    lua_settop(L, top);
  }
  lua_pushliteral(L, "on_progress");
  lua_rawget(L, form);
  if (!lua_isnil(L, -1) && !lua_isfunction(L, -1))
    luaL_argerror(
        L, form,
        lua_pushfstring(L, "on_progress must be a function, got %s", luaL_typename(L, -1)));
  lua_settop(L, top);
  return n;
}

/* Opens a file part: a regular file, read from now on through its own FILE (the size is taken
 * now: the part's length is announced before its bytes). O_NONBLOCK: a FIFO must not hang the
 * open. Returns NULL or why not. */
static const char *open_part(part_src *s, const char *path) {
  struct stat st;
  int fd = open(path, O_RDONLY | O_NONBLOCK);
  if (fd < 0) return strerror(errno);
  if (fstat(fd, &st) != 0) {
    int e = errno;
    close(fd);
    return strerror(e);
  }
  if (!S_ISREG(st.st_mode)) {
    close(fd);
    return "not a regular file";
  }
  if ((s->f = fdopen(fd, "rb")) == NULL) {
    int e = errno;
    close(fd);
    return strerror(e);
  }
  s->size = (curl_off_t)st.st_size;
  return NULL;
}

/* Adds part i (the table at the top) to the mime and pops it. Returns 0 with a message pushed
 * when its file cannot be opened; raises on no memory (all that exists is owned by x). */
static int add_part(lua_State *L, sa_upload *u, int form, int i) {
  part_src *s = &u->part[u->n];
  int top = lua_gettop(L) - 1;
  curl_mimepart *part;
  const char *why;
  part_desc p;
  int ok;
  read_part_desc(L, form, i, &p);
  s->up = u;
  s->name = p.name;
  s->mem = p.content;
  s->size = (curl_off_t)p.content_len;
  if (p.path != NULL && (why = open_part(s, p.path)) != NULL) {
    lua_pushfstring(L, "part '%s': cannot read %s: %s", p.name, p.path, why);
    return 0;
  }
  u->n++;
  ok = (part = curl_mime_addpart(u->x->mime)) != NULL && curl_mime_name(part, p.name) == CURLE_OK &&
       curl_mime_data_cb(part, s->size, read_part, seek_part, NULL, s) == CURLE_OK &&
       (p.filename == NULL || curl_mime_filename(part, p.filename) == CURLE_OK) &&
       (p.type == NULL || curl_mime_type(part, p.type) == CURLE_OK);
  if (!ok) luaL_error(L, "studioapi: not enough memory for a multipart body");
  lua_settop(L, top);
  return 1;
}

int sa_mime_build(lua_State *L, sa_transfer *x, int idx) {
  sa_upload *u;
  int i, n, fn = 0, err;
  free_body(x); /* what an earlier call left when it raised half-way */
  if (!lua_istable(L, idx)) return 1;
  idx = lua_absindex(L, idx);
  n = check_form(L, idx);
  luaL_checkstack(L, 8, "studioapi: no stack space for on_progress");
  lua_pushliteral(L, "on_progress");
  if (lua_rawget(L, idx) == LUA_TFUNCTION) fn = lua_gettop(L);
  lua_pushnil(L);
  err = lua_gettop(L);
  if ((u = calloc(1, sizeof *u + (size_t)n * sizeof u->part[0])) == NULL)
    return luaL_error(L, "studioapi: not enough memory for a multipart body");
  x->upload = u;
  u->x = x;
  u->L = L;
  u->fn = fn;
  u->err = err;
  if ((x->mime = curl_mime_init(x->easy)) == NULL)
    return luaL_error(L, "studioapi: not enough memory for a multipart body");
  for (i = 1; i <= n; i++) {
    lua_rawgeti(L, idx, i);
    if (!add_part(L, u, idx, i)) { /* the message is at the top: perform returns the top 6 */
      free_body(x);
      lua_pushnil(L);
      lua_pushliteral(L, "invalid_argument");
      lua_pushvalue(L, -3);
      lua_pushboolean(L, 0);
      lua_pushinteger(L, 0);
      lua_pushnil(L);
      return 0;
    }
  }
  if (fn != 0 && (curl_easy_setopt(x->easy, CURLOPT_XFERINFOFUNCTION, on_xferinfo) != CURLE_OK ||
                  curl_easy_setopt(x->easy, CURLOPT_XFERINFODATA, (void *)u) != CURLE_OK ||
                  curl_easy_setopt(x->easy, CURLOPT_NOPROGRESS, 0L) != CURLE_OK))
    return luaL_error(L, "studioapi: cannot set the progress callback");
  return 1;
}

int sa_mime_done(lua_State *L, sa_transfer *x) {
  sa_upload *u = x->upload;
  int raised;
  if (u == NULL) return 0;
  raised = u->raised;
  if (raised)
    lua_pushvalue(L, u->err);
  else if (u->failed != NULL) /* libcurl's text says only "aborted by callback" */
    snprintf(x->errbuf, sizeof x->errbuf,
             "part '%s': the file became shorter while it was sent; the upload was aborted",
             u->failed);
  free_body(x);
  return raised;
}

/* ---------------------------------------------------------------- core.file_info */

/* core.file_info(path) -> size, head (its first 16 bytes) | nil, message. For the Lua layer's
 * checks before an upload: a regular file that can be opened and read. Never blocks on a FIFO. */
static int core_file_info(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  char head[HEAD_BYTES];
  struct stat st;
  ssize_t got;
  int fd = open(path, O_RDONLY | O_NONBLOCK), e;
  if (fd < 0) goto failed;
  if (fstat(fd, &st) != 0) goto failed_fd;
  if (!S_ISREG(st.st_mode)) {
    close(fd);
    lua_pushnil(L);
    lua_pushliteral(L, "not a regular file");
    return 2;
  }
  do
    got = read(fd, head, sizeof head);
  while (got < 0 && errno == EINTR);
  if (got < 0) goto failed_fd;
  close(fd);
  lua_pushinteger(L, (lua_Integer)st.st_size);
  lua_pushlstring(L, head, (size_t)got);
  return 2;
failed_fd:
  e = errno;
  close(fd);
  errno = e;
failed:
  lua_pushnil(L);
  lua_pushstring(L, strerror(errno));
  return 2;
}

/* ---------------------------------------------------------------- downloads */

/* The download transfer and the temporary file its body goes to before the rename. */
typedef struct sa_download {
  sa_transfer x; /* first: c->download points here */
  int write_errno;
  char tmp[PATH_MAX + 8];
} sa_download;

/* CURLOPT_WRITEFUNCTION of downloads: a 2xx body goes to the file, written from its start by
 * each attempt (x->sunk is reset per attempt); anything else (an error body, or a download
 * into memory) to x->body. Never calls Lua. */
static size_t on_download(char *p, size_t size, size_t nmemb, void *ud) {
  sa_download *d = ud;
  sa_transfer *x = &d->x;
  size_t n = size * nmemb;
  long status = 0;
  curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
  if (x->sink != NULL && status >= 200 && status < 300) {
    if ((x->sunk == 0 && fseeko(x->sink, 0, SEEK_SET) != 0) || fwrite(p, 1, n, x->sink) != n) {
      d->write_errno = errno ? errno : EIO;
      x->aborted = 1; /* a full disk: trying again will not help */
      return 0;
    }
    x->sunk += (curl_off_t)n;
    return n;
  }
  if (x->sink != NULL && x->body.len + n > ERROR_BODY_MAX) return n;
  if (sa_buf_append(&x->body, p, n)) return n;
  x->nomem = 1;
  return 0;
}

/* The download transfer of c, made on first use: the slot settings of every transfer, plus its
 * own write callback. Reuses the client's multi handle, so its connections too. */
static sa_download *download_transfer(lua_State *L, sa_client *c) {
  sa_download *d = (sa_download *)c->download;
  if (d != NULL) return d;
  if ((d = calloc(1, sizeof *d)) == NULL) luaL_error(L, "studioapi: not enough memory");
  c->download = &d->x;
  if (!sa_transfer_prepare(c, &d->x) ||
      curl_easy_setopt(d->x.easy, CURLOPT_WRITEFUNCTION, on_download) != CURLE_OK ||
      curl_easy_setopt(d->x.easy, CURLOPT_WRITEDATA, (void *)d) != CURLE_OK)
    luaL_error(L, "studioapi: cannot create a libcurl handle");
  return d;
}

/* scheme, host and port of a URL; 0 when it is not http(s)://host[:port]... with a plain
 * authority (no credentials, no backslash). */
typedef struct origin {
  int secure;
  const char *host;
  size_t host_len, end; /* end: where the authority ends (the path starts) */
  long port;
} origin;

static int parse_origin(const char *url, origin *o) {
  const char *p, *a;
  size_t n;
  if (strncasecmp(url, "https://", 8) == 0)
    o->secure = 1, o->port = 443, a = url + 8;
  else if (strncasecmp(url, "http://", 7) == 0)
    o->secure = 0, o->port = 80, a = url + 7;
  else
    return 0;
  n = strcspn(a, "/?#");
  if (memchr(a, '@', n) != NULL || memchr(a, '\\', n) != NULL) return 0;
  o->host = a;
  p = a;
  if (*p == '[') {
    while (p < a + n && *p != ']')
      p++;
    if (p == a + n) return 0;
    p++;
  } else
    while (p < a + n && *p != ':')
      p++;
  o->host_len = (size_t)(p - a);
  if (o->host_len == 0) return 0;
  if (p < a + n) { /* ":port", maybe empty */
    char *stop;
    if (p + 1 < a + n) {
      o->port = strtol(p + 1, &stop, 10);
      if (stop != a + n || o->port < 1 || o->port > 65535 || p[1] < '0' || p[1] > '9') return 0;
    }
  }
  o->end = (size_t)(a - url) + n;
  return 1;
}

static int same_origin(const origin *a, const origin *b) {
  return a->secure == b->secure && a->port == b->port && a->host_len == b->host_len &&
         strncasecmp(a->host, b->host, a->host_len) == 0;
}

/* The header list of a download: the prepared ones, with the key only for the base URL's own
 * origin (never for another host: a signed URL needs none, and the key is a credential), and
 * any media type accepted. */
static void download_headers(lua_State *L, sa_client *c, sa_transfer *x, int with_key) {
  const struct curl_slist *p;
  curl_slist_free_all(x->extra);
  x->extra = NULL;
  for (p = c->headers; p != NULL; p = p->next) {
    const char *line = p->data;
    struct curl_slist *l;
    if (strncasecmp(line, "x-api-key:", 10) == 0 && !with_key) continue;
    if (strncasecmp(line, "Accept:", 7) == 0) line = "Accept: */*";
    if ((l = curl_slist_append(x->extra, line)) == NULL)
      luaL_error(L, "studioapi: not enough memory");
    x->extra = l;
  }
}

/* The value of the content-type header in the transfer's "name:value\n" lines, pushed (or nil). */
static void push_content_type(lua_State *L, const sa_buf *h) {
  const char *p = h->data, *end = p + h->len;
  static const char name[] = "content-type:";
  while (p != NULL && p < end) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    if (nl == NULL) break;
    if ((size_t)(nl - p) >= sizeof name - 1 && memcmp(p, name, sizeof name - 1) == 0) {
      lua_pushlstring(L, p + sizeof name - 1, (size_t)(nl - p) - (sizeof name - 1));
      return;
    }
    p = nl + 1;
  }
  lua_pushnil(L);
}

/* Ends the file of a download: on a 2xx the temporary file becomes `path` (cut to what the last
 * attempt wrote), otherwise it is removed, so `path` is either complete or untouched. Returns
 * NULL or why the file could not be finished. */
static const char *finish_file(sa_download *d, const char *path, int ok) {
  sa_transfer *x = &d->x;
  const char *why = NULL;
  if (x->sink == NULL) return NULL;
  if (ok && (fflush(x->sink) != 0 || ftruncate(fileno(x->sink), (off_t)x->sunk) != 0))
    why = strerror(errno);
  if (fclose(x->sink) != 0 && ok && why == NULL) why = strerror(errno);
  x->sink = NULL;
  if (ok && why == NULL && rename(d->tmp, path) != 0) why = strerror(errno);
  if (!ok || why != NULL) unlink(d->tmp);
  d->tmp[0] = '\0';
  return why;
}

/* Opens the temporary file next to path (mode 0600: documents are personal data). */
static const char *open_sink(sa_download *d, const char *path) {
  int fd;
  if (strlen(path) + 8 > sizeof d->tmp) return strerror(ENAMETOOLONG);
  strcpy(d->tmp, path);
  strcat(d->tmp, ".XXXXXX");
  if ((fd = mkstemp(d->tmp)) < 0) {
    d->tmp[0] = '\0';
    return strerror(errno);
  }
  if ((d->x.sink = fdopen(fd, "wb")) == NULL) {
    int e = errno;
    close(fd);
    unlink(d->tmp);
    d->tmp[0] = '\0';
    return strerror(e);
  }
  return NULL;
}

static int push_download_failure(lua_State *L, const char *kind, const char *message, int sent,
                                 int attempts, double retry_after) {
  lua_pushnil(L);
  lua_pushstring(L, kind);
  lua_pushstring(L, message);
  lua_pushboolean(L, sent);
  lua_pushinteger(L, attempts);
  if (retry_after >= 0)
    lua_pushnumber(L, retry_after);
  else
    lua_pushnil(L);
  return 6;
}

/* Fills the call for a GET of url (checked by the caller) and pushes its base (4), target (5)
 * and the hook runner (6). Same origin as the base URL: the key goes along, and the limiter
 * counts the path as the API's; another host: no key, and one limiter entry per host. */
static void prepare_download(lua_State *L, sa_client *c, sa_download *d, sa_call *k,
                             const char *url) {
  origin mine, theirs;
  const char *base;
  size_t blen;
  int same;
  lua_getiuservalue(L, 1, SA_UV_BASE_URL);
  base = lua_tolstring(L, -1, &blen);
  if (!parse_origin(url, &theirs)) luaL_argerror(L, 2, "not an http(s) URL with a plain host");
  same = parse_origin(base, &mine) && same_origin(&mine, &theirs);
  download_headers(L, c, &d->x, same);
  if (same && strncmp(url, base, blen) == 0 && url[blen] == '/') {
    lua_pushstring(L, url + blen); /* 5: the target as perform would name it */
  } else {
    lua_pop(L, 1);
    lua_pushlstring(L, url, theirs.end); /* 4: the origin is the base */
    if (same)
      lua_pushstring(L, url[theirs.end] == '/' ? url + theirs.end : "/");
    else
      lua_pushliteral(L, "/*"); /* another host: not the API's endpoints, nor its paths */
  }
  lua_pushcfunction(L, sa_call_hook_runner); /* 6 */
  memset(k, 0, sizeof *k);
  k->L = L;
  k->client_idx = 1;
  k->runner_idx = 6;
  k->c = c;
  k->x = &d->x;
  k->method = "GET";
  k->url = url;
  k->base = lua_tostring(L, 4);
  k->target = lua_tostring(L, 5);
  k->headers = d->x.extra;
  k->idempotent = 1;
}

/* h:download(url, path) -> status, body, content_type, attempts, retry_after
 *                        | nil, kind, message, sent, attempts, retry_after
 * A GET of an absolute URL under the client's retry policy. With a path, a 2xx body is streamed
 * into a temporary file next to it that replaces path at the end (body is then ""); without one,
 * or for any other status, the body comes back as a string. */
static int client_download(lua_State *L) {
  sa_client *c = luaL_checkudata(L, 1, CLIENT_MT);
  size_t ulen;
  const char *url = luaL_checklstring(L, 2, &ulen), *path = luaL_optstring(L, 3, NULL), *why;
  sa_download *d;
  sa_transfer *x;
  sa_call k;
  int st, ok, n;
  if (c->multi == NULL) return luaL_error(L, "attempt to use a closed " CLIENT_MT);
  if (c->busy) return luaL_error(L, "a " CLIENT_MT " cannot be used from its own callbacks");
  lua_settop(L, 3);
  if (has_control(url, ulen) || memchr(url, ' ', ulen) != NULL)
    luaL_argerror(L, 2, "the URL must not hold spaces or control characters");
  d = download_transfer(L, c);
  x = &d->x;
  prepare_download(L, c, d, &k, url);
  if (path != NULL && (why = open_sink(d, path)) != NULL) {
    lua_pushfstring(L, "cannot write next to %s: %s", path, why);
    return push_download_failure(L, "invalid_argument", lua_tostring(L, -1), 0, 0, -1);
  }
  d->write_errno = 0;
  c->busy = 1;
  st = sa_call_run(&k);
  c->busy = 0;
  curl_slist_free_all(x->extra);
  curl_slist_free_all(x->retry);
  x->extra = x->retry = NULL;
  ok = st == SA_CALL_DONE && k.rc == CURLE_OK && k.status >= 200 && k.status < 300;
  why = finish_file(d, path, ok);
  if (x->nomem) {
    sa_transfer_finish(x);
    return luaL_error(L, "studioapi: not enough memory for the response");
  }
  if (st == SA_CALL_RAISED) return sa_transfer_finish(x), lua_error(L);
  if (st == SA_CALL_NOMEM) return sa_transfer_finish(x), luaL_error(L, "studioapi: no memory");
  if (st == SA_CALL_REFUSED) {
    sa_transfer_finish(x);
    lua_pushfstring(L, "%s: %s", k.endpoint, k.refusal);
    return push_download_failure(L, "rate_limited", lua_tostring(L, -1), k.maybe_sent, k.attempts,
                                 k.retry_after);
  }
  if (k.rc != CURLE_OK) {
    sa_failure f;
    sa_transfer_classify(x, k.rc, &f);
    if (d->write_errno != 0) f.message = strerror(d->write_errno), f.kind = "io";
    n = push_download_failure(L, f.kind, f.message, k.maybe_sent, k.attempts, k.retry_after);
    sa_transfer_finish(x);
    return n;
  }
  if (why != NULL) {
    sa_transfer_finish(x);
    lua_pushfstring(L, "cannot write %s: %s", path, why);
    return push_download_failure(L, "io", lua_tostring(L, -1), 1, k.attempts, -1);
  }
  lua_pushinteger(L, (lua_Integer)k.status);
  lua_pushlstring(L, x->body.data != NULL ? x->body.data : "", x->body.len);
  push_content_type(L, &x->head);
  lua_pushinteger(L, k.attempts);
  if (k.retry_after >= 0)
    lua_pushnumber(L, k.retry_after);
  else
    lua_pushnil(L);
  sa_transfer_finish(x);
  return 5;
}

/* ---------------------------------------------------------------- release and open */

void sa_multipart_release(sa_client *c) {
  sa_download *d = (sa_download *)c->download;
  int i;
  for (i = 0; i < SA_POOL_SIZE; i++)
    free_body(&c->xfer[i]);
  if (d == NULL) return;
  if (d->x.sink != NULL) fclose(d->x.sink);
  if (d->tmp[0] != '\0') unlink(d->tmp);
  if (d->x.easy != NULL) {
    if (d->x.active && c->multi != NULL) curl_multi_remove_handle(c->multi, d->x.easy);
    curl_easy_cleanup(d->x.easy);
  }
  curl_slist_free_all(d->x.extra);
  curl_slist_free_all(d->x.retry);
  sa_buf_free(&d->x.body);
  sa_buf_free(&d->x.head);
  free(d);
  c->download = NULL;
}

void sa_multipart_open(lua_State *L) {
  lua_pushcfunction(L, core_file_info);
  lua_setfield(L, -2, "file_info");
  luaL_getmetatable(L, CLIENT_MT);
  lua_getfield(L, -1, "__index");
  lua_pushcfunction(L, client_download);
  lua_setfield(L, -2, "download");
  lua_pop(L, 2);
}
