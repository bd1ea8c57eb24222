/* studioapi — the per-endpoint rate limiter (ratelimit.c): a process-wide registry shared by
 * every client and thread, because the server counts per key, not per client. Plain C. */
#ifndef STUDIOAPI_RATELIMIT_H
#define STUDIOAPI_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

#include "core.h"

/* Endpoints tracked per process: bounds the memory (ratelimit.c, create). */
#define SA_RL_MAX_ENTRIES 1024

/* Longest endpoint name kept ("GET /customers/{id}/contracts"); a longer path is cut, which
 * only merges endpoints: a shared budget is stricter, never looser. */
#define SA_ENDPOINT_MAX 256

typedef struct sa_rl_entry sa_rl_entry; /* one (key, base URL, endpoint) */

/* What a request asks the registry. */
typedef struct sa_rl_query {
  uint64_t key_hash;
  const char *base;     /* the client's base URL */
  const char *endpoint; /* sa_rl_endpoint's name */
  const sa_limits *limits;
} sa_rl_query;

enum { SA_RL_ADMITTED, SA_RL_WAIT, SA_RL_NOMEM };   /* sa_rl_admit's answers */
enum { SA_RL_LIMIT = 1, SA_RL_LOCKED, SA_RL_FULL }; /* why it said wait */

/* Admits a request (its slot is then in flight until sa_rl_done) or says how long to wait. */
int sa_rl_admit(const sa_rl_query *q, sa_rl_entry **slot, double *wait, int *why);
/* Ends a request admitted earlier: stamps it `sends` times (at least once) with the time now,
 * and, when lock > 0 (a 429), locks the endpoint for lock seconds. Returns the seconds the
 * endpoint stays locked from now (0 when not locked). */
double sa_rl_done(sa_rl_entry *slot, int sends, double lock);

int sa_rl_size(void); /* endpoints tracked in the process: at most SA_RL_MAX_ENTRIES */

uint64_t sa_rl_key_hash(const char *key, size_t len);
/* "GET /customers/{id}" from the method and the target (query dropped). */
void sa_rl_endpoint(const char *method, const char *target, char *out, size_t size);
double sa_mono_now(void); /* CLOCK_MONOTONIC seconds: the limiter's one time base */

#endif
