/* studioapi.core — the Lua face of the C module: core.new and the client's methods, core.now,
 * core.sleep, core.curl_version, and the JSON codec (json.c) in the same table. A perform is
 * one call of the retry loop (retry.c) under the rate limiter (ratelimit.c).
 * The contract is docs/internals.md, "studioapi.core (C) as seen from Lua" and "Resilience". */
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
#include "multipart.h"
#include "ratelimit.h"
#include "retry.h"

#define CLIENT_MT "studioapi.Client"
#define ELLIPSIS  "\xe2\x80\xa6" /* "…" */

/* ---------------------------------------------------------------- option checks */

/* The options of core.new once checked; the strings stay anchored on the Lua stack. */
typedef struct options {
  const char *base_url, *api_key, *language, *user_agent, *ca_file;
  size_t base_len, key_len;
  long timeout_ms, connect_timeout_ms;
  sa_retry retry;
  sa_limits limits;
  int hooks, has_seed;
  uint64_t seed;
} options;

static const char *const OPTION_NAMES[] = {
    "base_url", "api_key",    "language", "timeout", "connect_timeout", "ca_file", "user_agent",
    "retry",    "rate_limit", "sleep",    "clock",   "on_event",        "seed",    NULL};
static const char *const RETRY_NAMES[] = {"max_attempts", "base_delay",  "max_delay",
                                          "retry_unsafe", "max_elapsed", NULL};
static const char *const LIMIT_NAMES[] = {"limit", "window", "max_wait", "lockout", NULL};

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

/* Every key of the table at t must be a known option (a misspelt "time_out" would silently do
 * nothing); prefix names the sub-table ("retry.") in the message. */
static void check_option_names(lua_State *L, int t, const char *const *names, const char *prefix) {
  lua_pushnil(L);
  while (lua_next(L, t)) {
    int i;
    if (lua_type(L, -2) != LUA_TSTRING) luaL_argerror(L, 1, "option names must be strings");
    for (i = 0; names[i] != NULL; i++)
      if (strcmp(names[i], lua_tostring(L, -2)) == 0) break;
    if (names[i] == NULL)
      luaL_argerror(L, 1, lua_pushfstring(L, "unknown option '%s%s'", prefix, lua_tostring(L, -2)));
    lua_pop(L, 1);
  }
}

/* A number field of the sub-table at t: dflt when absent, else within [lo, hi] (an integer when
 * asked). `what` says the range in the message. */
static double opt_field(lua_State *L, int t, const char *table, const char *name, double dflt,
                        double lo, double hi, int integer, const char *what) {
  double v = dflt;
  int ty = lua_getfield(L, t, name);
  if (ty != LUA_TNIL) {
    if (ty != LUA_TNUMBER)
      luaL_argerror(L, 1,
                    lua_pushfstring(L, "option '%s.%s' must be a number, got %s", table, name,
                                    luaL_typename(L, -1)));
    v = lua_tonumber(L, -1);
  }
  lua_pop(L, 1);
  if (!(v >= lo && v <= hi) || (integer && v != (double)(long)v)) /* also refuses NaN */
    luaL_argerror(L, 1, lua_pushfstring(L, "option '%s.%s' must be %s", table, name, what));
  return v;
}

/* opts[name] as a sub-table index, 0 for nil or false (off); raises on anything else. */
static int opt_table(lua_State *L, const char *name) {
  int t = lua_getfield(L, 1, name);
  if (t == LUA_TNIL || (t == LUA_TBOOLEAN && !lua_toboolean(L, -1))) return 0;
  if (t != LUA_TTABLE)
    opt_error(L, name,
              lua_pushfstring(L, "must be a table or false, got %s", luaL_typename(L, -1)));
  return lua_gettop(L);
}

/* retry: absent or false is no retry at this level (one exchange per perform, as before); the
 * Lua layer passes {} for the documented defaults. max_elapsed defaults to 120 s: one lockout
 * of the API (60 s) plus the backoff of the default attempts fits in it. */
static void read_retry(lua_State *L, options *o) {
  int t = opt_table(L, "retry");
  static const sa_retry off = {1, 0.5, 30, 120, 0};
  o->retry = off;
  if (t == 0) return;
  check_option_names(L, t, RETRY_NAMES, "retry.");
  o->retry.max_attempts =
      (int)opt_field(L, t, "retry", "max_attempts", 5, 1, 100, 1, "an integer from 1 to 100");
  o->retry.base_delay =
      opt_field(L, t, "retry", "base_delay", 0.5, 0, 3600, 0, "seconds from 0 to 3600");
  o->retry.max_delay =
      opt_field(L, t, "retry", "max_delay", 30, 0, 86400, 0, "seconds from 0 to 86400");
  o->retry.max_elapsed =
      opt_field(L, t, "retry", "max_elapsed", 120, 1e-3, 1e9, 0, "seconds from 0.001 to 1e9");
  if (lua_getfield(L, t, "retry_unsafe") != LUA_TNIL && !lua_isboolean(L, -1))
    luaL_argerror(L, 1,
                  lua_pushfstring(L, "option 'retry.retry_unsafe' must be a boolean, got %s",
                                  luaL_typename(L, -1)));
  o->retry.retry_unsafe = lua_toboolean(L, -1);
}

/* rate_limit: absent or false is no pacing; lockouts after a 429 are still kept (60 s, or the
 * Retry-After), and a request to a locked endpoint then fails at once (max_wait 0). */
static void read_limits(lua_State *L, options *o) {
  int t = opt_table(L, "rate_limit");
  static const sa_limits off = {0, 60, 0, 60};
  o->limits = off;
  if (t == 0) return;
  check_option_names(L, t, LIMIT_NAMES, "rate_limit.");
  o->limits.limit =
      (int)opt_field(L, t, "rate_limit", "limit", 1000, 1, 1e6, 1, "an integer from 1 to 1000000");
  o->limits.window =
      opt_field(L, t, "rate_limit", "window", 60, 1e-3, 86400, 0, "seconds from 0.001 to 86400");
  o->limits.max_wait =
      opt_field(L, t, "rate_limit", "max_wait", 60, 0, 86400, 0, "seconds from 0 to 86400");
  o->limits.lockout =
      opt_field(L, t, "rate_limit", "lockout", 60, 0, 86400, 0, "seconds from 0 to 86400");
}

/* sleep, clock, on_event: functions or nil; which were given goes into o->hooks. */
static void read_hooks(lua_State *L, options *o) {
  static const char *const names[] = {"sleep", "clock", "on_event"};
  static const int bits[] = {SA_HOOK_SLEEP, SA_HOOK_CLOCK, SA_HOOK_EVENT};
  int i;
  o->hooks = 0;
  for (i = 0; i < 3; i++) {
    int t = lua_getfield(L, 1, names[i]);
    if (t == LUA_TFUNCTION)
      o->hooks |= bits[i];
    else if (t != LUA_TNIL)
      opt_error(L, names[i],
                lua_pushfstring(L, "must be a function, got %s", luaL_typename(L, -1)));
    lua_pop(L, 1);
  }
  o->has_seed = lua_getfield(L, 1, "seed") != LUA_TNIL;
  if (o->has_seed && !lua_isinteger(L, -1)) opt_error(L, "seed", "must be an integer");
  o->seed = (uint64_t)lua_tointeger(L, -1);
  lua_pop(L, 1);
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
  check_option_names(L, 1, OPTION_NAMES, "");
  o->base_url = opt_string(L, "base_url", &o->base_len, 1);
  if ((why = check_base_url(o->base_url, o->base_len)) != NULL) opt_error(L, "base_url", why);
  while (o->base_len > 0 && o->base_url[o->base_len - 1] == '/')
    o->base_len--; /* base_url .. target must not give "//" */
  o->api_key = opt_string(L, "api_key", &o->key_len, 1);
  if (o->api_key[0] == '\0') opt_error(L, "api_key", "must not be empty");
  o->language = opt_string(L, "language", NULL, 0);
  o->user_agent = opt_string(L, "user_agent", NULL, 0);
  o->ca_file = opt_string(L, "ca_file", NULL, 0);
  o->timeout_ms = opt_seconds(L, "timeout", 30);
  o->connect_timeout_ms = opt_seconds(L, "connect_timeout", 10);
  read_retry(L, o);
  read_limits(L, o);
  read_hooks(L, o);
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
/* The user values: the base URL and the hooks live exactly as long as the client. */
static void set_user_values(lua_State *L, const options *o) {
  static const char *const hooks[] = {"sleep", "clock", "on_event"};
  int i;
  lua_pushlstring(L, o->base_url, o->base_len);
  lua_setiuservalue(L, -2, SA_UV_BASE_URL);
  for (i = 0; i < 3; i++) {
    lua_getfield(L, 1, hooks[i]);
    lua_setiuservalue(L, -2, SA_UV_SLEEP + i);
  }
}

/* Per-client jitter: seeded from the time and the client's address, so that clients started
 * together still retry apart; a fixed seed makes the delays repeatable. */
static uint64_t jitter_seed(const options *o, const void *c) {
  struct timespec ts;
  if (o->has_seed) return sa_rng_seed(o->seed);
  clock_gettime(CLOCK_REALTIME, &ts);
  return sa_rng_seed((uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 32) ^ (uint64_t)(uintptr_t)c);
}

static int client_new(lua_State *L) {
  options o;
  sa_client *c;
  read_options(L, &o);
  c = lua_newuserdatauv(L, sizeof *c, SA_UV_COUNT);
  memset(c, 0, sizeof *c); /* closed state: __gc is safe from here on */
  luaL_setmetatable(L, CLIENT_MT);
  set_user_values(L, &o);
  c->retry = o.retry;
  c->limits = o.limits;
  c->hooks = o.hooks;
  c->key_hash = sa_rl_key_hash(o.api_key, o.key_len);
  c->rng = jitter_seed(&o, c);
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

static void cancel_started(sa_client *c);

/* close, __gc and __close: idempotent. No Lua code runs while a transfer is in flight, so busy
 * can only be seen once callbacks into Lua exist; refuse rather than free a running handle. */
static int client_close(lua_State *L) {
  sa_client *c = luaL_checkudata(L, 1, CLIENT_MT);
  if (c->busy) return luaL_error(L, "cannot close a " CLIENT_MT " during a transfer");
  cancel_started(c);
  sa_client_release(c);
  sa_buf_free(&c->spare);
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
  lua_getiuservalue(L, 1, SA_UV_BASE_URL);
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

/* core.plain_target(s) -> whether s holds no space, control character or DEL, as perform requires
 * of a target: the Lua layer answers such a path with an error object rather than a raise. */
static int core_plain_target(lua_State *L) {
  size_t i, len;
  const char *s = luaL_checklstring(L, 1, &len);
  for (i = 0; i < len && (unsigned char)s[i] > 0x20 && s[i] != 0x7f; i++) {
  }
  lua_pushboolean(L, i == len);
  return 1;
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

/* GET, HEAD, PUT and DELETE may be repeated without changing the outcome (RFC 9110, 9.2.2). */
static int idempotent_method(const char *m) {
  return strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0 || strcmp(m, "PUT") == 0 ||
         strcmp(m, "DELETE") == 0;
}

/* Checks perform's arguments and fills the call k on slot x; raises on a caller's mistake.
 * Nothing is copied: the target, the body (5), the base URL (10), the URL (11) and the hook
 * runner (12) stay anchored on the stack until the call ended; 7 and 8 are the decode plan and
 * its metatables (see push_decoded), 9 h:start's pending call to reuse. */
static void prepare_request(lua_State *L, sa_client *c, sa_transfer *x, sa_call *k) {
  const char *method = METHODS[luaL_checkoption(L, 2, NULL, METHODS)];
  size_t tlen, blen = 0;
  const char *target = luaL_checklstring(L, 3, &tlen), *body = NULL;
  lua_settop(L, 9); /* 1 client, 2 method, 3 target, 4 headers, 5 body, 6 idempotent, 7 .. 9 */
  check_target(L, target, tlen);
  if (!lua_isnil(L, 5)) {
    if (!lua_istable(L, 5)) /* a table: the parts of a multipart body (sa_mime_build) */
      body = luaL_checklstring(L, 5, &blen);
    if (method[0] == 'G' || method[0] == 'H')
      luaL_argerror(L, 5, lua_pushfstring(L, "a %s request takes no body", method));
  }
  if (!lua_isnil(L, 6)) luaL_checktype(L, 6, LUA_TBOOLEAN);
  curl_slist_free_all(x->extra); /* left over if building it raised last time */
  x->extra = NULL;
  memset(k, 0, sizeof *k);
  k->headers = request_headers(L, c, x, body != NULL);
  lua_settop(L, 9); /* the slots below are counted from here */
  lua_getiuservalue(L, 1, SA_UV_BASE_URL);
  lua_pushvalue(L, 10);
  lua_pushvalue(L, 3);
  lua_concat(L, 2); /* the URL, which libcurl copies */
  lua_pushcfunction(L, sa_call_hook_runner);
  luaL_checkstack(L, 8, "studioapi: no stack space for the call's hooks");
  k->L = L;
  k->client_idx = 1;
  k->runner_idx = 12;
  k->c = c;
  k->x = x;
  k->method = method;
  k->target = target;
  k->base = lua_tostring(L, 10);
  k->url = lua_tostring(L, 11);
  k->body = body;
  k->body_len = blen;
  k->idempotent = idempotent_method(method) || lua_toboolean(L, 6);
}

/* Pushes what a finished transfer gave: status, headers, body or nil, kind, message, sent. */
static int push_result(lua_State *L, sa_transfer *x, CURLcode rc, long status) {
  int n = 3;
  if (x->nomem) { /* a callback could not grow a buffer: raise as Lua does on no memory */
    sa_transfer_finish(x);
    return luaL_error(L, "studioapi: not enough memory for the response");
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

/* Adds attempts and retry_after (nil when nobody said) to what push_result gave. A failure's
 * `sent` covers every attempt: one that may have reached the server makes the outcome
 * unknown, whatever the last one did. */
static int push_call(lua_State *L, const sa_call *k) {
  int n = push_result(L, k->x, k->rc, k->status);
  if (n == 4) {
    lua_pushboolean(L, k->maybe_sent);
    lua_replace(L, -2);
  }
  lua_pushinteger(L, k->attempts);
  if (k->retry_after >= 0)
    lua_pushnumber(L, k->retry_after);
  else
    lua_pushnil(L);
  return n + 2;
}

/* nil, "rate_limited", message, sent, attempts, retry_after: the limiter would not wait. */
static int push_refused(lua_State *L, const sa_call *k) {
  lua_pushnil(L);
  lua_pushliteral(L, "rate_limited");
  lua_pushfstring(L, "%s: %s; a slot frees in %d ms", k->endpoint, k->refusal,
                  (int)(k->retry_after * 1000 + 0.5));
  lua_pushboolean(L, k->maybe_sent);
  lua_pushinteger(L, k->attempts);
  lua_pushnumber(L, k->retry_after);
  return 6;
}

/* ---------------------------------------------------------------- decoding from the buffer */

#define BUFFER_MT "studioapi.Client.buffer"
#define CURSOR_MT "studioapi.Client.cursor"

/* A box without user values (compat.h's lua_newuserdatauv gives each one a table on LuaJIT). */
#if LUA_VERSION_NUM >= 504
#define new_box(L, sz) lua_newuserdatauv((L), (sz), 0)
#else
#define new_box(L, sz) lua_newuserdata((L), (sz))
#endif

static int buffer_gc(lua_State *L) {
  sa_buf_free(lua_touserdata(L, 1));
  return 0;
}

/* Whether a Content-Type of the response holds "json" (the Lua layer's test for a JSON body). */
static int is_json_response(const sa_buf *h) {
  const char *p = h->data, *end = p + h->len;
  while (p < end) {
    const char *nl = memchr(p, '\n', (size_t)(end - p)), *v;
    if (nl == NULL) break;
    if (nl - p > 13 && memcmp(p, "content-type:", 13) == 0)
      for (v = p + 13; v + 4 <= nl; v++)
        if (memcmp(v, "json", 4) == 0) return 1;
    p = nl + 1;
  }
  return 0;
}

/* The decode argument (7) asks for it, and the answer is a 2xx with a JSON body. */
static int wants_decoding(lua_State *L, const sa_transfer *x, const sa_call *k) {
  return lua_toboolean(L, 7) && k->rc == CURLE_OK && k->status >= 200 && k->status <= 299 &&
         x->body.len > 0 && !x->nomem && is_json_response(&x->head);
}

/* ---------------------------------------------------------------- lazy arrays */

/* A chunk's `result` when the plan marks it lazy: where the next element starts in the answer's
 * bytes, which stay in the box they were decoded from (taken over from the receive buffer, no
 * copy). Each element is decoded when asked for, so a chunk costs one element's tables at a time
 * rather than all of them. User values: 1 the elements' plan node, 2 the metatables, 3 the
 * client, whose spare buffer takes the bytes back once the last element is out (for the next
 * request), 4 the box, which owns the bytes until then (and frees them if it is collected). */
typedef struct sa_cursor {
  sa_buf *body;    /* the box's buffer: data NULL once given back */
  size_t pos;      /* where the next element starts */
  int left, count; /* elements not handed out yet, and in all */
  int busy;        /* decoding: close waits (a raise in there leaves it to __gc) */
  sa_client *c;
  sa_json_shape hints[SA_JSON_HINT_LEVELS + 1];
} sa_cursor;

/* The bytes go to the client's spare buffer when it is open and has none, else are freed. */
static void cursor_release(sa_cursor *k) {
  if (k->body->data != NULL && k->c->multi != NULL && k->c->spare.data == NULL) {
    k->c->spare = *k->body;
    k->c->spare.len = 0;
    memset(k->body, 0, sizeof *k->body);
  } else
    sa_buf_free(k->body);
  k->left = 0;
}

/* cursor:next() -> the next element (entities per the plan), or nothing when all are out;
 * nil, message if it cannot be decoded (every element was checked when the answer came). */
static int cursor_next(lua_State *L) {
  sa_cursor *k = luaL_checkudata(L, 1, CURSOR_MT);
  size_t pos = k->pos;
  if (k->left <= 0 || k->busy || k->body->data == NULL) return 0;
  lua_settop(L, 1);
  lua_getiuservalue(L, 1, 1);
  lua_getiuservalue(L, 1, 2);
  k->busy = 1;
  if (!sa_json_push_next(L, k->body->data, k->body->len, &pos, 2, 3, k->hints)) {
    k->busy = 0;
    return 2;
  }
  k->busy = 0;
  k->pos = pos;
  if (--k->left == 0) cursor_release(k);
  return 1;
}

/* cursor:fill(t, n) -> count: the next elements (at most n) at t[1..count]; 0 when all are out;
 * nil, message as for next. One call for many elements: a loop over t is what a JIT compiles. */
static int cursor_fill(lua_State *L) {
  sa_cursor *k = luaL_checkudata(L, 1, CURSOR_MT);
  lua_Integer n = luaL_checkinteger(L, 3);
  size_t pos = k->pos;
  int got;
  luaL_checktype(L, 2, LUA_TTABLE);
  if (n > k->left) n = k->left;
  if (n <= 0 || k->busy || k->body->data == NULL) {
    lua_pushinteger(L, 0);
    return 1;
  }
  lua_settop(L, 3);
  lua_getiuservalue(L, 1, 1);
  lua_getiuservalue(L, 1, 2);
  k->busy = 1;
  got = sa_json_fill(L, k->body->data, k->body->len, &pos, (int)n, 2, 4, 5, k->hints);
  k->busy = 0;
  if (got < 0) return 2;
  k->pos = pos;
  if ((k->left -= got) == 0) cursor_release(k);
  lua_pushinteger(L, got);
  return 1;
}

/* cursor:skip(n): passes over n elements without making them (a resumed chunk's delivered ones). */
static int cursor_skip(lua_State *L) {
  sa_cursor *k = luaL_checkudata(L, 1, CURSOR_MT);
  lua_Integer n = luaL_checkinteger(L, 2);
  size_t pos = k->pos;
  if (n <= 0 || k->left <= 0 || k->busy || k->body->data == NULL) return 0;
  if (n > k->left) n = k->left;
  if (!sa_json_skip_next(L, k->body->data, k->body->len, &pos, (int)n)) return 2;
  k->pos = pos;
  k->left -= (int)n;
  if (k->left == 0) cursor_release(k);
  return 0;
}

/* cursor:size() -> the number of elements, cursor:left() -> those not handed out yet. */
static int cursor_size(lua_State *L) {
  lua_pushinteger(L, ((sa_cursor *)luaL_checkudata(L, 1, CURSOR_MT))->count);
  return 1;
}

static int cursor_left(lua_State *L) {
  lua_pushinteger(L, ((sa_cursor *)luaL_checkudata(L, 1, CURSOR_MT))->left);
  return 1;
}

/* cursor:close(), also __close: the bytes go back now (else the box frees them when collected). */
static int cursor_close(lua_State *L) {
  sa_cursor *k = luaL_checkudata(L, 1, CURSOR_MT);
  if (!k->busy) cursor_release(k);
  return 0;
}

static const luaL_Reg cursor_methods[] = {
    {"next", cursor_next}, {"fill", cursor_fill},   {"skip", cursor_skip}, {"size", cursor_size},
    {"left", cursor_left}, {"close", cursor_close}, {NULL, NULL}};

static const luaL_Reg cursor_meta[] = {{"__close", cursor_close}, {NULL, NULL}};

/* The decoder's hook for a lazy array: a cursor over the bytes in the box at box_idx. */
typedef struct lazy_maker {
  sa_json_lazy base;
  sa_client *c;
  int box_idx;
  int made; /* a cursor refers to the box: the bytes stay there */
} lazy_maker;

static void push_cursor(lua_State *L, sa_json_lazy *self, size_t start, size_t end, int count,
                        int node, int mts) {
  lazy_maker *z = (lazy_maker *)self;
  sa_cursor *k;
  (void)end;
  k = lua_newuserdatauv(L, sizeof *k, 4);
  memset(k, 0, sizeof *k);
  luaL_setmetatable(L, CURSOR_MT);
  lua_pushliteral(L, "items");
  lua_rawget(L, node);
  lua_setiuservalue(L, -2, 1);
  if (mts != 0)
    lua_pushvalue(L, mts);
  else
    lua_pushnil(L);
  lua_setiuservalue(L, -2, 2);
  lua_pushvalue(L, 1); /* the client */
  lua_setiuservalue(L, -2, 3);
  lua_pushvalue(L, z->box_idx);
  lua_setiuservalue(L, -2, 4);
  k->body = lua_touserdata(L, z->box_idx);
  k->c = z->c;
  k->pos = start + 1;
  k->left = k->count = count;
  z->made = 1;
}

/* The body moves back into the slot for the next request; a closed client leaves it to the box. */
static void give_back(sa_client *c, sa_transfer *x, sa_buf *box) {
  if (c->multi == NULL) return;
  sa_buf_free(&x->body); /* what a perform run by a finaliser meanwhile left, if any */
  x->body = *box;
  memset(box, 0, sizeof *box);
}

/* Decodes the body straight from the receive buffer with the plan at 7 (a table, or true for
 * none) and the metatables at 8: pushes status, nil, nil, attempts, retry_after, value and returns
 * 6. Returns 0 when the body is not JSON after all or is null: the caller pushes it as a string.
 * While the decoder runs, the buffer is owned by a box on the stack: an error raised in there (no
 * memory, a metatable's __index) leaks nothing, and a perform that a finaliser runs meanwhile gets
 * a buffer of its own rather than freeing this one. */
static int push_decoded(lua_State *L, sa_client *c, sa_transfer *x, const sa_call *k) {
  int top = lua_gettop(L);
  lazy_maker z;
  sa_buf *box = new_box(L, sizeof *box);
  memset(box, 0, sizeof *box);
  luaL_setmetatable(L, BUFFER_MT);
  *box = x->body;
  memset(&x->body, 0, sizeof x->body);
  z.base.push = push_cursor;
  z.c = c;
  z.box_idx = top + 1;
  z.made = 0;
  if (!sa_json_push_plan(L, box->data, box->len, lua_istable(L, 7) ? 7 : 0, 8, &z.base) ||
      lua_isnil(L, -1)) {
    give_back(c, x, box);
    lua_settop(L, top);
    return 0;
  }
  if (!z.made) give_back(c, x, box); /* else the cursor's: it gives the bytes back when done */
  sa_transfer_finish(x);
  lua_pushinteger(L, (lua_Integer)k->status);
  lua_pushnil(L);
  lua_pushnil(L);
  lua_pushinteger(L, k->attempts);
  if (k->retry_after >= 0)
    lua_pushnumber(L, k->retry_after);
  else
    lua_pushnil(L);
  lua_pushvalue(L, top + 2);
  return 6;
}

/* h:perform(method, target, headers, body, idempotent [, decode [, metatables]])
 *   -> status, headers, body, attempts, retry_after
 *   |  status, nil, nil, attempts, retry_after, value   (decode: a 2xx JSON answer, decoded)
 *   |  nil, kind, message, sent, attempts, retry_after
 * What can raise happens before the call starts or after it ended; a hook's error is raised
 * once the transfer's state is cleaned up. */
static int client_perform(lua_State *L) {
  sa_client *c = check_client(L);
  sa_transfer *x = &c->xfer[0];
  sa_call k;
  int st;
  if (x->body.data == NULL && c->spare.data != NULL) { /* a lazy array's buffer, given back */
    x->body = c->spare;
    memset(&c->spare, 0, sizeof c->spare);
  }
  if (c->busy)
    return luaL_error(L, "a " CLIENT_MT
                         " cannot be used from its own sleep, clock, on_event or on_progress");
  prepare_request(L, c, x, &k);
  if (!sa_mime_build(L, x, 5)) return 6; /* a file part cannot be read: nothing was sent */
  c->busy = 1;
  st = sa_call_run(&k);
  c->busy = 0;
  curl_slist_free_all(x->extra);
  curl_slist_free_all(x->retry);
  x->extra = x->retry = NULL;
  if (sa_mime_done(L, x)) { /* on_progress raised: its error, now that libcurl is done */
    sa_transfer_finish(x);
    return lua_error(L);
  }
  if (st == SA_CALL_DONE) {
    int n = wants_decoding(L, x, &k) ? push_decoded(L, c, x, &k) : 0;
    return n > 0 ? n : push_call(L, &k);
  }
  sa_transfer_finish(x);
  if (st == SA_CALL_REFUSED) return push_refused(L, &k);
  if (st == SA_CALL_RAISED) return lua_error(L);
  return luaL_error(L, "studioapi: not enough memory");
}

/* ---------------------------------------------------------------- started calls (prefetch) */

#define PENDING_MT "studioapi.Client.pending"

/* A call begun by h:start on a slot of its own (1 .. SA_POOL_SIZE - 1): its request is out and
 * its answer waits in the socket until h:finish. User values (what the call points at, anchored
 * meanwhile): 1 the client, 2 the target, 3 the base URL, 4 the URL, 5 the decode plan, 6 its
 * metatables, 7 the body. A pending call that is cancelled or collected, or whose client closes,
 * is taken off the multi handle, and the limiter counts it as sent. */
typedef struct sa_pending {
  sa_call k;
  sa_transfer *x; /* the slot while started */
  int state;
} sa_pending;

enum { PENDING_OVER, PENDING_STARTED, PENDING_REFUSED };

/* Frees the slot of a started call that will not be finished. */
static void pending_cancel(sa_pending *p) {
  sa_transfer *x = p->x;
  sa_client *c = p->k.c;
  if (p->state != PENDING_STARTED) {
    p->state = PENDING_OVER;
    return;
  }
  p->state = PENDING_OVER;
  p->x = NULL;
  if (c->multi != NULL) { /* a closed client let go of its transfers already */
    if (x->active) curl_multi_remove_handle(c->multi, x->easy);
    x->active = 0;
    curl_slist_free_all(x->extra);
    curl_slist_free_all(x->retry);
    x->extra = x->retry = NULL;
    sa_transfer_finish(x);
  }
  x->reserved = 0;
  x->call = NULL;
  sa_call_cancel(&p->k);
}

/* p:cancel(), also __close and __gc: idempotent. */
static int pending_gc(lua_State *L) {
  pending_cancel(lua_touserdata(L, 1));
  return 0;
}

static int pending_cancel_method(lua_State *L) {
  pending_cancel(luaL_checkudata(L, 1, PENDING_MT));
  return 0;
}

/* h:start(method, target, headers, body, idempotent [, decode [, metatables [, reuse]]]) -> a
 * pending call, or nothing when every slot is taken (the caller then calls perform in time).
 * The limiter admits it and its request goes out now; h:finish gives what perform would. A
 * hook's error is raised, and a refusal of the limiter is what finish returns. reuse: a pending
 * call of this client that is over, made the new one (a pager's prefetches use one object for
 * the walk: a finaliser per chunk holds the collector back). */
static int client_start(lua_State *L) {
  sa_client *c = check_client(L);
  sa_transfer *x = NULL;
  sa_pending *p;
  sa_call k;
  int i, st;
  if (c->busy)
    return luaL_error(L, "a " CLIENT_MT
                         " cannot be used from its own sleep, clock, on_event or on_progress");
  for (i = 1; i < SA_POOL_SIZE && x == NULL; i++)
    if (!c->xfer[i].reserved) x = &c->xfer[i];
  if (x == NULL) return 0;
  if (!lua_isnoneornil(L, 5) && !lua_isstring(L, 5))
    return luaL_argerror(L, 5, "h:start takes a string body");
  if (!sa_transfer_prepare(c, x)) return luaL_error(L, "studioapi: cannot create a libcurl handle");
  prepare_request(L, c, x, &k); /* 9 reuse, 10 base URL, 11 URL, 12 hook runner */
  p = luaL_testudata(L, 9, PENDING_MT);
  if (p != NULL && p->state == PENDING_OVER && p->k.c == c)
    lua_pushvalue(L, 9); /* 13 */
  else {
    p = lua_newuserdatauv(L, sizeof *p, 7);
    memset(p, 0, sizeof *p); /* PENDING_OVER: __gc is safe from here on */
    luaL_setmetatable(L, PENDING_MT);
  }
  lua_pushvalue(L, 1);
  lua_setiuservalue(L, 13, 1);
  lua_pushvalue(L, 3);
  lua_setiuservalue(L, 13, 2);
  lua_pushvalue(L, 10);
  lua_setiuservalue(L, 13, 3);
  lua_pushvalue(L, 11);
  lua_setiuservalue(L, 13, 4);
  lua_pushvalue(L, 7);
  lua_setiuservalue(L, 13, 5);
  lua_pushvalue(L, 8);
  lua_setiuservalue(L, 13, 6);
  lua_pushvalue(L, 5);
  lua_setiuservalue(L, 13, 7);
  p->k = k;
  p->x = x;
  x->reserved = 1; /* a hook that starts another call meanwhile takes another slot */
  x->call = &p->k;
  p->state = PENDING_STARTED; /* from here a raise leaves the cleanup to __gc */
  c->busy = 1;
  st = sa_call_start(&p->k);
  c->busy = 0;
  if (st == SA_CALL_STARTED) {
    lua_settop(L, 13);
    return 1;
  }
  p->state = PENDING_OVER; /* nothing in flight */
  p->x = NULL;
  x->reserved = 0;
  x->call = NULL;
  curl_slist_free_all(x->extra);
  curl_slist_free_all(x->retry);
  x->extra = x->retry = NULL;
  sa_transfer_finish(x);
  if (st == SA_CALL_REFUSED) {
    p->state = PENDING_REFUSED;
    lua_settop(L, 13);
    return 1;
  }
  if (st == SA_CALL_RAISED) return lua_error(L);
  return luaL_error(L, "studioapi: not enough memory");
}

/* h:finish(pending) -> what h:perform returns, for the call h:start began: waits for its answer
 * (the timeout counts from now), goes on with the retry policy, decodes as asked. */
static int client_finish(lua_State *L) {
  sa_client *c = check_client(L);
  sa_pending *p = luaL_checkudata(L, 2, PENDING_MT);
  sa_transfer *x = p->x;
  int st;
  if (c->busy)
    return luaL_error(L, "a " CLIENT_MT
                         " cannot be used from its own sleep, clock, on_event or on_progress");
  if (p->k.c != c) return luaL_argerror(L, 2, "a call started by another client");
  if (p->state == PENDING_REFUSED) {
    p->state = PENDING_OVER;
    return push_refused(L, &p->k);
  }
  if (p->state != PENDING_STARTED) return luaL_argerror(L, 2, "finished or cancelled already");
  /* perform's slots: 3 target, 5 body, 7 plan, 8 metatables, 10 base URL, 11 URL, 12 runner */
  lua_settop(L, 2);
  lua_getiuservalue(L, 2, 2);
  lua_pushnil(L);
  lua_getiuservalue(L, 2, 7);
  lua_pushnil(L);
  lua_getiuservalue(L, 2, 5);
  lua_getiuservalue(L, 2, 6);
  lua_pushnil(L);
  lua_getiuservalue(L, 2, 3);
  lua_getiuservalue(L, 2, 4);
  lua_pushcfunction(L, sa_call_hook_runner); /* 12 */
  luaL_checkstack(L, 8, "studioapi: no stack space for the call's hooks");
  p->k.L = L;
  p->k.client_idx = 1;
  p->k.runner_idx = 12;
  p->state = PENDING_OVER;
  p->x = NULL;
  x->call = NULL;
  if (x->body.data == NULL && c->spare.data != NULL) { /* a lazy array's buffer, given back */
    x->body = c->spare;
    memset(&c->spare, 0, sizeof c->spare);
  }
  c->busy = 1;
  st = sa_call_finish(&p->k);
  c->busy = 0;
  x->reserved = 0;
  curl_slist_free_all(x->extra);
  curl_slist_free_all(x->retry);
  x->extra = x->retry = NULL;
  if (st == SA_CALL_DONE) {
    int n = wants_decoding(L, x, &p->k) ? push_decoded(L, c, x, &p->k) : 0;
    return n > 0 ? n : push_call(L, &p->k);
  }
  sa_transfer_finish(x);
  if (st == SA_CALL_REFUSED) return push_refused(L, &p->k);
  if (st == SA_CALL_RAISED) return lua_error(L);
  return luaL_error(L, "studioapi: not enough memory");
}

/* Started calls of a client that closes: the limiter counts them as sent now, not when their
 * pending objects are collected (sa_client_release takes their transfers off). */
static void cancel_started(sa_client *c) {
  int i;
  for (i = 1; i < SA_POOL_SIZE; i++)
    if (c->xfer[i].call != NULL) {
      sa_call_cancel(c->xfer[i].call);
      c->xfer[i].call = NULL;
    }
}

/* ---------------------------------------------------------------- module functions */

/* Monotonic seconds: for timeouts, backoff and rate windows, immune to clock changes. */
static int core_now(lua_State *L) {
  lua_pushnumber(L, (lua_Number)sa_mono_now());
  return 1;
}

static int core_sleep(lua_State *L) {
  lua_Number s = luaL_checknumber(L, 1);
  luaL_argcheck(L, s >= 0 && s <= 1e9, 1, "seconds must be >= 0 and <= 1e9");
  sa_sleep((double)s);
  return 0;
}

/* core.limiter_endpoints() -> how many endpoints the process-wide limiter tracks, and its cap. */
static int core_limiter_endpoints(lua_State *L) {
  lua_pushinteger(L, sa_rl_size());
  lua_pushinteger(L, SA_RL_MAX_ENTRIES);
  return 2;
}

static const luaL_Reg client_methods[] = {{"perform", client_perform},
                                          {"start", client_start},
                                          {"finish", client_finish},
                                          {"close", client_close},
                                          {NULL, NULL}};

static const luaL_Reg client_meta[] = {{"__gc", client_close},
                                       {"__close", client_close},
                                       {"__tostring", client_tostring},
                                       {NULL, NULL}};

static const luaL_Reg core_functions[] = {{"new", client_new},
                                          {"now", core_now},
                                          {"sleep", core_sleep},
                                          {"limiter_endpoints", core_limiter_endpoints},
                                          {"plain_target", core_plain_target},
                                          {NULL, NULL}};

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
  if (luaL_newmetatable(L, BUFFER_MT)) {
    lua_pushcfunction(L, buffer_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_pop(L, 1);
  if (luaL_newmetatable(L, CURSOR_MT)) {
    luaL_setfuncs(L, cursor_meta, 0);
    luaL_newlib(L, cursor_methods);
    lua_setfield(L, -2, "__index");
  }
  lua_pop(L, 1);
  if (luaL_newmetatable(L, PENDING_MT)) {
    lua_pushcfunction(L, pending_gc);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, pending_gc);
    lua_setfield(L, -2, "__close");
    lua_newtable(L);
    lua_pushcfunction(L, pending_cancel_method);
    lua_setfield(L, -2, "cancel");
    lua_setfield(L, -2, "__index");
  }
  lua_pop(L, 1);
  luaL_newlib(L, core_functions);
  lua_pushstring(L, sa_curl_version());
  lua_setfield(L, -2, "curl_version");
  sa_json_open(L);
  sa_multipart_open(L); /* core.file_info, and the client's download method */
  return 1;
}
