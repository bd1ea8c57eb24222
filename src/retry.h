/* studioapi — one call of h:perform: admission by the rate limiter, attempts, and the retry
 * policy between them (retry.c). This part calls into Lua (the sleep, clock and on_event
 * functions a client may be given), always through lua_pcall and never while libcurl runs. */
#ifndef STUDIOAPI_RETRY_H
#define STUDIOAPI_RETRY_H

#include "compat.h"
#include "core.h"
#include "ratelimit.h"

/* The client's user values. */
#define SA_UV_BASE_URL 1 /* the base URL, without a trailing slash */
#define SA_UV_SLEEP    2 /* function(seconds) or nil */
#define SA_UV_CLOCK    3 /* function() -> seconds, or nil */
#define SA_UV_EVENT    4 /* function(event), or nil */
#define SA_UV_COUNT    4

/* How a call ended (sa_call_run). */
enum {
  SA_CALL_DONE,    /* the last attempt's result is in rc/status and the transfer's buffers */
  SA_CALL_REFUSED, /* the limiter refused to wait: nothing sent since; retry_after is set */
  SA_CALL_RAISED,  /* a sleep/clock/on_event function raised: its error is on the stack */
  SA_CALL_NOMEM,
  SA_CALL_STARTED /* sa_call_start: the first attempt's request is out, sa_call_finish next */
};

typedef struct sa_call {
  /* set by the caller */
  lua_State *L;
  int client_idx, runner_idx; /* stack slots of the client and of the hook runner */
  sa_client *c;
  sa_transfer *x;
  const char *method, *url, *target, *base, *body;
  size_t body_len;
  struct curl_slist *headers; /* the first attempt's list */
  int idempotent;             /* sending it twice does no harm: by method or the caller's word */
  /* the result */
  int attempts;       /* attempts made */
  int maybe_sent;     /* a failed attempt may have reached the server */
  CURLcode rc;        /* of the last attempt */
  long status;        /* of the last attempt, when rc is CURLE_OK */
  double retry_after; /* seconds, < 0 when nobody said */
  const char *refusal;
  /* private to retry.c */
  char endpoint[SA_ENDPOINT_MAX];
  int sent;                /* the last attempt may have reached the server */
  const char *kind;        /* the last attempt's failure: "timeout", "network", "tls" */
  double deadline, waited; /* the budget (clock seconds) and the limiter's waits so far */
  double lock;             /* the endpoint's lockout after a 429, seconds from then */
  int hook;                /* which hook the runner calls, and its argument or result */
  double hook_value;
  const struct sa_event *ev;
  sa_rl_entry *rl_slot; /* the limiter's entry of the attempt in flight */
  CURLcode begun;       /* sa_transfer_begin's result for it */
} sa_call;

int sa_call_run(sa_call *k); /* never raises; see the SA_CALL_* values */
/* sa_call_run in two halves, for h:start and h:finish: start admits the call and sends the first
 * attempt's request (SA_CALL_STARTED), finish waits for its answer and goes on as sa_call_run.
 * Between them the hook runner and the strings the call points at must stay anchored, and
 * k->L, client_idx and runner_idx be set again for finish's stack. A started call that will not
 * be finished is cancelled: its transfer off the multi handle first, then sa_call_cancel (the
 * limiter counts it as sent). */
int sa_call_start(sa_call *k);
int sa_call_finish(sa_call *k);
void sa_call_cancel(sa_call *k);
int sa_call_hook_runner(lua_State *L);
void sa_sleep(double seconds);
uint64_t sa_rng_seed(uint64_t seed); /* a state for the backoff jitter, from any seed */

#endif
