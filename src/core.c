/* studioapi.core — the Lua face of the C module: core.new and the client's methods, core.now,
 * core.sleep, core.curl_version, and the JSON codec (json.c) in the same table.
 * The contract is docs/internals.md, "studioapi.core (C) as seen from Lua". */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "compat.h"
#include "core.h"
#include "json.h"

#define CLIENT_MT   "studioapi.Client"
#define UV_BASE_URL 1              /* user value 1: the base URL, without a trailing slash */
#define ELLIPSIS    "\xe2\x80\xa6" /* "…" */

/* ---------------------------------------------------------------- option checks */

/* The options of core.new once checked; the strings stay anchored on the Lua stack. */
typedef struct options {
  const char *base_url, *api_key, *language, *user_agent, *ca_file;
  size_t base_len;
  long timeout_ms, connect_timeout_ms;
} options;

static const char *const OPTION_NAMES[] = {"base_url",        "api_key", "language",   "timeout",
                                           "connect_timeout", "ca_file", "user_agent", NULL};

static int opt_error(lua_State *L, const char *name, const char *what) {
  return luaL_argerror(L, 1, lua_pushfstring(L, "option '%s' %s", name, what));
}

/* True when s holds a control character (which includes NUL): no header injection. */
static int has_control(const char *s, size_t len) {
  size_t i;
  for (i = 0; i < len; i++)
    if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) return 1;
  return 0;
}

/* Pushes opts[name] and returns it as a string, NULL when absent; raises on any other type
 * and on control characters. The message never shows the value: it may be the key. */
static const char *opt_string(lua_State *L, const char *name, size_t *len, int required) {
  size_t n;
  const char *s;
  int t = lua_getfield(L, 1, name);
  if (t == LUA_TNIL && !required) return NULL;
  if (t != LUA_TSTRING)
    opt_error(L, name, lua_pushfstring(L, "must be a string, got %s", luaL_typename(L, -1)));
  s = lua_tolstring(L, -1, &n);
  if (has_control(s, n)) opt_error(L, name, "must not hold control characters");
  if (len != NULL) *len = n;
  return s;
}

/* Seconds (maybe fractional) to milliseconds, rounded up so 0.0001 does not become "never". */
static long opt_seconds(lua_State *L, const char *name, double dflt) {
  double s = dflt;
  int t = lua_getfield(L, 1, name);
  if (t != LUA_TNIL) {
    if (t != LUA_TNUMBER)
      return opt_error(L, name,
                       lua_pushfstring(L, "must be a number, got %s", luaL_typename(L, -1)));
    s = lua_tonumber(L, -1);
  }
  lua_pop(L, 1);
  if (!(s > 0 && s <= 1e9)) /* also refuses NaN */
    return opt_error(L, name, "must be a number of seconds > 0 and <= 1e9");
  s *= 1000;
  return (long)s + ((double)(long)s < s); /* rounded up, without libm's ceil */
}

/* Every key must be a known option (a misspelt "time_out" would silently do nothing). */
static void check_option_names(lua_State *L) {
  lua_pushnil(L);
  while (lua_next(L, 1)) {
    int i;
    if (lua_type(L, -2) != LUA_TSTRING) luaL_argerror(L, 1, "option names must be strings");
    for (i = 0; OPTION_NAMES[i] != NULL; i++)
      if (strcmp(OPTION_NAMES[i], lua_tostring(L, -2)) == 0) break;
    if (OPTION_NAMES[i] == NULL)
      luaL_argerror(L, 1, lua_pushfstring(L, "unknown option '%s'", lua_tostring(L, -2)));
    lua_pop(L, 1);
  }
}

/* ---------------------------------------------------------------- base URL */

/* The hosts plain http:// may go to: the key then never leaves the machine in clear text. */
static int is_loopback(const char *host, size_t len) {
  char buf[64];
  unsigned char addr[16];
  if (len == 9 && strncasecmp(host, "localhost", 9) == 0) return 1;
  if (len >= sizeof buf) return 0;
  memcpy(buf, host, len);
  buf[len] = '\0';
  if (inet_pton(AF_INET, buf, addr) == 1) return addr[0] == 127;
  if (len > 2 && buf[0] == '[' && buf[len - 1] == ']') {
    static const unsigned char one[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    buf[len - 1] = '\0';
    return inet_pton(AF_INET6, buf + 1, addr) == 1 && memcmp(addr, one, 16) == 0;
  }
  return 0;
}

static int is_host_char(char ch) {
  return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
         ch == '-' || ch == '.' || ch == '_';
}

/* Checks "scheme://host[:port][/path]" strictly: the authority ends where the target is
 * appended, so nothing in it may be ambiguous (no credentials, no backslash, no query). Returns
 * NULL when fine, else why not. */
static const char *check_base_url(const char *url, size_t len) {
  const char *p, *host, *end = url + len;
  size_t skip;
  int secure;
  if (len >= 8 && strncasecmp(url, "https://", 8) == 0)
    secure = 1, skip = 8;
  else if (len >= 7 && strncasecmp(url, "http://", 7) == 0)
    secure = 0, skip = 7;
  else
    return "must start with https://";
  if (memchr(url, '?', len) || memchr(url, '#', len) || memchr(url, '\\', len) ||
      memchr(url, ' ', len))
    return "must not hold a query, a fragment, a backslash or a space";
  host = url + skip;
  for (p = host; p < end && *p != '/'; p++)
    if (*p == '@') return "must not hold credentials";
  p = host;
  if (p < end && *p == '[') { /* an IPv6 literal */
    while (p < end && *p != ']')
      p++;
    if (p == end) return "has an unterminated IPv6 address";
    p++;
  } else {
    while (p < end && is_host_char(*p))
      p++;
  }
  if (p == host) return "has no host";
  if (!secure && !is_loopback(host, (size_t)(p - host)))
    return "must start with https:// (http:// is allowed only for localhost, 127.0.0.0/8, ::1)";
  if (p < end && *p == ':') { /* a port: 1 to 5 digits */
    const char *digits = ++p;
    while (p < end && *p >= '0' && *p <= '9')
      p++;
    if (p == digits || p - digits > 5) return "has a bad port";
  }
  if (p < end && *p != '/') return "has a bad host (credentials or unexpected characters)";
  return NULL;
}

/* Checks core.new's table into *o. The Lua layer checked it already and raised its own errors:
 * this second check keeps the C module safe when used alone. */
static void read_options(lua_State *L, options *o) {
  const char *why;
  luaL_checktype(L, 1, LUA_TTABLE);
  check_option_names(L);
  o->base_url = opt_string(L, "base_url", &o->base_len, 1);
  if ((why = check_base_url(o->base_url, o->base_len)) != NULL) opt_error(L, "base_url", why);
  while (o->base_len > 0 && o->base_url[o->base_len - 1] == '/')
    o->base_len--; /* base_url .. target must not give "//" */
  o->api_key = opt_string(L, "api_key", NULL, 1);
  if (o->api_key[0] == '\0') opt_error(L, "api_key", "must not be empty");
  o->language = opt_string(L, "language", NULL, 0);
  o->user_agent = opt_string(L, "user_agent", NULL, 0);
  o->ca_file = opt_string(L, "ca_file", NULL, 0);
  o->timeout_ms = opt_seconds(L, "timeout", 30);
  o->connect_timeout_ms = opt_seconds(L, "connect_timeout", 10);
}

/* ---------------------------------------------------------------- client lifetime */

/* Appends one "Name: value" line to *list; 0 when memory ran out (*list stays valid). */
static int slist_add(struct curl_slist **list, const char *line) {
  struct curl_slist *l = curl_slist_append(*list, line);
  if (l == NULL) return 0;
  *list = l;
  return 1;
}

/* The headers every request carries, built once. Their text lives in libcurl's copies. */
static int prepare_headers(lua_State *L, sa_client *c, const options *o) {
  struct curl_slist **h = &c->headers;
  int top = lua_gettop(L); /* the pushed lines stay anchored until libcurl copied them */
  int ok = slist_add(h, lua_pushfstring(L, "x-api-key: %s", o->api_key)) &&
           slist_add(h, "Accept: application/json") &&
           slist_add(h, "Expect:"); /* no 100-continue round trip before a body */
  if (ok && o->language != NULL && o->language[0] != '\0')
    ok = slist_add(h, lua_pushfstring(L, "Accept-Language: %s", o->language));
  if (ok && o->user_agent != NULL && o->user_agent[0] != '\0')
    ok = slist_add(h, lua_pushfstring(L, "User-Agent: %s", o->user_agent));
  else if (ok)
    ok = slist_add(h, lua_pushfstring(L, "User-Agent: studioapi libcurl/%s", sa_curl_version()));
  lua_settop(L, top);
  return ok;
}

/* The same list plus "Content-Type:", which stops libcurl from labelling a body it was not told
 * the type of as a form (application/x-www-form-urlencoded). */
static int copy_headers(struct curl_slist **to, const struct curl_slist *from, int body) {
  for (; from != NULL; from = from->next)
    if (!slist_add(to, from->data)) return 0;
  return !body || slist_add(to, "Content-Type:");
}

/* core.new(opts). Options are checked before anything exists, so a caller's mistake costs no
 * allocation; from the userdata on, a failure leaves the rest to __gc. */
static int client_new(lua_State *L) {
  options o;
  sa_client *c;
  read_options(L, &o);
  c = lua_newuserdatauv(L, sizeof *c, 1);
  memset(c, 0, sizeof *c); /* closed state: __gc is safe from here on */
  luaL_setmetatable(L, CLIENT_MT);
  lua_pushlstring(L, o.base_url, o.base_len); /* a user value: it lives as long as c does */
  lua_setiuservalue(L, -2, UV_BASE_URL);
  c->timeout_ms = o.timeout_ms;
  c->connect_timeout_ms = o.connect_timeout_ms;
  if (o.ca_file != NULL && (c->ca_file = malloc(strlen(o.ca_file) + 1)) != NULL)
    strcpy(c->ca_file, o.ca_file);
  if ((o.ca_file != NULL && c->ca_file == NULL) || !prepare_headers(L, c, &o) ||
      !copy_headers(&c->headers_body, c->headers, 1))
    return luaL_error(L, "studioapi: not enough memory");
  if (!sa_client_open(c)) {
    sa_client_release(c);
    return luaL_error(L, "studioapi: cannot create a libcurl handle");
  }
  return 1;
}

/* The client at index 1, open: what every method but close starts with. */
static sa_client *check_client(lua_State *L) {
  sa_client *c = luaL_checkudata(L, 1, CLIENT_MT);
  if (c->multi == NULL) luaL_error(L, "attempt to use a closed " CLIENT_MT);
  return c;
}

/* close, __gc and __close: idempotent. No Lua code runs while a transfer is in flight, so busy
 * can only be seen once callbacks into Lua exist; refuse rather than free a running handle. */
static int client_close(lua_State *L) {
  sa_client *c = luaL_checkudata(L, 1, CLIENT_MT);
  if (c->busy) return luaL_error(L, "cannot close a " CLIENT_MT " during a transfer");
  sa_client_release(c);
  return 0;
}

/* "studioapi.Client (https://host/v1, key abcd…)": never more of the key than 4 bytes, and
 * nothing of a key shorter than 8 (4 bytes would be half of it). */
static int client_tostring(lua_State *L) {
  sa_client *c = luaL_checkudata(L, 1, CLIENT_MT);
  const char *key;
  if (c->multi == NULL) {
    lua_pushliteral(L, CLIENT_MT " (closed)");
    return 1;
  }
  key = c->headers->data + sizeof "x-api-key: " - 1; /* the first prepared header */
  lua_getiuservalue(L, 1, UV_BASE_URL);
  lua_pushlstring(L, key, strlen(key) >= 8 ? 4 : 0);
  lua_pushfstring(L, CLIENT_MT " (%s, key %s" ELLIPSIS ")", lua_tostring(L, -2),
                  lua_tostring(L, -1));
  return 1;
}

/* ---------------------------------------------------------------- perform */

static const char *const METHODS[] = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", NULL};

static int is_token_char(char ch) {
  return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
         (ch != '\0' && strchr("!#$%&'*+-.^_`|~", ch) != NULL);
}

/* Checks one "Name: value" line (the text is not echoed: it may carry a credential). A tab is
 * the one control character a header value may hold. */
static void check_header(lua_State *L, int i, const char *s, size_t len) {
  size_t j, name = 0;
  while (name < len && is_token_char(s[name]))
    name++;
  if (name == 0 || name == len || s[name] != ':')
    luaL_argerror(L, 4, lua_pushfstring(L, "header %d must be \"Name: value\"", i));
  for (j = name; j < len; j++)
    if (((unsigned char)s[j] < 0x20 && s[j] != '\t') || s[j] == 0x7f)
      luaL_argerror(L, 4, lua_pushfstring(L, "header %d holds a control character", i));
}

/* Same header name ("Accept:" vs "accept: x"), both lines known to hold a colon. */
static int same_name(const char *a, const char *b) {
  size_t n = (size_t)(strchr(a, ':') - a);
  return strncasecmp(a, b, n) == 0 && b[n] == ':';
}

/* Whether one of the n extra headers (the table at index 4) has the name of line. */
static int has_header(lua_State *L, int n, const char *line) {
  int i;
  for (i = 1; i <= n; i++) {
    lua_rawgeti(L, 4, i);
    if (same_name(line, lua_tostring(L, -1))) return lua_pop(L, 1), 1;
    lua_pop(L, 1);
  }
  return 0;
}

/* The header list for one request. Without extra headers one of the prepared lists; with them a
 * list of their own (x->extra, freed after the transfer): the extra ones first, then the
 * prepared ones they do not replace, so a request can send its own Accept-Language. */
static struct curl_slist *request_headers(lua_State *L, sa_client *c, sa_transfer *x, int body) {
  struct curl_slist *p;
  int i, n;
  if (lua_isnil(L, 4)) return body ? c->headers_body : c->headers;
  luaL_checktype(L, 4, LUA_TTABLE);
  n = (int)lua_rawlen(L, 4);
  if (n == 0) return body ? c->headers_body : c->headers;
  for (i = 1; i <= n; i++) { /* check them all before allocating */
    const char *s;
    size_t len;
    if (lua_rawgeti(L, 4, i) != LUA_TSTRING)
      luaL_argerror(
          L, 4, lua_pushfstring(L, "header %d must be a string, got %s", i, luaL_typename(L, -1)));
    s = lua_tolstring(L, -1, &len);
    check_header(L, i, s, len);
    lua_pop(L, 1);
  }
  for (i = 1; i <= n; i++) {
    lua_rawgeti(L, 4, i);
    if (!slist_add(&x->extra, lua_tostring(L, -1))) luaL_error(L, "studioapi: not enough memory");
    lua_pop(L, 1);
  }
  for (p = c->headers; p != NULL; p = p->next)
    if (!has_header(L, n, p->data) && !slist_add(&x->extra, p->data))
      luaL_error(L, "studioapi: not enough memory");
  if (body && !has_header(L, n, "Content-Type:") && !slist_add(&x->extra, "Content-Type:"))
    luaL_error(L, "studioapi: not enough memory");
  return x->extra;
}

/* The target is appended to the base URL as is: it must be a path ("/..."), already
 * percent-encoded, without spaces or control characters. */
static void check_target(lua_State *L, const char *t, size_t len) {
  size_t i;
  if (len == 0 || t[0] != '/') luaL_argerror(L, 3, "target must start with \"/\"");
  for (i = 0; i < len; i++)
    if ((unsigned char)t[i] <= 0x20 || t[i] == 0x7f)
      luaL_argerror(L, 3, "target must not hold spaces or control characters");
}

/* Turns the response headers ("name:value\n" lines) into a table; a repeated name's values are
 * joined with ", ". */
static void push_headers(lua_State *L, const sa_buf *h) {
  const char *p = h->data, *end;
  lua_newtable(L);
  if (h->len == 0) return; /* data may be NULL */
  end = p + h->len;
  while (p < end) {
    const char *colon = memchr(p, ':', (size_t)(end - p));
    const char *nl = memchr(colon, '\n', (size_t)(end - colon));
    lua_pushlstring(L, p, (size_t)(colon - p));
    lua_pushvalue(L, -1);
    if (lua_rawget(L, -3) == LUA_TNIL) {
      lua_pop(L, 1);
      lua_pushlstring(L, colon + 1, (size_t)(nl - colon - 1));
    } else {
      lua_pushliteral(L, ", ");
      lua_pushlstring(L, colon + 1, (size_t)(nl - colon - 1));
      lua_concat(L, 3);
    }
    lua_rawset(L, -3);
    p = nl + 1;
  }
}

static int push_failure(lua_State *L, sa_transfer *x, CURLcode rc) {
  sa_failure f;
  sa_transfer_classify(x, rc, &f);
  lua_pushnil(L);
  lua_pushstring(L, f.kind);
  lua_pushstring(L, f.message);
  lua_pushboolean(L, f.sent);
  return 4;
}

/* Checks perform's arguments and sets the request up on slot x; raises on a caller's mistake.
 * The body is not copied: it stays anchored at stack index 5 until the transfer ended. */
static void prepare_request(lua_State *L, sa_client *c, sa_transfer *x) {
  const char *method = METHODS[luaL_checkoption(L, 2, NULL, METHODS)];
  size_t tlen, blen = 0;
  const char *target = luaL_checklstring(L, 3, &tlen), *body = NULL;
  struct curl_slist *headers;
  lua_settop(L, 5); /* 1 client, 2 method, 3 target, 4 headers, 5 body */
  check_target(L, target, tlen);
  if (!lua_isnil(L, 5)) {
    body = luaL_checklstring(L, 5, &blen);
    if (method[0] == 'G' || method[0] == 'H')
      luaL_argerror(L, 5, lua_pushfstring(L, "a %s request takes no body", method));
  }
  curl_slist_free_all(x->extra); /* left over if building it raised last time */
  x->extra = NULL;
  headers = request_headers(L, c, x, body != NULL);
  lua_getiuservalue(L, 1, UV_BASE_URL);
  lua_pushvalue(L, 3);
  lua_concat(L, 2); /* the URL, which libcurl copies */
  if (!sa_transfer_setup(x, method, lua_tostring(L, -1), headers, body, blen))
    luaL_error(L, "studioapi: cannot set up the request");
}

/* Pushes what a finished transfer gave: status, headers, body or nil, kind, message, sent. */
static int push_result(lua_State *L, sa_transfer *x, CURLcode rc, long status) {
  int n = 3;
  if (x->nomem) { /* a callback could not grow a buffer: raise as Lua does on no memory */
    sa_transfer_finish(x);
    return luaL_error(L, "studioapi: not enough memory for the response");
  }
  if (rc == CURLE_OK && status == 0) {
    strcpy(x->errbuf, "no HTTP status in the response");
    rc = CURLE_WEIRD_SERVER_REPLY;
  }
  if (rc != CURLE_OK)
    n = push_failure(L, x, rc);
  else {
    lua_pushinteger(L, (lua_Integer)status);
    push_headers(L, &x->head);
    lua_pushlstring(L, x->body.data != NULL ? x->body.data : "", x->body.len);
  }
  sa_transfer_finish(x);
  return n;
}

/* h:perform(method, target, headers, body) -> status, headers, body | nil, kind, message, sent.
 * What can raise happens before the transfer starts or after it ended, never during it. */
static int client_perform(lua_State *L) {
  sa_client *c = check_client(L);
  sa_transfer *x = &c->xfer[0];
  long status;
  CURLcode rc;
  prepare_request(L, c, x);
  c->busy = 1;
  rc = sa_transfer_run(c, x, &status);
  c->busy = 0;
  curl_slist_free_all(x->extra);
  x->extra = NULL;
  return push_result(L, x, rc, status);
}

/* ---------------------------------------------------------------- module functions */

/* Monotonic seconds: for timeouts, backoff and rate windows, immune to clock changes. */
static int core_now(lua_State *L) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  lua_pushnumber(L, (lua_Number)ts.tv_sec + (lua_Number)ts.tv_nsec / 1e9);
  return 1;
}

/* Sleeps the whole time even when a signal interrupts nanosleep. */
static int core_sleep(lua_State *L) {
  lua_Number s = luaL_checknumber(L, 1);
  struct timespec ts, rest;
  luaL_argcheck(L, s >= 0 && s <= 1e9, 1, "seconds must be >= 0 and <= 1e9");
  ts.tv_sec = (time_t)s;
  ts.tv_nsec = (long)((s - (lua_Number)ts.tv_sec) * 1e9);
  while (nanosleep(&ts, &rest) != 0 && errno == EINTR)
    ts = rest;
  return 0;
}

static const luaL_Reg client_methods[] = {
    {"perform", client_perform}, {"close", client_close}, {NULL, NULL}};

static const luaL_Reg client_meta[] = {{"__gc", client_close},
                                       {"__close", client_close},
                                       {"__tostring", client_tostring},
                                       {NULL, NULL}};

static const luaL_Reg core_functions[] = {
    {"new", client_new}, {"now", core_now}, {"sleep", core_sleep}, {NULL, NULL}};

SA_EXPORT int luaopen_studioapi_core(lua_State *L);

int luaopen_studioapi_core(lua_State *L) {
  if (!sa_transport_init()) return luaL_error(L, "studioapi: curl_global_init failed");
  if (luaL_newmetatable(L, CLIENT_MT)) {
    luaL_setfuncs(L, client_meta, 0);
    luaL_newlib(L, client_methods); /* methods apart from metamethods */
    lua_setfield(L, -2, "__index");
    lua_pushliteral(L, CLIENT_MT); /* 5.4 sets __name itself; LuaJIT does not */
    lua_setfield(L, -2, "__name");
  }
  lua_pop(L, 1);
  luaL_newlib(L, core_functions);
  lua_pushstring(L, sa_curl_version());
  lua_setfield(L, -2, "curl_version");
  sa_json_open(L);
  return 1;
}
