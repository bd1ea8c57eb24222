/* studioapi — what the Lua binding (core.c) and the libcurl transport (transport.c) share.
 * Nothing here touches Lua: the transport is plain C, so no Lua error can ever unwind through
 * a libcurl frame. */
#ifndef STUDIOAPI_CORE_H
#define STUDIOAPI_CORE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <curl/curl.h>

#if defined(__GNUC__)
#define SA_EXPORT __attribute__((visibility("default")))
#else
#define SA_EXPORT
#endif

/* Transfers per client. Only slot 0 is used by the blocking perform; the pool is there so
 * prefetching and parallel calls can keep several transfers in flight on one multi handle. */
#define SA_POOL_SIZE 4

/* Which optional Lua functions a client was given (sa_client.hooks). */
#define SA_HOOK_SLEEP 1
#define SA_HOOK_CLOCK 2
#define SA_HOOK_EVENT 4

/* A growable byte buffer owned by a transfer and reused across requests. */
typedef struct sa_buf {
  char *data;
  size_t len, cap;
} sa_buf;

typedef struct sa_transfer {
  CURL *easy;               /* NULL until the slot is first used */
  struct curl_slist *extra; /* this request's header list (extra + prepared), or NULL */
  sa_buf body;              /* response body */
  sa_buf head;              /* response headers as "name:value\n" lines, names lower-cased */
  struct curl_slist *retry; /* a retry's header list: this request's + x-studioapi-attempt */
  int nomem;                /* a callback ran out of memory and aborted the transfer */
  int active;               /* added to the multi handle */
  int sends;                /* times libcurl sent the request in this transfer (see on_prereq) */
  int guard;                /* refuse libcurl's silent re-send: the request is not idempotent */
  int resend_refused;       /* ... and it tried one, so the transfer was aborted */
  int done;                 /* finished on the multi handle (collect), with this result: */
  CURLcode result;
  int async;        /* begun by h:start: libcurl's timeouts off, sa_transfer_wait counts its own */
  int timeouts_off; /* the handle's libcurl timeouts are off (set for an async call) */
  int plain_get;    /* the last setup was a GET without a body: none of a write's options set */
  int reserved;     /* held by a started call (h:start) until it is finished or cancelled */
  struct sa_call *call; /* that call, for h:close to cancel (core.c) */
  /* multipart.c: a multipart body, a download's file, callbacks into Lua */
  curl_mime *mime;          /* this request's multipart body, or NULL */
  struct sa_upload *upload; /* what its parts read from, and on_progress; or NULL */
  FILE *sink;               /* a download's file: a 2xx body goes there, not into body */
  curl_off_t sunk;          /* bytes written to sink by this attempt (sa_transfer_setup resets) */
  int aborted;              /* a callback failed or raised and aborted the transfer: no retry */
  char errbuf[CURL_ERROR_SIZE];
} sa_transfer;

/* The retry policy of a client (retry.c). max_attempts 1 means no retries. */
typedef struct sa_retry {
  int max_attempts;
  double base_delay, max_delay; /* backoff before retry n: random in [d/2, d], d = base*2^(n-1) */
  double max_elapsed;           /* budget of one call, in the clock's seconds */
  int retry_unsafe;             /* repeat POST/PATCH even when they may have reached the server */
} sa_retry;

/* The rate limiter settings of a client (ratelimit.c). limit 0: no pacing, lockouts only. */
typedef struct sa_limits {
  int limit;
  double window, max_wait, lockout;
} sa_limits;

typedef struct sa_client {
  CURLM *multi;                    /* NULL once closed: this is the "closed" flag */
  CURLSH *share;                   /* TLS sessions and DNS, shared by the slots' handles */
  struct curl_slist *headers;      /* prepared at new: key, language, agent, accept, expect */
  struct curl_slist *headers_body; /* the same plus "Content-Type:" for bodies without one */
  long timeout_ms, connect_timeout_ms;
  char *ca_file;
  int busy;  /* a call is running (transfer or hook): refuse to close or re-enter */
  int hooks; /* SA_HOOK_* bits: which of sleep, clock, on_event were given */
  sa_retry retry;
  sa_limits limits;
  uint64_t key_hash; /* the limiter's name for the key (ratelimit.c); the key is not kept */
  uint64_t rng;      /* backoff jitter, per client: no global state */
  sa_transfer xfer[SA_POOL_SIZE];
  sa_buf spare; /* a receive buffer a lazy array gave back (core.c), for the next empty slot */
  sa_transfer *download; /* client:download's transfer (multipart.c), made on first use */
} sa_client;

/* The outcome of one exchange when the transfer failed. */
typedef struct sa_failure {
  const char *kind;    /* "timeout" | "network" | "tls" */
  const char *message; /* points into errbuf or static text */
  int sent;            /* request bytes may have reached the server */
} sa_failure;

/* transport.c — none of these call into Lua. */
int sa_transport_init(void); /* curl_global_init, once per process; 0 on failure */
const char *sa_curl_version(void);
int sa_client_open(sa_client *c);     /* multi handle + slot 0; 0 on failure */
void sa_client_release(sa_client *c); /* idempotent; leaves c closed */
int sa_transfer_prepare(sa_client *c, sa_transfer *x);
int sa_transfer_setup(sa_transfer *x, const char *method, const char *url,
                      struct curl_slist *headers, const char *body, size_t len, int guard);
CURLcode sa_transfer_run(sa_client *c, sa_transfer *x, long *status);
/* sa_transfer_run in two halves: begin adds x to the multi handle (async: the request goes out
 * now, libcurl's timeouts off), wait drives it to its end (several transfers may be in flight). */
CURLcode sa_transfer_begin(sa_client *c, sa_transfer *x, int async);
CURLcode sa_transfer_wait(sa_client *c, sa_transfer *x, long *status);
void sa_transfer_classify(sa_transfer *x, CURLcode rc, sa_failure *f);
void sa_transfer_finish(sa_transfer *x);
void sa_buf_free(sa_buf *b);
int sa_buf_append(sa_buf *b, const char *p, size_t n); /* 0 when memory ran out */

#endif
