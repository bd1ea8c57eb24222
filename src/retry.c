/* studioapi — one call of h:perform: wait for the rate limiter, make an attempt, decide whether
 * and when to try again. The contract is docs/internals.md, "Retry policy and limiter (C)".
 *
 * Between attempts this code calls the client's Lua functions (sleep, clock, on_event), each
 * through lua_pcall via sa_call_hook_runner, so a Lua error (memory errors included) never
 * unwinds through this loop: it ends the call with SA_CALL_RAISED and the caller re-raises it
 * after cleaning up. Nothing here runs while libcurl does. */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "retry.h"

/* A Retry-After longer than this is taken as this: a broken or hostile header must not lock an
 * endpoint for days. The API documents none; its lockout is a minute. */
#define RETRY_AFTER_MAX 3600.0
/* Timer slack: a sleep that ends a hair before a lockout must not fail the call. */
#define WAIT_SLACK 0.05
#define GO         (-1) /* a step's "carry on" */

typedef struct sa_event {
  const char *type;   /* "retry" | "throttle" | "lockout" */
  const char *reason; /* retry: "503", "timeout", "network", "429", ...; throttle: why */
  double seconds;     /* retry: delay; throttle: wait; lockout: seconds */
  int attempt;        /* retry: the attempt about to be made */
} sa_event;

/* ---------------------------------------------------------------- time and randomness */

/* Sleeps the whole time even when a signal interrupts nanosleep. */
void sa_sleep(double seconds) {
  struct timespec ts, rest;
  if (!(seconds > 0)) return;
  ts.tv_sec = (time_t)seconds;
  ts.tv_nsec = (long)((seconds - (double)ts.tv_sec) * 1e9);
  while (nanosleep(&ts, &rest) != 0 && errno == EINTR)
    ts = rest;
}

/* splitmix64: spreads any seed (even 0 or a small counter) over the whole state. */
uint64_t sa_rng_seed(uint64_t seed) {
  uint64_t z = seed + 0x9e3779b97f4a7c15u;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
  z ^= z >> 31;
  return z != 0 ? z : 1; /* xorshift's state must not be 0 */
}

/* xorshift64*: uniform in [0, 1), 53 bits. Good enough to spread retries apart. */
static double rng_uniform(uint64_t *s) {
  uint64_t x = *s;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  *s = x;
  return (double)((x * 0x2545f4914f6cdd1du) >> 11) / 9007199254740992.0;
}

/* ---------------------------------------------------------------- hooks */

static void set_number(lua_State *L, const char *k, double v) {
  lua_pushnumber(L, v);
  lua_setfield(L, -2, k);
}

static void set_string(lua_State *L, const char *k, const char *v, size_t len) {
  lua_pushlstring(L, v, len);
  lua_setfield(L, -2, k);
}

/* {type, method, path, endpoint, ...}: no header, so never the key. */
static void push_event(lua_State *L, const sa_call *k) {
  const sa_event *ev = k->ev;
  lua_createtable(L, 0, 7);
  set_string(L, "type", ev->type, strlen(ev->type));
  set_string(L, "method", k->method, strlen(k->method));
  set_string(L, "path", k->target, strcspn(k->target, "?#"));
  set_string(L, "endpoint", k->endpoint, strlen(k->endpoint));
  if (ev->reason != NULL) set_string(L, "reason", ev->reason, strlen(ev->reason));
  if (ev->type[0] == 'r') { /* retry */
    set_number(L, "delay", ev->seconds);
    lua_pushinteger(L, ev->attempt);
    lua_setfield(L, -2, "attempt");
  } else
    set_number(L, ev->type[0] == 't' ? "wait" : "seconds", ev->seconds);
}

/* Runs in lua_pcall (run_hook): (call, client) -> calls the hook k->hook names. */
int sa_call_hook_runner(lua_State *L) {
  sa_call *k = lua_touserdata(L, 1);
  lua_getiuservalue(L, 2, k->hook);
  switch (k->hook) {
  case SA_UV_CLOCK:
    lua_call(L, 0, 1);
    if (lua_type(L, -1) != LUA_TNUMBER)
      return luaL_error(L, "studioapi: the clock function must return a number, got %s",
                        luaL_typename(L, -1));
    k->hook_value = lua_tonumber(L, -1);
    break;
  case SA_UV_SLEEP:
    lua_pushnumber(L, k->hook_value);
    lua_call(L, 1, 0);
    break;
  default:
    push_event(L, k);
    lua_call(L, 1, 0);
  }
  return 0;
}

/* 0 when the hook raised: its error is then on the stack. The runner and the client are
 * pushed with lua_pushvalue, which cannot raise. */
static int run_hook(sa_call *k, int hook) {
  lua_State *L = k->L;
  k->hook = hook;
  lua_pushvalue(L, k->runner_idx);
  lua_pushlightuserdata(L, k);
  lua_pushvalue(L, k->client_idx);
  return lua_pcall(L, 2, 0, 0) == LUA_OK;
}

static int now(sa_call *k, double *t) {
  if (!(k->c->hooks & SA_HOOK_CLOCK)) {
    *t = sa_mono_now();
    return 1;
  }
  if (!run_hook(k, SA_UV_CLOCK)) return 0;
  *t = k->hook_value;
  return 1;
}

static int pause_for(sa_call *k, double seconds) {
  if (!(k->c->hooks & SA_HOOK_SLEEP)) {
    sa_sleep(seconds);
    return 1;
  }
  k->hook_value = seconds;
  return run_hook(k, SA_UV_SLEEP);
}

static int emit(sa_call *k, const char *type, const char *reason, double seconds) {
  sa_event ev;
  if (!(k->c->hooks & SA_HOOK_EVENT)) return 1;
  ev.type = type;
  ev.reason = reason;
  ev.seconds = seconds;
  ev.attempt = k->attempts + 1;
  k->ev = &ev;
  return run_hook(k, SA_UV_EVENT);
}

/* ---------------------------------------------------------------- the policy */

/* The value of a header in the transfer's "name:value\n" lines (names lower-case), copied into
 * buf; NULL when absent or longer than buf. */
static const char *header(const sa_buf *h, const char *name, char *buf, size_t size) {
  const char *p = h->data, *end = p + h->len;
  size_t n = strlen(name);
  while (p < end) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    if (nl == NULL) break;
    if ((size_t)(nl - p) > n && memcmp(p, name, n) == 0 && p[n] == ':') {
      size_t len = (size_t)(nl - p) - n - 1;
      if (len >= size) return NULL;
      memcpy(buf, p + n + 1, len);
      buf[len] = '\0';
      return buf;
    }
    p = nl + 1;
  }
  return NULL;
}

/* Retry-After as seconds from now: delta-seconds or an HTTP-date; < 0 when absent or bad. */
static double retry_after(const sa_buf *h) {
  char buf[64];
  double s;
  if (header(h, "retry-after", buf, sizeof buf) == NULL || buf[0] == '\0') return -1;
  if (strspn(buf, "0123456789") == strlen(buf))
    s = strtod(buf, NULL);
  else { /* libcurl parses the date formats HTTP allows */
    time_t t = curl_getdate(buf, NULL);
    if (t == -1) return -1;
    s = difftime(t, time(NULL));
  }
  return s < 0 ? 0 : s > RETRY_AFTER_MAX ? RETRY_AFTER_MAX : s;
}

/* Why the last attempt may succeed if repeated, or NULL. A 500 is a bug on the server, not
 * load, and a 4xx the request's own fault: neither is repeated. TLS failures are settings. */
static const char *transient(const sa_call *k) {
  if (k->rc == CURLE_OK) {
    switch (k->status) {
    case 502:
      return "502";
    case 503:
      return "503";
    case 504:
      return "504";
    default:
      return NULL;
    }
  }
  if (k->rc == CURLE_OPERATION_TIMEDOUT) return "timeout";
  return strcmp(k->kind, "network") == 0 ? "network" : NULL;
}

/* Sending it again cannot do a write twice: it is idempotent, or it surely never reached the
 * server, or the caller accepts the risk. */
static int repeatable(const sa_call *k) {
  return k->idempotent || k->c->retry.retry_unsafe || (k->rc != CURLE_OK && !k->sent);
}

/* Before retry n: random in [d/2, d], d = min(max_delay, base_delay * 2^(n-1)). The random
 * half keeps clients that failed together from retrying together. */
static double backoff(sa_call *k) {
  const sa_retry *r = &k->c->retry;
  double d = r->base_delay;
  int n;
  for (n = 1; n < k->attempts && d < r->max_delay; n++)
    d *= 2;
  if (d > r->max_delay) d = r->max_delay;
  return d / 2 + rng_uniform(&k->c->rng) * d / 2;
}

/* Announces and sleeps `delay` before the next attempt, unless the budget ends first. */
static int retry_after_delay(sa_call *k, const char *reason, double delay) {
  double t;
  if (!now(k, &t)) return SA_CALL_RAISED;
  if (t + delay > k->deadline) return SA_CALL_DONE;
  if (!emit(k, "retry", reason, delay) || !pause_for(k, delay)) return SA_CALL_RAISED;
  return GO;
}

static double max_wait(const sa_call *k) { /* the limiter off: never wait, fail fast */
  return k->c->limits.limit > 0 ? k->c->limits.max_wait : 0;
}

/* A 429: the server refused the request, so any method may be sent again, once the lockout
 * (k->lock, set when the attempt ended) is over and if that is within max_wait. */
static int after_429(sa_call *k) {
  int st;
  if (!emit(k, "lockout", NULL, k->lock)) return SA_CALL_RAISED;
  if (k->attempts >= k->c->retry.max_attempts || k->waited + k->lock > max_wait(k))
    return SA_CALL_DONE;
  if ((st = retry_after_delay(k, "429", k->lock)) == GO) k->waited += k->lock;
  return st;
}

static int next(sa_call *k) {
  const char *reason;
  if (k->x->nomem || k->x->aborted) return SA_CALL_DONE; /* aborted: see multipart.c */
  if (k->rc == CURLE_OK && k->status == 429) return after_429(k);
  if ((reason = transient(k)) == NULL || !repeatable(k) || k->attempts >= k->c->retry.max_attempts)
    return SA_CALL_DONE;
  return retry_after_delay(k, reason, k->retry_after >= 0 ? k->retry_after : backoff(k));
}

/* ---------------------------------------------------------------- admission and attempts */

static int refuse(sa_call *k, double wait, int why) {
  k->retry_after = wait;
  k->refusal = why == SA_RL_LOCKED ? "the endpoint is locked after a 429"
               : why == SA_RL_FULL ? "too many endpoints are busy to track another one"
                                   : "the endpoint's rate limit is used up";
  return SA_CALL_REFUSED;
}

static const char *const WHY[] = {"", "limit", "lockout", "capacity"};

/* Waits (within max_wait and the budget) until the limiter admits the request into *slot. */
static int admit(sa_call *k, sa_rl_entry **slot) {
  sa_rl_query q;
  q.key_hash = k->c->key_hash;
  q.base = k->base;
  q.endpoint = k->endpoint;
  q.limits = &k->c->limits;
  for (;;) {
    double wait, t;
    int why = 0, st = sa_rl_admit(&q, slot, &wait, &why);
    if (st == SA_RL_ADMITTED) return GO;
    if (st == SA_RL_NOMEM) return SA_CALL_NOMEM;
    if (k->waited + wait > max_wait(k) + WAIT_SLACK) return refuse(k, wait, why);
    if (k->deadline < HUGE_VAL) {
      if (!now(k, &t)) return SA_CALL_RAISED;
      if (t + wait > k->deadline) return refuse(k, wait, why);
    }
    if (!emit(k, "throttle", WHY[why], wait) || !pause_for(k, wait)) return SA_CALL_RAISED;
    k->waited += wait;
  }
}

/* A retry's header list: the request's own plus x-studioapi-attempt, so that logs can tell
 * retries apart (first attempts carry nothing extra). */
static int retry_headers(sa_call *k) {
  sa_transfer *x = k->x;
  const struct curl_slist *p;
  struct curl_slist *l;
  char line[48];
  curl_slist_free_all(x->retry);
  x->retry = NULL;
  snprintf(line, sizeof line, "x-studioapi-attempt: %d", k->attempts + 1);
  for (p = k->headers; p != NULL; p = p->next) {
    if ((l = curl_slist_append(x->retry, p->data)) == NULL) return 0;
    x->retry = l;
  }
  if ((l = curl_slist_append(x->retry, line)) == NULL) return 0;
  x->retry = l;
  return 1;
}

/* One exchange, from setup to the limiter's stamp, in two halves: the request goes out (async:
 * h:start's first attempt, whose answer is waited for by h:finish), then the answer comes in. */
static int attempt_begin(sa_call *k, sa_rl_entry *slot, int async) {
  sa_transfer *x = k->x;
  if (!sa_transfer_setup(x, k->method, k->url, k->attempts > 0 ? x->retry : k->headers, k->body,
                         k->body_len, !k->idempotent)) {
    sa_rl_done(slot, 0, 0);
    return SA_CALL_NOMEM;
  }
  k->attempts++;
  k->rl_slot = slot;
  k->begun = sa_transfer_begin(k->c, x, async);
  return GO;
}

static int attempt_end(sa_call *k) {
  sa_transfer *x = k->x;
  sa_rl_entry *slot = k->rl_slot;
  sa_failure f;
  double lock = 0;
  k->rl_slot = NULL;
  k->status = 0;
  k->rc = k->begun != CURLE_OK ? k->begun : sa_transfer_wait(k->c, x, &k->status);
  if (k->rc == CURLE_OK && k->status == 0) { /* not HTTP: a network failure */
    strcpy(x->errbuf, "no HTTP status in the response");
    k->rc = CURLE_WEIRD_SERVER_REPLY;
  }
  k->retry_after = k->rc == CURLE_OK ? retry_after(&x->head) : -1;
  if (k->rc == CURLE_OK && k->status == 429)
    lock = k->retry_after >= 0 ? k->retry_after : k->c->limits.lockout;
  k->lock = sa_rl_done(slot, x->sends, lock);
  if (k->rc == CURLE_OK && k->status == 429) k->retry_after = k->lock;
  k->sent = 1;
  k->kind = NULL;
  if (k->rc != CURLE_OK) {
    sa_transfer_classify(x, k->rc, &f);
    k->sent = f.sent;
    k->kind = f.kind;
    k->maybe_sent |= f.sent;
  }
  return GO;
}

/* Before the first attempt: the budget starts. */
static int call_init(sa_call *k) {
  double start;
  k->attempts = k->maybe_sent = 0;
  k->rl_slot = NULL;
  k->rc = CURLE_OK;
  k->status = 0;
  k->retry_after = -1;
  k->refusal = NULL;
  k->waited = 0;
  k->deadline = HUGE_VAL;
  sa_rl_endpoint(k->method, k->target, k->endpoint, sizeof k->endpoint);
  if (k->c->retry.max_attempts > 1) {
    if (!now(k, &start)) return SA_CALL_RAISED;
    k->deadline = start + k->c->retry.max_elapsed;
  }
  return GO;
}

/* Attempts until the policy is done with the call. */
static int call_loop(sa_call *k) {
  for (;;) {
    sa_rl_entry *slot = NULL;
    int st;
    if (k->attempts > 0 && !retry_headers(k)) return SA_CALL_NOMEM;
    if ((st = admit(k, &slot)) != GO || (st = attempt_begin(k, slot, 0)) != GO ||
        (st = attempt_end(k)) != GO || (st = next(k)) != GO)
      return st;
  }
}

int sa_call_run(sa_call *k) {
  int st = call_init(k);
  return st != GO ? st : call_loop(k);
}

int sa_call_start(sa_call *k) {
  sa_rl_entry *slot = NULL;
  int st;
  if ((st = call_init(k)) != GO || (st = admit(k, &slot)) != GO ||
      (st = attempt_begin(k, slot, 1)) != GO)
    return st;
  return SA_CALL_STARTED;
}

int sa_call_finish(sa_call *k) {
  int st;
  if ((st = attempt_end(k)) != GO || (st = next(k)) != GO) return st;
  return call_loop(k);
}

void sa_call_cancel(sa_call *k) {
  if (k->rl_slot != NULL) sa_rl_done(k->rl_slot, k->x->sends, 0);
  k->rl_slot = NULL;
}
