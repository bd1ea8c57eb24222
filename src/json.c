/* studioapi — JSON codec: decodes straight into Lua tables and encodes them back.
 *
 * Why not lua-cjson: Debian's 2.1.0 cannot tell `[]` from `{}` after decoding and keeps JSON null
 * as a value; our entities must re-encode arrays as arrays (also when empty) and have nulls absent.
 * Decoding is also the dominant cost of paging, so the decoder is written for speed:
 *   - one pass, recursive descent, no tokenizer and no intermediate tree;
 *   - strings without escapes are pushed straight from the input (scanned 8 bytes at a time);
 *   - integers and short decimals are converted without strtod (see parse_number);
 *   - object keys come from a small cache of keys, kept across documents, instead of being
 *     interned anew (interning is the largest single cost; see push_key);
 *   - tables are pre-sized from the size of the last value under the same key (or, for array
 *     elements, at the same depth): pages are arrays of same-shaped objects, so the guess is
 *     almost always right and costs nothing.
 *
 * Lua-visible behaviour (the contract is in docs/internals.md):
 *   decode: objects → plain tables, a null member is absent (and removes an earlier duplicate:
 *     the last occurrence of a key wins); arrays → tables with core.json_array_mt, a null element
 *     is core.json_null; top-level null → nil. Numbers: see parse_number. Strings: all escapes;
 *     an unpaired surrogate escape becomes U+FFFD; raw bytes ≥ 0x80 pass through unvalidated.
 *     Errors return nil, "<what> at byte <n>" (n counts from 1). Nesting is limited to
 *     SA_JSON_MAX_DEPTH arrays/objects.
 *   encode: see enc_table for how a table becomes an array or an object. Object members come
 *     in lua_next order (not sorted: the order may differ between runs). Floats print with the
 *     fewest of 15/16/17 significant digits that read back exactly; integral floats print as
 *     integers ("3", not "3.0", which strict servers refuse for integer fields).
 *   core.json_null is lightuserdata(NULL), the same value as cjson.null and ngx.null.
 */
#include <float.h>
#include <locale.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

/* A userdata without user values for buffers: compat.h's lua_newuserdatauv gives every userdata
 * on LuaJIT a fresh environment table, a cost this codec does not need to pay. */
#if LUA_VERSION_NUM >= 504
#define json_newbox(L, sz) lua_newuserdatauv((L), (sz), 0)
#else
#define json_newbox(L, sz) lua_newuserdata((L), (sz))
#endif

/* The index type of lua_rawgeti/lua_rawseti. */
#if LUA_VERSION_NUM >= 503
typedef lua_Integer json_index;
#else
typedef int json_index;
#endif

#define JSON_BUFFER_MT "studioapi.json.buffer"
#define JSON_STR(x)    #x
#define JSON_XSTR(x)   JSON_STR(x)

#define R8(v)  v, v, v, v, v, v, v, v
#define R16(v) R8(v), R8(v)

/* clang-format off */
/* Bytes that end the fast scan of a string: '"', '\\' and the control characters. */
static const unsigned char str_stop[256] = {
    R16(1), R16(1),                                     /* 0x00-0x1f */
    0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,     /* 0x20-0x2f: '"' */
    R16(0), R16(0),                                     /* 0x30-0x4f */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0,     /* 0x50-0x5f: '\\' */
    R16(0), R16(0), R16(0), R16(0), R16(0), R16(0), R16(0), R16(0), R16(0), R16(0)};

/* How the encoder writes each byte of a string: 0 as is, 'u' as \u00XX, else '\\' and that byte. */
static const char str_escape[256] = {
    'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'b', 't', 'n', 'u', 'f', 'r', 'u', 'u', /* 0x00 */
    R16('u'),                                                                       /* 0x10 */
    0,   0,   '"', 0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   /* 0x20 */
    R16(0),   R16(0),                                                               /* 0x30 */
    0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   '\\', 0,  0,   0,   /* 0x50 */
    R16(0),   R16(0),   R16(0),   R16(0),   R16(0),   R16(0),   R16(0),   R16(0),   R16(0),
    R16(0)};
/* clang-format on */

/* ------------------------------------------------------------------------------------------ */
/* Decoder                                                                                    */
/* ------------------------------------------------------------------------------------------ */

#define HINT_LEVELS SA_JSON_HINT_LEVELS /* depths that remember their last sizes */

/* The sizes of the last object and array seen at one place: a depth, or a member key. A hint is
 * consumed when read and set again when its container closes, so every preallocated slot was paid
 * for by a container of the input (no blow-up from one huge array followed by many small ones). */
typedef sa_json_shape shape;

#define KEY_CACHE_BITS   7
#define KEY_CACHE_SIZE   (1 << KEY_CACHE_BITS)
#define KEY_CACHE_MAXLEN 40

/* Registry name of the key cache's table: its strings at 1..KEY_CACHE_SIZE, then (KEYS_*) the
 * key_cache box, json_array_mt and the plan nodes' member names, so that a decode finds all it
 * needs with one registry lookup (the cursors of lazy arrays decode one element per call). One
 * per lua_State, kept across documents: the answers of one API share their keys, so a small
 * answer finds them interned already, and every document's shapes help the next one's
 * pre-sizing. */
#define JSON_KEYS_NAME  "studioapi.json.keys"
#define KEYS_BOX        (KEY_CACHE_SIZE + 1)
#define KEYS_ARRAY_MT   (KEY_CACHE_SIZE + 2)
#define KEYS_PLAN_NAMES (KEY_CACHE_SIZE + 3) /* "schema", "fields", "items", "lazy" */
#define KEYS_SLOTS      (KEY_CACHE_SIZE + 6)

/* The cached keys, whose strings the table anchors. A decode that runs inside another (from a
 * metatable's __index or a finaliser) shares it: each entry is updated with no allocation between
 * the string and its pointer, and a shape that changes key under a decoder is only a size hint. */
typedef struct key_cache {
  struct {
    const char *s; /* the bytes of the cached string, NULL for an empty entry */
    size_t len;
    shape sh; /* what this key's values looked like last time */
  } keys[KEY_CACHE_SIZE];
} key_cache;

enum { ERR_AT, ERR_EXPECT, ERR_EMPTY };

typedef struct decoder {
  lua_State *L;
  const char *start, *end; /* the input */
  int mt_idx;              /* stack slot of json_array_mt */
  int scratch_idx;         /* stack slot anchoring the scratch userdata once one is needed */
  char *scratch;           /* where escaped strings are unescaped: small[] or that userdata */
  size_t scratch_cap;
  const char *err_at; /* the first error: where, how to phrase it, what */
  int err_kind;
  const char *err_what;
  int cache_idx; /* stack slot of the key cache's table */
  key_cache *kc;
  int names_idx; /* with a plan: the slots of "schema", "fields", "items", "lazy" (+0..3) */
  int mts_idx;   /* with a plan: the slot of the metatables by schema, 0 when none were given */
  sa_json_lazy *lazy; /* what stands in for a root member's array marked lazy; NULL: none */
  shape *at_depth;    /* HINT_LEVELS + 1 of them: the last one serves every deeper level */
  shape own_depth[HINT_LEVELS + 1];
  char small[256];
} decoder;

static const char *parse_value(decoder *d, const char *p, int depth, shape *sh, int node);

static inline shape *depth_shape(decoder *d, int depth) {
  return &d->at_depth[depth < HINT_LEVELS ? depth : HINT_LEVELS];
}

/* Records the error (the first one only) and returns NULL, which every parser propagates. */
static const char *fail(decoder *d, const char *at, int kind, const char *what) {
  if (d->err_what == NULL) {
    d->err_at = at;
    d->err_kind = kind;
    d->err_what = what;
  }
  return NULL;
}

static void describe_byte(char *out, size_t size, unsigned char c) {
  if (c == '\'')
    snprintf(out, size, "\"'\"");
  else if (c >= 0x20 && c < 0x7f)
    snprintf(out, size, "'%c'", c);
  else if (c < 0x80)
    snprintf(out, size, "control character 0x%02x", (unsigned)c);
  else
    snprintf(out, size, "byte 0x%02x", (unsigned)c);
}

/* "expected ',' or ']' but found 'x' at byte 7", "invalid escape sequence at byte 3",
 * "unexpected end of input at byte 9 (expected ':')", "empty document". */
static void push_error(decoder *d) {
  char msg[200], found[40];
  size_t at = (size_t)(d->err_at - d->start) + 1;
  if (d->err_kind == ERR_EMPTY)
    snprintf(msg, sizeof msg, "%s", d->err_what);
  else if (d->err_at >= d->end)
    snprintf(msg, sizeof msg, "unexpected end of input at byte %zu (%s%s)", at,
             d->err_kind == ERR_EXPECT ? "expected " : "", d->err_what);
  else if (d->err_kind == ERR_EXPECT) {
    describe_byte(found, sizeof found, (unsigned char)*d->err_at);
    snprintf(msg, sizeof msg, "expected %s but found %s at byte %zu", d->err_what, found, at);
  } else
    snprintf(msg, sizeof msg, "%s at byte %zu", d->err_what, at);
  lua_pushstring(d->L, msg);
}

static inline const char *skip_ws(const char *p, const char *end) {
  while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
    p++;
  return p;
}

/* A scratch area of at least n bytes; grows into a userdata anchored at scratch_idx (so nothing
 * leaks when an allocation raises), reused by every later string of the same document. */
static char *scratch_reserve(decoder *d, size_t n) {
  if (n > d->scratch_cap) {
    size_t cap = d->scratch_cap * 2;
    if (cap < n) cap = n;
    d->scratch = (char *)json_newbox(d->L, cap);
    lua_replace(d->L, d->scratch_idx);
    d->scratch_cap = cap;
  }
  return d->scratch;
}

static const char *parse_literal(decoder *d, const char *p, const char *lit, size_t n) {
  size_t avail = (size_t)(d->end - p);
  if (avail >= n) {
    if (memcmp(p, lit, n) == 0) return p + n;
  } else if (memcmp(p, lit, avail) == 0)
    return fail(d, d->end, ERR_AT, "truncated literal");
  return fail(d, p, ERR_AT, "invalid literal");
}

/* ---- numbers ---------------------------------------------------------------------------- */

/* m * 10^e is exact and correctly rounded when m < 2^53 and |e| <= 22 (Clinger's fast path), as
 * long as double arithmetic is not carried out in extended precision. */
#if defined(FLT_EVAL_METHOD) && FLT_EVAL_METHOD == 0
#define JSON_FAST_FLOAT 1
#else
#define JSON_FAST_FLOAT 0
#endif
#define MANTISSA_EXACT 9007199254740992ULL /* 2^53 */

static const double pow10_exact[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                     1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                     1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* The slow, general conversion: strtod on a NUL-terminated copy in which '.' is replaced by the
 * locale's decimal point (strtod reads the C library's current locale, which the application may
 * have changed; like Lua itself, a single-byte decimal point is assumed). */
static void push_strtod(decoder *d, const char *start, const char *stop) {
  size_t i, n = (size_t)(stop - start);
  char local[64];
  char *buf = n < sizeof local ? local : scratch_reserve(d, n + 1);
  char point = localeconv()->decimal_point[0];
  for (i = 0; i < n; i++)
    buf[i] = start[i] == '.' ? point : start[i];
  buf[n] = '\0';
  lua_pushnumber(d->L, (lua_Number)strtod(buf, NULL));
}

/* Grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? — so no '+', no ".5", no "1.", no
 * leading zeros, no NaN/Infinity. On Lua 5.4 a literal without fraction and exponent that fits
 * lua_Integer becomes an integer (int64 ids stay exact); "-0" and every other literal become a
 * float. On LuaJIT every number is a double, so integers beyond 2^53 (some int64 ids) are rounded
 * to the nearest double there. Magnitudes beyond the double range decode to ±math.huge or ±0, as
 * strtod gives them. */
static const char *parse_number(decoder *d, const char *p) {
  const char *start = p, *end = d->end;
  uint64_t m = 0;   /* the first 19 significant digits */
  int digits = 0;   /* how many of them */
  int exact = 1;    /* 0 once a significant digit did not fit in m */
  int integral = 1; /* no fraction, no exponent */
  long exp10 = 0;   /* value = m * 10^exp10 (when exact) */
  int neg = 0;

  if (*p == '-') {
    neg = 1;
    p++;
  }
  if (p == end || *p < '0' || *p > '9') return fail(d, p, ERR_EXPECT, "a digit");
  if (*p == '0') {
    p++;
    if (p < end && *p >= '0' && *p <= '9') return fail(d, p - 1, ERR_AT, "leading zero in number");
  } else {
    do {
      if (digits < 19) {
        m = m * 10 + (uint64_t)(*p - '0');
        digits++;
      } else {
        exact = 0;
        exp10++;
      }
      p++;
    } while (p < end && *p >= '0' && *p <= '9');
  }
  if (p < end && *p == '.') {
    integral = 0;
    p++;
    if (p == end || *p < '0' || *p > '9') return fail(d, p, ERR_EXPECT, "a digit after '.'");
    do {
      if (digits < 19) {
        m = m * 10 + (uint64_t)(*p - '0');
        if (m != 0) digits++; /* leading zeros of 0.000123 are not significant */
        exp10--;
      } else if (*p != '0')
        exact = 0;
      p++;
    } while (p < end && *p >= '0' && *p <= '9');
  }
  if (p < end && (*p == 'e' || *p == 'E')) {
    long e = 0;
    int eneg = 0;
    integral = 0;
    p++;
    if (p < end && (*p == '+' || *p == '-')) eneg = *p++ == '-';
    if (p == end || *p < '0' || *p > '9') return fail(d, p, ERR_EXPECT, "a digit in the exponent");
    do {
      if (e < 100000) e = e * 10 + (*p - '0'); /* far beyond any double: saturate */
      p++;
    } while (p < end && *p >= '0' && *p <= '9');
    exp10 += eneg ? -e : e;
  }

  if (integral && exact) {
#if LUA_VERSION_NUM >= 503
    if (!neg && m <= (uint64_t)LUA_MAXINTEGER) {
      lua_pushinteger(d->L, (lua_Integer)m);
      return p;
    }
    if (neg && m != 0 && m <= (uint64_t)LUA_MAXINTEGER) {
      lua_pushinteger(d->L, -(lua_Integer)m);
      return p;
    }
    if (neg && m == (uint64_t)LUA_MAXINTEGER + 1) {
      lua_pushinteger(d->L, LUA_MININTEGER);
      return p;
    }
#else
    if (m <= MANTISSA_EXACT && m != 0) {
      lua_pushnumber(d->L, neg ? -(lua_Number)m : (lua_Number)m);
      return p;
    }
#endif
  }
  if (m == 0) { /* every digit was a zero: ±0 whatever the exponent */
    lua_pushnumber(d->L, neg ? -0.0 : 0.0);
    return p;
  }
  if (JSON_FAST_FLOAT && exact && m <= MANTISSA_EXACT && exp10 >= -22 && exp10 <= 22) {
    double v = (double)m;
    v = exp10 < 0 ? v / pow10_exact[-exp10] : v * pow10_exact[exp10];
    lua_pushnumber(d->L, (lua_Number)(neg ? -v : v));
    return p;
  }
  push_strtod(d, start, p);
  return p;
}

/* ---- strings ---------------------------------------------------------------------------- */

static inline int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* The 4 hex digits at p, already validated. */
static unsigned hex4(const char *p) {
  return (unsigned)(hexval(p[0]) << 12 | hexval(p[1]) << 8 | hexval(p[2]) << 4 | hexval(p[3]));
}

static char *put_utf8(char *w, unsigned cp) {
  if (cp < 0x80) {
    *w++ = (char)cp;
  } else if (cp < 0x800) {
    *w++ = (char)(0xc0 | cp >> 6);
    *w++ = (char)(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    *w++ = (char)(0xe0 | cp >> 12);
    *w++ = (char)(0x80 | (cp >> 6 & 0x3f));
    *w++ = (char)(0x80 | (cp & 0x3f));
  } else {
    *w++ = (char)(0xf0 | cp >> 18);
    *w++ = (char)(0x80 | (cp >> 12 & 0x3f));
    *w++ = (char)(0x80 | (cp >> 6 & 0x3f));
    *w++ = (char)(0x80 | (cp & 0x3f));
  }
  return w;
}

/* The string that starts at s has a backslash, a control character or the end of input at p.
 * First pass: find the closing quote and validate everything; second pass: unescape into the
 * scratch area, which is large enough because no escape is shorter than what it stands for. */
/* The closing quote of the string whose bytes from q on are not scanned yet, every escape and
 * byte checked as the decoder reads them; NULL on an error. */
static const char *string_close(decoder *d, const char *q) {
  const char *end = d->end;
  for (;;) {
    unsigned char c;
    if (q >= end) return fail(d, end, ERR_AT, "unterminated string");
    c = (unsigned char)*q;
    if (c == '"') break;
    if (c < 0x20) return fail(d, q, ERR_AT, "unescaped control character in string");
    if (c != '\\') {
      q++;
      continue;
    }
    if (q + 1 >= end) return fail(d, end, ERR_AT, "unterminated string");
    switch (q[1]) {
    case '"':
    case '\\':
    case '/':
    case 'b':
    case 'f':
    case 'n':
    case 'r':
    case 't':
      q += 2;
      break;
    case 'u': {
      int i;
      for (i = 2; i < 6; i++) {
        if (q + i >= end) return fail(d, end, ERR_AT, "unterminated string");
        if (hexval(q[i]) < 0) return fail(d, q, ERR_AT, "invalid \\u escape");
      }
      q += 6;
      break;
    }
    default:
      return fail(d, q, ERR_AT, "invalid escape sequence");
    }
  }
  return q;
}

static const char *parse_string_slow(decoder *d, const char *s, const char *p) {
  const char *q = string_close(d, p);
  char *out, *w;
  if (q == NULL) return NULL;
  out = scratch_reserve(d, (size_t)(q - s));
  memcpy(out, s, (size_t)(p - s));
  w = out + (p - s);
  while (p < q) {
    if (*p != '\\') {
      const char *run = p;
      while (p < q && *p != '\\')
        p++;
      memcpy(w, run, (size_t)(p - run));
      w += p - run;
      continue;
    }
    switch (p[1]) {
    case 'b':
      *w++ = '\b';
      break;
    case 'f':
      *w++ = '\f';
      break;
    case 'n':
      *w++ = '\n';
      break;
    case 'r':
      *w++ = '\r';
      break;
    case 't':
      *w++ = '\t';
      break;
    case 'u': {
      unsigned cp = hex4(p + 2);
      if (cp >= 0xd800 && cp <= 0xdbff) { /* a high surrogate: only valid with a low one next */
        unsigned lo = (q - p >= 12 && p[6] == '\\' && p[7] == 'u') ? hex4(p + 8) : 0;
        if (lo >= 0xdc00 && lo <= 0xdfff) {
          cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
          p += 6;
        } else
          cp = 0xfffd;
      } else if (cp >= 0xdc00 && cp <= 0xdfff)
        cp = 0xfffd;
      w = put_utf8(w, cp);
      p += 4;
      break;
    }
    default:
      *w++ = p[1];
      break; /* '"', '\\', '/' */
    }
    p += 2;
  }
  lua_pushlstring(d->L, out, (size_t)(w - out));
  return q + 1;
}

static inline uint64_t load64(const char *p) {
  uint64_t x;
  memcpy(&x, p, sizeof x);
  return x;
}

/* Marks (0x80 in the byte) the bytes of x that are '"', '\\' or below 0x20. Exact as a yes/no
 * answer, and the lowest marked byte is exact too (borrows only corrupt bytes above it). */
static inline uint64_t stop_bytes(uint64_t x) {
  const uint64_t ones = 0x0101010101010101ULL, high = 0x8080808080808080ULL;
  uint64_t q = x ^ (ones * '"'), b = x ^ (ones * '\\');
  return (((q - ones) & ~q) | ((b - ones) & ~b) | ((x - ones * 0x20) & ~x)) & high;
}

#if defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define JSON_CTZ_SCAN 1 /* the first marked byte is the lowest: count trailing zero bits */
#else
#define JSON_CTZ_SCAN 0
#endif

/* The first '"', '\\' or control character at or after p, or end. */
static inline const char *scan_string(const char *p, const char *end) {
  while (end - p >= 8) {
    uint64_t m = stop_bytes(load64(p));
    if (m != 0) {
#if JSON_CTZ_SCAN
      return p + (__builtin_ctzll(m) >> 3);
#else
      break;
#endif
    }
    p += 8;
  }
  while (p < end && !str_stop[(unsigned char)*p])
    p++;
  return p;
}

/* p is just after the opening quote. Pushes the string, returns the byte after the closing one. */
static const char *parse_string(decoder *d, const char *p) {
  const char *s = p;
  p = scan_string(p, d->end);
  if (p < d->end && *p == '"') {
    lua_pushlstring(d->L, s, (size_t)(p - s));
    return p + 1;
  }
  return parse_string_slow(d, s, p);
}

/* Object keys repeat from one object to the next, and interning a string (hashing every byte, then
 * a chain walk) is the largest single cost of decoding; so keys are looked up in a small
 * direct-mapped cache first (key_cache), whose strings are anchored in the table at cache_idx. */
static shape *push_key(decoder *d, const char *s, size_t len, int depth) {
  lua_State *L = d->L;
  key_cache *kc = d->kc;
  unsigned h;
  if (len == 0 || len > KEY_CACHE_MAXLEN) {
    lua_pushlstring(L, s, len);
    return depth_shape(d, depth);
  }
  h = ((unsigned)len ^ (unsigned)(unsigned char)s[0] << 8 ^
       (unsigned)(unsigned char)s[len >> 1] << 16 ^ (unsigned)(unsigned char)s[len - 1] << 24);
  h = (h * 0x9e3779b1u) >> (32 - KEY_CACHE_BITS);
  if (kc->keys[h].len == len && memcmp(kc->keys[h].s, s, len) == 0) {
    lua_rawgeti(L, d->cache_idx, (json_index)h + 1);
    return &kc->keys[h].sh;
  }
  lua_pushlstring(L, s, len);
  lua_pushvalue(L, -1);
  lua_rawseti(L, d->cache_idx, (json_index)h + 1); /* in the array part: no allocation */
  kc->keys[h].s = lua_tostring(L, -1); /* strings do not move: valid while the table holds it */
  kc->keys[h].len = len;
  kc->keys[h].sh.obj = kc->keys[h].sh.arr = 0;
  return &kc->keys[h].sh;
}

/* Like parse_string, for a key of a member at depth; *sh is where its value's size hints live. */
static const char *parse_key(decoder *d, const char *p, int depth, shape **sh) {
  const char *s = p;
  p = scan_string(p, d->end);
  if (p < d->end && *p == '"') {
    *sh = push_key(d, s, (size_t)(p - s), depth);
    return p + 1;
  }
  *sh = depth_shape(d, depth);
  return parse_string_slow(d, s, p);
}

/* ---- containers ------------------------------------------------------------------------- */

#define DEPTH_MSG "nesting deeper than " JSON_XSTR(SA_JSON_MAX_DEPTH) " levels"

static const char *skip_value(decoder *d, const char *p, int depth);

static int is_digit(char c) {
  return c >= '0' && c <= '9';
}

/* Goes past a number, checking parse_number's grammar without making the value. */
static const char *skip_number(decoder *d, const char *p) {
  const char *end = d->end;
  if (*p == '-') p++;
  if (p == end || !is_digit(*p)) return fail(d, p, ERR_EXPECT, "a digit");
  if (*p == '0') {
    if (++p < end && is_digit(*p)) return fail(d, p - 1, ERR_AT, "leading zero in number");
  } else
    while (++p < end && is_digit(*p)) {
    }
  if (p < end && *p == '.') {
    if (++p == end || !is_digit(*p)) return fail(d, p, ERR_EXPECT, "a digit after '.'");
    while (++p < end && is_digit(*p)) {
    }
  }
  if (p < end && (*p == 'e' || *p == 'E')) {
    if (++p < end && (*p == '+' || *p == '-')) p++;
    if (p == end || !is_digit(*p)) return fail(d, p, ERR_EXPECT, "a digit in the exponent");
    while (++p < end && is_digit(*p)) {
    }
  }
  return p;
}

/* p is at '[' or '{': goes past the container, checking it as the decoder would read it but
 * making nothing. *count, when given, counts the elements. */
static const char *skip_container(decoder *d, const char *p, int depth, int *count) {
  const char *end = d->end;
  char close = *p == '{' ? '}' : ']';
  if (depth >= SA_JSON_MAX_DEPTH) return fail(d, p, ERR_AT, DEPTH_MSG);
  p = skip_ws(p + 1, end);
  if (p < end && *p == close) return p + 1;
  for (;;) {
    if (close == '}') {
      if (p >= end || *p != '"') return fail(d, p, ERR_EXPECT, "a string key");
      if ((p = skip_value(d, p, depth + 1)) == NULL) return NULL;
      p = skip_ws(p, end);
      if (p >= end || *p != ':') return fail(d, p, ERR_EXPECT, "':'");
      p = skip_ws(p + 1, end);
    }
    if ((p = skip_value(d, p, depth + 1)) == NULL) return NULL;
    if (count != NULL) ++*count;
    p = skip_ws(p, end);
    if (p < end && *p == ',') {
      const char *comma = p;
      p = skip_ws(p + 1, end);
      if (p < end && *p == close) return fail(d, comma, ERR_AT, "trailing comma");
    } else if (p < end && *p == close) {
      return p + 1;
    } else
      return fail(d, p, ERR_EXPECT, close == '}' ? "',' or '}'" : "',' or ']'");
  }
}

/* Goes past the value at p as skip_container does. */
static const char *skip_value(decoder *d, const char *p, int depth) {
  const char *end = d->end;
  if (p >= end) return fail(d, p, ERR_EXPECT, "a value");
  switch (*p) {
  case '"': {
    const char *q = scan_string(p + 1, end);
    if (q < end && *q == '"') return q + 1;
    q = string_close(d, q);
    return q != NULL ? q + 1 : NULL;
  }
  case '{':
  case '[':
    return skip_container(d, p, depth, NULL);
  case 't':
    return parse_literal(d, p, "true", 4);
  case 'f':
    return parse_literal(d, p, "false", 5);
  case 'n':
    return parse_literal(d, p, "null", 4);
  default:
    if (*p != '-' && !is_digit(*p)) return fail(d, p, ERR_EXPECT, "a value");
    return skip_number(d, p);
  }
}

/* Whether the plan node at node says `lazy = true`. */
static int plan_lazy(decoder *d, int node) {
  lua_State *L = d->L;
  int lazy;
  lua_pushvalue(L, d->names_idx + 3);
  lua_rawget(L, node);
  lazy = lua_toboolean(L, -1);
  lua_pop(L, 1);
  return lazy;
}

/* A root member's array whose node says lazy: checked and counted, not made; d->lazy pushes what
 * stands in for it (over the node's slot, as a value would). p is at '['. */
static const char *push_lazy(decoder *d, const char *p, int child) {
  const char *start = p;
  int count = 0;
  if ((p = skip_container(d, p, 1, &count)) == NULL) return NULL;
  d->lazy->push(d->L, d->lazy, (size_t)(start - d->start), (size_t)(p - d->start), count, child,
                d->mts_idx);
  return p;
}

/* The plan node's member `name` (0 "schema", 1 "fields", 2 "items") pushed when it is a table:
 * returns its slot; 0 (and nothing pushed) otherwise. */
static int plan_get(decoder *d, int node, int name) {
  lua_State *L = d->L;
  lua_pushvalue(L, d->names_idx + name);
  if (lua_rawget(L, node) == LUA_TTABLE) return lua_gettop(L);
  lua_pop(L, 1);
  return 0;
}

/* The new object at obj gets metatables[node.schema] when that is a table (the metatables' own
 * __index may make it on demand); pushes node.fields and returns its slot, or 0. */
static int plan_object(decoder *d, int node, int obj) {
  lua_State *L = d->L;
  if (d->mts_idx != 0) {
    lua_pushvalue(L, d->names_idx);
    if (lua_rawget(L, node) != LUA_TNIL) {
      lua_gettable(L, d->mts_idx);
      if (lua_istable(L, -1))
        lua_setmetatable(L, obj);
      else
        lua_pop(L, 1);
    } else
      lua_pop(L, 1);
  }
  return plan_get(d, node, 1);
}

/* The plan node of the member whose key is on top of the stack, pushed (its slot returned) when
 * fields names one; 0 and nothing pushed otherwise. */
static int plan_member(decoder *d, int fields) {
  lua_State *L = d->L;
  lua_pushvalue(L, -1);
  if (lua_rawget(L, fields) == LUA_TTABLE) return lua_gettop(L);
  lua_pop(L, 1);
  return 0;
}

/* p is at '['. depth counts the containers around this one; sh holds the size hint; node is the
 * slot of this array's plan node (0: none), whose `items` applies to every element. */
static const char *parse_array(decoder *d, const char *p, int depth, shape *sh, int node) {
  lua_State *L = d->L;
  const char *end = d->end;
  shape *elements = depth_shape(d, depth + 1);
  int n = 0, arr, items = 0;
  if (depth >= SA_JSON_MAX_DEPTH) return fail(d, p, ERR_AT, DEPTH_MSG);
  if (!lua_checkstack(L, 6)) return fail(d, p, ERR_AT, "nesting too deep for the Lua stack");
  lua_createtable(L, sh->arr, 0);
  sh->arr = 0;
  arr = lua_gettop(L);
  lua_pushvalue(L, d->mt_idx);
  lua_setmetatable(L, arr);
  if (node != 0) items = plan_get(d, node, 2);
  p = skip_ws(p + 1, end);
  if (p < end && *p == ']') {
    lua_settop(L, arr);
    return p + 1;
  }
  for (;;) {
    p = parse_value(d, p, depth + 1, elements, items);
    if (p == NULL) return NULL;
    lua_rawseti(L, arr, ++n);
    p = skip_ws(p, end);
    if (p < end && *p == ',') {
      const char *comma = p;
      p = skip_ws(p + 1, end);
      if (p < end && *p == ']') return fail(d, comma, ERR_AT, "trailing comma");
    } else if (p < end && *p == ']') {
      break;
    } else
      return fail(d, p, ERR_EXPECT, "',' or ']'");
  }
  sh->arr = n;
  lua_settop(L, arr);
  return p + 1;
}

/* p is at '{'; node is the slot of its plan node (0: none). The metatable is set as the object is
 * made, and members that are containers get their plan node from node.fields: no second walk. */
static const char *parse_object(decoder *d, const char *p, int depth, shape *sh, int node) {
  lua_State *L = d->L;
  const char *end = d->end;
  int n = 0, obj, fields = 0;
  if (depth >= SA_JSON_MAX_DEPTH) return fail(d, p, ERR_AT, DEPTH_MSG);
  if (!lua_checkstack(L, 6)) return fail(d, p, ERR_AT, "nesting too deep for the Lua stack");
  lua_createtable(L, 0, sh->obj);
  sh->obj = 0;
  obj = lua_gettop(L);
  if (node != 0) fields = plan_object(d, node, obj);
  p = skip_ws(p + 1, end);
  if (p < end && *p == '}') {
    lua_settop(L, obj);
    return p + 1;
  }
  for (;;) {
    shape *member;
    if (p >= end || *p != '"') return fail(d, p, ERR_EXPECT, "a string key");
    p = parse_key(d, p + 1, depth + 1, &member);
    if (p == NULL) return NULL;
    p = skip_ws(p, end);
    if (p >= end || *p != ':') return fail(d, p, ERR_EXPECT, "':'");
    p = skip_ws(p + 1, end);
    if (p < end && *p == 'n') {
      /* A null member is absent; as the last occurrence of its key it also drops an earlier one. */
      p = parse_literal(d, p, "null", 4);
      if (p == NULL) return NULL;
      lua_pushvalue(L, -1);
      lua_rawget(L, obj);
      if (lua_isnil(L, -1)) {
        lua_pop(L, 2);
      } else {
        lua_pop(L, 1);
        lua_pushnil(L);
        lua_rawset(L, obj);
        n--;
      }
    } else {
      int child = fields != 0 && p < end && (*p == '{' || *p == '[') ? plan_member(d, fields) : 0;
      if (child != 0 && depth == 0 && d->lazy != NULL && *p == '[' && plan_lazy(d, child))
        p = push_lazy(d, p, child);
      else
        p = parse_value(d, p, depth + 1, member, child);
      if (p == NULL) return NULL;
      if (child != 0) lua_replace(L, child); /* the value takes the node's slot */
      lua_rawset(L, obj);
      n++;
    }
    p = skip_ws(p, end);
    if (p < end && *p == ',') {
      const char *comma = p;
      p = skip_ws(p + 1, end);
      if (p < end && *p == '}') return fail(d, comma, ERR_AT, "trailing comma");
    } else if (p < end && *p == '}') {
      break;
    } else
      return fail(d, p, ERR_EXPECT, "',' or '}'");
  }
  sh->obj = n > 0 ? n : 0;
  lua_settop(L, obj);
  return p + 1;
}

/* p is at the first byte of a value (or the end). Pushes the value; null pushes json_null. */
static const char *parse_value(decoder *d, const char *p, int depth, shape *sh, int node) {
  if (p >= d->end) return fail(d, p, ERR_EXPECT, "a value");
  switch (*p) {
  case '"':
    return parse_string(d, p + 1);
  case '{':
    return parse_object(d, p, depth, sh, node);
  case '[':
    return parse_array(d, p, depth, sh, node);
  case '-':
  case '0':
  case '1':
  case '2':
  case '3':
  case '4':
  case '5':
  case '6':
  case '7':
  case '8':
  case '9':
    return parse_number(d, p);
  case 't':
    p = parse_literal(d, p, "true", 4);
    if (p) lua_pushboolean(d->L, 1);
    return p;
  case 'f':
    p = parse_literal(d, p, "false", 5);
    if (p) lua_pushboolean(d->L, 0);
    return p;
  case 'n':
    p = parse_literal(d, p, "null", 4);
    if (p) lua_pushlightuserdata(d->L, NULL);
    return p;
  default:
    return fail(d, p, ERR_EXPECT, "a value");
  }
}

/* Sets d up over [s, s + len) and pushes its slots from base + 1 on: the key cache, json_array_mt,
 * the scratch, and with a plan the node member names. plan and mts are absolute slots or 0.
 * Returns base. */
static int decoder_open(decoder *d, lua_State *L, const char *s, size_t len, int plan, int mts) {
  int i, base = lua_gettop(L);
  luaL_checkstack(L, 12, "studioapi.json");
  lua_getfield(L, LUA_REGISTRYINDEX, JSON_KEYS_NAME); /* base + 1: the key cache's table */
  if (!lua_istable(L, -1)) luaL_error(L, "studioapi: sa_json_open was not called");
  lua_rawgeti(L, base + 1, KEYS_ARRAY_MT); /* base + 2 */
  lua_pushnil(L);                          /* base + 3: the scratch userdata, once needed */
  lua_rawgeti(L, base + 1, KEYS_BOX);
  d->kc = (key_cache *)lua_touserdata(L, -1); /* anchored by the table */
  lua_pop(L, 1);
  if (d->kc == NULL || !lua_istable(L, base + 2))
    luaL_error(L, "studioapi: sa_json_open was not called");
  if (s == NULL) s = "";
  d->L = L;
  d->start = s;
  d->end = s + len;
  d->cache_idx = base + 1;
  d->mt_idx = base + 2;
  d->scratch_idx = base + 3;
  d->scratch = d->small;
  d->scratch_cap = sizeof d->small;
  d->names_idx = base + 4;
  d->mts_idx = mts;
  d->lazy = NULL;
  if (plan != 0) /* base + 4 .. 7: the plan nodes' member names */
    for (i = 0; i < 4; i++)
      lua_rawgeti(L, base + 1, KEYS_PLAN_NAMES + i);
  d->err_what = NULL;
  d->at_depth = d->own_depth;
  memset(d->own_depth, 0, sizeof d->own_depth);
  return base;
}

/* Ends a decode that started at base: the value (p != NULL) or nil and the message. */
static int decoder_close(decoder *d, int base, const char *p) {
  if (p == NULL) {
    lua_settop(d->L, base);
    lua_pushnil(d->L);
    push_error(d);
    return 0;
  }
  lua_replace(d->L, base + 1);
  lua_settop(d->L, base + 1);
  return 1;
}

static int table_slot(lua_State *L, int idx) {
  return idx != 0 && lua_istable(L, idx) ? lua_absindex(L, idx) : 0;
}

int sa_json_push_plan(lua_State *L, const char *s, size_t len, int plan, int mts,
                      sa_json_lazy *lazy) {
  decoder d;
  const char *p;
  int base;
  plan = table_slot(L, plan);
  base = decoder_open(&d, L, s, len, plan, table_slot(L, mts));
  d.lazy = plan != 0 ? lazy : NULL;
  p = skip_ws(d.start, d.end);
  if (p == d.end) {
    p = fail(&d, p, ERR_EMPTY, "empty document");
  } else if (*p == 'n') { /* a top-level null is nil, not json_null */
    p = parse_literal(&d, p, "null", 4);
    if (p) lua_pushnil(L);
  } else
    p = parse_value(&d, p, 0, depth_shape(&d, 0), plan);
  if (p) {
    p = skip_ws(p, d.end);
    if (p < d.end) p = fail(&d, p, ERR_EXPECT, "end of input");
  }
  return decoder_close(&d, base, p);
}

int sa_json_push_next(lua_State *L, const char *s, size_t len, size_t *pos, int node, int mts,
                      sa_json_shape *hints) {
  decoder d;
  const char *p;
  int base;
  node = table_slot(L, node);
  base = decoder_open(&d, L, s, len, node, table_slot(L, mts));
  d.at_depth = hints;
  p = parse_value(&d, skip_ws(d.start + *pos, d.end), 0, depth_shape(&d, 0), node);
  if (p != NULL) {
    p = skip_ws(p, d.end);
    if (p < d.end && *p == ',') p++;
    *pos = (size_t)(p - d.start);
  }
  return decoder_close(&d, base, p);
}

int sa_json_fill(lua_State *L, const char *s, size_t len, size_t *pos, int n, int t, int node,
                 int mts, sa_json_shape *hints) {
  decoder d;
  const char *p;
  int i, base;
  t = lua_absindex(L, t);
  node = table_slot(L, node);
  base = decoder_open(&d, L, s, len, node, table_slot(L, mts));
  d.at_depth = hints;
  p = d.start + *pos;
  for (i = 0; i < n; i++) {
    p = parse_value(&d, skip_ws(p, d.end), 0, depth_shape(&d, 0), node);
    if (p == NULL) return decoder_close(&d, base, p) - 1;
    lua_rawseti(L, t, i + 1);
    p = skip_ws(p, d.end);
    if (p < d.end && *p == ',') p++;
    *pos = (size_t)(p - d.start);
  }
  lua_settop(L, base);
  return n;
}

int sa_json_skip_next(lua_State *L, const char *s, size_t len, size_t *pos, int n) {
  decoder d;
  const char *p;
  int base = decoder_open(&d, L, s, len, 0, 0);
  p = d.start + *pos;
  while (n-- > 0 && p != NULL) {
    p = skip_value(&d, skip_ws(p, d.end), 2);
    if (p != NULL) {
      p = skip_ws(p, d.end);
      if (p < d.end && *p == ',') p++;
    }
  }
  if (p != NULL) {
    *pos = (size_t)(p - d.start);
    lua_pushboolean(L, 1);
  }
  return decoder_close(&d, base, p);
}

int sa_json_push(lua_State *L, const char *s, size_t len) {
  return sa_json_push_plan(L, s, len, 0, 0, NULL);
}

/* core.json_decode(str [, plan [, metatables]]) → value | nil, message */
static int json_decode(lua_State *L) {
  size_t len;
  const char *s;
  luaL_checktype(L, 1, LUA_TSTRING);
  if (!lua_isnoneornil(L, 2)) luaL_checktype(L, 2, LUA_TTABLE);
  if (!lua_isnoneornil(L, 3)) luaL_checktype(L, 3, LUA_TTABLE);
  s = lua_tolstring(L, 1, &len);
  lua_settop(L, 3); /* the string stays anchored at 1 */
  return sa_json_push_plan(L, s, len, 2, 3, NULL) ? 1 : 2;
}

/* ------------------------------------------------------------------------------------------ */
/* Encoder                                                                                    */
/* ------------------------------------------------------------------------------------------ */

/* The output buffer lives in malloc'd memory owned by a userdata box whose __gc frees it, so a
 * Lua error raised half-way (a function value, a cycle, out of memory) leaks nothing. */
typedef struct jbuf {
  char *p;
  size_t len, cap;
} jbuf;

typedef struct encoder {
  lua_State *L;
  jbuf *b;
  int mt_idx; /* stack slot of json_array_mt */
} encoder;

static int jbuf_gc(lua_State *L) {
  jbuf *b = (jbuf *)lua_touserdata(L, 1);
  if (b != NULL) {
    free(b->p);
    b->p = NULL;
  }
  return 0;
}

static void enc_grow(encoder *e, size_t n) {
  jbuf *b = e->b;
  size_t cap = b->cap ? b->cap : 256;
  char *np;
  if (n > SIZE_MAX / 2 - b->len) luaL_error(e->L, "not enough memory");
  while (cap - b->len < n)
    cap *= 2;
  np = (char *)realloc(b->p, cap);
  if (np == NULL) luaL_error(e->L, "not enough memory");
  b->p = np;
  b->cap = cap;
}

static inline void enc_reserve(encoder *e, size_t n) {
  if (e->b->cap - e->b->len < n) enc_grow(e, n);
}

static inline void enc_add(encoder *e, const char *s, size_t n) {
  enc_reserve(e, n);
  memcpy(e->b->p + e->b->len, s, n);
  e->b->len += n;
}

static inline void enc_char(encoder *e, char c) {
  enc_reserve(e, 1);
  e->b->p[e->b->len++] = c;
}

static void enc_string(encoder *e, const char *s, size_t n) {
  static const char hex[] = "0123456789abcdef";
  size_t i = 0;
  enc_reserve(e, n + 2);
  e->b->p[e->b->len++] = '"';
  while (i < n) {
    size_t j = i;
    unsigned char c;
    char *w;
    while (j < n && !str_escape[(unsigned char)s[j]])
      j++;
    enc_add(e, s + i, j - i);
    if (j == n) break;
    c = (unsigned char)s[j];
    enc_reserve(e, 6 + (n - j)); /* this escape, the rest unescaped and the closing quote */
    w = e->b->p + e->b->len;
    *w++ = '\\';
    if (str_escape[c] == 'u') {
      *w++ = 'u';
      *w++ = '0';
      *w++ = '0';
      *w++ = hex[c >> 4];
      *w++ = hex[c & 15];
    } else
      *w++ = str_escape[c];
    e->b->len = (size_t)(w - e->b->p);
    i = j + 1;
  }
  enc_char(e, '"');
}

static void enc_integer(encoder *e, long long v) {
  char tmp[24], *q = tmp + sizeof tmp;
  unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
  do {
    *--q = (char)('0' + u % 10);
    u /= 10;
  } while (u != 0);
  if (v < 0) *--q = '-';
  enc_add(e, q, (size_t)(tmp + sizeof tmp - q));
}

static void enc_double(encoder *e, double v) {
  char buf[40];
  int prec, n = 0;
  char point;
  if (isnan(v)) luaL_error(e->L, "cannot encode NaN");
  if (isinf(v)) luaL_error(e->L, "cannot encode %s", v > 0 ? "inf" : "-inf");
  if (v >= -9223372036854775808.0 && v < 9223372036854775808.0 && v == (double)(long long)v) {
    if (v == 0 && signbit(v))
      enc_add(e, "-0", 2);
    else
      enc_integer(e, (long long)v);
    return;
  }
  for (prec = 15; prec <= 17; prec++) {
    n = snprintf(buf, sizeof buf, "%.*g", prec, v);
    if (prec == 17 || strtod(buf, NULL) == v) break;
  }
  point = localeconv()->decimal_point[0]; /* snprintf wrote the locale's decimal point */
  if (point != '.') {
    int i;
    for (i = 0; i < n; i++)
      if (buf[i] == point) buf[i] = '.';
  }
  enc_add(e, buf, (size_t)n);
}

static void enc_number(encoder *e, int idx) {
#if LUA_VERSION_NUM >= 503
  if (lua_isinteger(e->L, idx)) {
    enc_integer(e, (long long)lua_tointeger(e->L, idx));
    return;
  }
#endif
  enc_double(e, (double)lua_tonumber(e->L, idx));
}

static void enc_value(encoder *e, int idx, int depth);

enum { KIND_AUTO, KIND_ARRAY, KIND_OBJECT };

/* json_array_mt → array; a metatable whose (raw) __jsontype is "array" or "object" → that;
 * anything else, with or without a metatable, is judged by its raw contents. */
static int table_kind(encoder *e, int idx) {
  lua_State *L = e->L;
  int kind = KIND_AUTO;
  if (!lua_getmetatable(L, idx)) return KIND_AUTO;
  if (lua_rawequal(L, -1, e->mt_idx)) {
    lua_pop(L, 1);
    return KIND_ARRAY;
  }
  lua_pushliteral(L, "__jsontype");
  lua_rawget(L, -2);
  if (!lua_isnil(L, -1)) {
    const char *t = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
    if (t != NULL && strcmp(t, "array") == 0)
      kind = KIND_ARRAY;
    else if (t != NULL && strcmp(t, "object") == 0)
      kind = KIND_OBJECT;
    else if (t != NULL)
      luaL_error(L, "invalid __jsontype \"%s\" (expected \"array\" or \"object\")", t);
    else
      luaL_error(L, "invalid __jsontype (a %s; expected \"array\" or \"object\")",
                 luaL_typename(L, -1));
  }
  lua_pop(L, 2);
  return kind;
}

static void enc_array(encoder *e, int idx, size_t n, int depth) {
  lua_State *L = e->L;
  size_t i;
  enc_char(e, '[');
  for (i = 1; i <= n; i++) {
    if (i > 1) enc_char(e, ',');
    lua_rawgeti(L, idx, (json_index)i);
    enc_value(e, lua_gettop(L), depth + 1);
    lua_pop(L, 1);
  }
  enc_char(e, ']');
}

/* With have_first, lua_next has already pushed the first key and value. */
static void enc_object(encoder *e, int idx, int depth, int have_first) {
  lua_State *L = e->L;
  int first = 1;
  enc_char(e, '{');
  if (!have_first) {
    lua_pushnil(L);
    if (!lua_next(L, idx)) {
      enc_char(e, '}');
      return;
    }
  }
  do {
    size_t klen;
    const char *k;
    if (lua_type(L, -2) != LUA_TSTRING)
      luaL_error(L, "cannot encode a table with mixed or non-string keys");
    if (!first) enc_char(e, ',');
    first = 0;
    k = lua_tolstring(L, -2, &klen); /* a string already: lua_next is not disturbed */
    enc_string(e, k, klen);
    enc_char(e, ':');
    enc_value(e, lua_gettop(L), depth + 1);
    lua_pop(L, 1);
  } while (lua_next(L, idx));
  enc_char(e, '}');
}

/* The length of a table whose keys must be exactly 1..n; raises otherwise. */
static size_t sequence_length(encoder *e, int idx) {
  lua_State *L = e->L;
  size_t count = 0;
  lua_Number max = 0;
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    lua_Number k;
    lua_pop(L, 1);
#if LUA_VERSION_NUM >= 503
    if (!lua_isinteger(L, -1)) {
      lua_pop(L, 1);
      luaL_error(L, "cannot encode a table with mixed or non-string keys");
    }
#else
    if (lua_type(L, -1) != LUA_TNUMBER) {
      lua_pop(L, 1);
      luaL_error(L, "cannot encode a table with mixed or non-string keys");
    }
#endif
    k = lua_tonumber(L, -1);
    if (!(k >= 1 && k <= 9007199254740992.0) || k != (lua_Number)(long long)k) {
      lua_pop(L, 1);
      luaL_error(L, "cannot encode a table with mixed or non-string keys");
    }
    if (k > max) max = k;
    count++;
  }
  if ((lua_Number)count != max)
    luaL_error(L, "cannot encode a sparse array (mark it with json_array_mt, holes as json_null)");
  return count;
}

/* How a table is written:
 *   json_array_mt or __jsontype "array" → [t[1] .. t[rawlen]] (a nil hole is written as null);
 *   __jsontype "object"                 → {...}, every key must be a string;
 *   otherwise: empty → {}; keys exactly 1..n → [...]; all keys strings → {...}; else an error. */
static void enc_table(encoder *e, int idx, int depth) {
  lua_State *L = e->L;
  int kind;
  if (depth >= SA_JSON_MAX_DEPTH) luaL_error(L, "table nesting too deep (cycle?)");
  luaL_checkstack(L, 6, "table nesting too deep (cycle?)");
  kind = table_kind(e, idx);
  if (kind == KIND_ARRAY) {
    enc_array(e, idx, (size_t)lua_rawlen(L, idx), depth);
  } else if (kind == KIND_OBJECT) {
    enc_object(e, idx, depth, 0);
  } else {
    lua_pushnil(L);
    if (!lua_next(L, idx)) {
      enc_add(e, "{}", 2);
    } else if (lua_type(L, -2) == LUA_TSTRING) {
      enc_object(e, idx, depth, 1);
    } else {
      lua_pop(L, 2);
      enc_array(e, idx, sequence_length(e, idx), depth);
    }
  }
}

static void enc_value(encoder *e, int idx, int depth) {
  lua_State *L = e->L;
  switch (lua_type(L, idx)) {
  case LUA_TSTRING: {
    size_t n;
    const char *s = lua_tolstring(L, idx, &n);
    enc_string(e, s, n);
    break;
  }
  case LUA_TNUMBER:
    enc_number(e, idx);
    break;
  case LUA_TBOOLEAN:
    if (lua_toboolean(L, idx))
      enc_add(e, "true", 4);
    else
      enc_add(e, "false", 5);
    break;
  case LUA_TTABLE:
    enc_table(e, idx, depth);
    break;
  case LUA_TNIL:
    enc_add(e, "null", 4);
    break;
  case LUA_TLIGHTUSERDATA:
    if (lua_touserdata(L, idx) == NULL) { /* json_null (also cjson.null, ngx.null) */
      enc_add(e, "null", 4);
      break;
    }
    luaL_error(L, "cannot encode a light userdata");
    break;
  default:
    luaL_error(L, "cannot encode a %s", luaL_typename(L, idx));
  }
}

/* core.json_encode(value) → string; raises naming the problem. */
static int json_encode(lua_State *L) {
  encoder e;
  luaL_checkany(L, 1);
  lua_settop(L, 1);
  e.L = L;
  e.b = (jbuf *)json_newbox(L, sizeof *e.b); /* 2 */
  e.b->p = NULL;
  e.b->len = e.b->cap = 0;
  luaL_setmetatable(L, JSON_BUFFER_MT);
  luaL_getmetatable(L, SA_JSON_ARRAY_MT); /* 3 */
  e.mt_idx = 3;
  enc_grow(&e, 256);
  enc_value(&e, 1, 0);
  lua_pushlstring(L, e.b->p, e.b->len);
  free(e.b->p); /* now rather than at the next collection */
  e.b->p = NULL;
  e.b->cap = e.b->len = 0;
  return 1;
}

void sa_json_open(lua_State *L) {
  luaL_checkstack(L, 4, "studioapi.json");
  /* One array metatable per lua_State: a second load of the module finds the first one's, so
   * arrays decoded by either still encode as arrays. */
  if (luaL_newmetatable(L, SA_JSON_ARRAY_MT)) {
    lua_pushliteral(L, SA_JSON_ARRAY_MT);
    lua_setfield(L, -2, "__name");
    lua_pushliteral(L, "array");
    lua_setfield(L, -2, "__jsontype");
  }
  lua_setfield(L, -2, "json_array_mt");
  lua_getfield(L, LUA_REGISTRYINDEX, JSON_KEYS_NAME);
  if (!lua_istable(L, -1)) { /* the key cache, once per lua_State too */
    static const char *const names[] = {"schema", "fields", "items", "lazy"};
    key_cache *kc;
    int i;
    lua_pop(L, 1);
    lua_createtable(L, KEYS_SLOTS, 0);
    kc = (key_cache *)json_newbox(L, sizeof *kc);
    memset(kc, 0, sizeof *kc);
    lua_rawseti(L, -2, KEYS_BOX);
    luaL_getmetatable(L, SA_JSON_ARRAY_MT);
    lua_rawseti(L, -2, KEYS_ARRAY_MT);
    for (i = 0; i < 4; i++) {
      lua_pushstring(L, names[i]);
      lua_rawseti(L, -2, KEYS_PLAN_NAMES + i);
    }
    lua_pushvalue(L, -1);
    lua_setfield(L, LUA_REGISTRYINDEX, JSON_KEYS_NAME);
  }
  lua_pop(L, 1);
  if (luaL_newmetatable(L, JSON_BUFFER_MT)) {
    lua_pushcfunction(L, jbuf_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_pop(L, 1);
  lua_pushlightuserdata(L, NULL);
  lua_setfield(L, -2, "json_null");
  lua_pushcfunction(L, json_decode);
  lua_setfield(L, -2, "json_decode");
  lua_pushcfunction(L, json_encode);
  lua_setfield(L, -2, "json_encode");
}
