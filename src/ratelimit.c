/* studioapi — the per-endpoint rate limiter. The server counts requests per key and endpoint in
 * fixed windows it aligns as it likes, and locks the endpoint for a minute once `limit` is
 * passed. To never trip it, every request is stamped with the time its response *finished*
 * (one in flight holds a slot until then), and a request is admitted at time t only while fewer
 * than `limit` slots are in flight or stamped after t - window. Proof sketch: if a server
 * window [s, s+W) saw limit+1 arrivals, take the one admitted last, at a < s+W; each of the
 * others arrived at >= s and finished after that, so at time a it was in flight or stamped
 * after s > a - W: limit slots were taken and it could not have been admitted. Network delay
 * does not matter, as an arrival lies between admission and finish. A small margin covers a
 * server clock that runs a little behind (nginx caches its time per event-loop turn).
 *
 * The registry is process-wide (the server counts per key, so every client and thread with the
 * same key must share one budget) and guarded by one mutex, held only for bookkeeping, never
 * across a transfer or a call into Lua. Entries are keyed by a salted hash of the key (the key
 * itself is never kept), the base URL and the endpoint. Times are CLOCK_MONOTONIC: the one
 * clock every client in the process agrees on (an injected Lua clock cannot be shared). */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ratelimit.h"

#define RL_BUCKETS  256
#define RL_POLL     0.05 /* the wait when the whole limit is in flight: no stamp tells when */
#define RL_MIN_WAIT 0.001
#define FNV_BASIS   0xcbf29ce484222325u
#define FNV_PRIME   0x100000001b3u

struct sa_rl_entry {
  sa_rl_entry *next; /* in its bucket */
  uint64_t hash, key_hash;
  char *base, *endpoint; /* stored behind the entry, in the same allocation */
  double *stamps;        /* ring of finish times, oldest at head; never decreasing */
  int cap, head, len;
  int max_limit;     /* the largest limit asked with: more stamps can never decide anything */
  double max_window; /* the longest window asked with: older stamps are dropped */
  int inflight;
  double locked_until, last_used;
};

static pthread_mutex_t rl_mutex = PTHREAD_MUTEX_INITIALIZER;
static sa_rl_entry *rl_buckets[RL_BUCKETS];
static int rl_count;
static pthread_once_t rl_salt_once = PTHREAD_ONCE_INIT;
static uint64_t rl_salt;

double sa_mono_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---------------------------------------------------------------- names */

static uint64_t fnv(uint64_t h, const void *p, size_t n) {
  const unsigned char *b = p;
  while (n-- > 0)
    h = (h ^ *b++) * FNV_PRIME;
  return h;
}

/* The salt keeps the stored hash from being checked against guessed keys outside this
 * process; it must be the same for every client in the process, hence once. */
static void rl_init_salt(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  rl_salt = ((uint64_t)ts.tv_sec << 30) ^ (uint64_t)ts.tv_nsec ^ (uint64_t)(uintptr_t)&ts;
}

uint64_t sa_rl_key_hash(const char *key, size_t len) {
  pthread_once(&rl_salt_once, rl_init_salt);
  return fnv(fnv(FNV_BASIS, &rl_salt, sizeof rl_salt), key, len);
}

static int is_hex(char ch) {
  return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F');
}

/* A path segment that names a record: digits only, or a UUID (8-4-4-4-12 hex digits). */
static int is_id(const char *s, size_t n) {
  size_t i;
  for (i = 0; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
  }
  if (n > 0 && i == n) return 1;
  if (n != 36) return 0;
  for (i = 0; i < n; i++)
    if ((i == 8 || i == 13 || i == 18 || i == 23) ? s[i] != '-' : !is_hex(s[i])) return 0;
  return 1;
}

static void put(char *out, size_t size, size_t *at, const char *s, size_t n) {
  if (n > size - 1 - *at) n = size - 1 - *at; /* cut: see SA_ENDPOINT_MAX */
  memcpy(out + *at, s, n);
  *at += n;
  out[*at] = '\0';
}

/* The server's name for an endpoint: method and path template, ids replaced by {id}. */
void sa_rl_endpoint(const char *method, const char *target, char *out, size_t size) {
  size_t at = 0, n = strcspn(target, "?#");
  const char *p = target, *end = target + n;
  out[0] = '\0';
  put(out, size, &at, method, strlen(method));
  put(out, size, &at, " ", 1);
  while (p < end) { /* p at a "/" */
    const char *seg = p + 1, *stop = seg;
    while (stop < end && *stop != '/')
      stop++;
    put(out, size, &at, "/", 1);
    if (is_id(seg, (size_t)(stop - seg)))
      put(out, size, &at, "{id}", 4);
    else
      put(out, size, &at, seg, (size_t)(stop - seg));
    p = stop;
  }
}

/* ---------------------------------------------------------------- stamps */

/* The slack added to a window or a lockout for a server clock that lags ours a little. */
static double margin(double window) {
  return window * 0.01 < 0.05 ? window * 0.01 : 0.05;
}

static double stamp_at(const sa_rl_entry *e, int i) { /* i = 0 is the oldest */
  return e->stamps[(e->head + i) % e->cap];
}

static void drop_oldest(sa_rl_entry *e) {
  e->head = (e->head + 1) % e->cap;
  e->len--;
}

static void prune(sa_rl_entry *e, double now) {
  double horizon = now - e->max_window - margin(e->max_window);
  while (e->len > 0 && stamp_at(e, 0) <= horizon)
    drop_oldest(e);
}

/* Room for the stamps of everything in flight plus this request, up to max_limit. */
static int reserve(sa_rl_entry *e) {
  int want = e->len + e->inflight + 1, cap, i;
  double *stamps;
  if (want > e->max_limit) want = e->max_limit;
  if (e->cap >= want) return 1;
  cap = e->cap * 2 > want ? e->cap * 2 : want < 16 ? 16 : want;
  if (cap > e->max_limit) cap = e->max_limit;
  if ((stamps = malloc((size_t)cap * sizeof *stamps)) == NULL) return 0;
  for (i = 0; i < e->len; i++) /* unrolled: the oldest first */
    stamps[i] = stamp_at(e, i);
  free(e->stamps);
  e->stamps = stamps;
  e->cap = cap;
  e->head = 0;
  return 1;
}

static void push_stamp(sa_rl_entry *e, double t) {
  if (e->cap == 0) return;              /* nobody paces this endpoint: no stamp is ever read */
  if (e->len == e->cap) drop_oldest(e); /* max_limit newer ones decide alone */
  e->stamps[(e->head + e->len) % e->cap] = t;
  e->len++;
}

/* Stamps after `since`, counted from the newest. */
static int count_after(const sa_rl_entry *e, double since) {
  int n = 0;
  while (n < e->len && stamp_at(e, e->len - 1 - n) > since)
    n++;
  return n;
}

/* Whether a request may go now; else the wait and why. */
static int check(const sa_rl_entry *e, const sa_limits *lim, double now, double *wait, int *why) {
  double span = lim->window + margin(lim->window);
  int room;
  if (e->locked_until > now) {
    *wait = e->locked_until - now;
    *why = SA_RL_LOCKED;
    return SA_RL_WAIT;
  }
  if (lim->limit <= 0) return SA_RL_ADMITTED;
  room = lim->limit - e->inflight; /* stamps allowed in the window besides those in flight */
  if (count_after(e, now - span) < room) return SA_RL_ADMITTED;
  /* A slot frees when the room-th newest stamp leaves the window (a microsecond more, so that
   * rounding cannot leave it inside after exactly that sleep). */
  *wait = room <= 0 ? RL_POLL : stamp_at(e, e->len - room) + span - now + 1e-6;
  *why = SA_RL_LIMIT;
  return SA_RL_WAIT;
}

/* ---------------------------------------------------------------- the registry */

static uint64_t entry_hash(const sa_rl_query *q) {
  uint64_t h = fnv(FNV_BASIS, &q->key_hash, sizeof q->key_hash);
  h = fnv(h, q->base, strlen(q->base) + 1);
  return fnv(h, q->endpoint, strlen(q->endpoint));
}

static sa_rl_entry *find(const sa_rl_query *q, uint64_t h) {
  sa_rl_entry *e;
  for (e = rl_buckets[h % RL_BUCKETS]; e != NULL; e = e->next)
    if (e->hash == h && e->key_hash == q->key_hash && strcmp(e->base, q->base) == 0 &&
        strcmp(e->endpoint, q->endpoint) == 0)
      return e;
  return NULL;
}

/* Seconds until the entry holds nothing worth keeping: no request in flight, no lockout, no
 * stamp inside its window. */
static double idle_in(const sa_rl_entry *e, double now) {
  double until = e->locked_until;
  if (e->inflight > 0) return RL_POLL;
  if (e->len > 0) {
    double t = stamp_at(e, e->len - 1) + e->max_window + margin(e->max_window);
    if (t > until) until = t;
  }
  return until > now ? until - now : 0;
}

static void entry_free(sa_rl_entry *e) {
  free(e->stamps);
  free(e);
}

/* Frees the least recently used idle entry; else sets *wait to when one turns idle. */
static int evict(double now, double *wait) {
  sa_rl_entry **best = NULL, **pp, *e;
  int b;
  *wait = 1e9;
  for (b = 0; b < RL_BUCKETS; b++)
    for (pp = &rl_buckets[b]; *pp != NULL; pp = &(*pp)->next) {
      double in = idle_in(*pp, now);
      if (in > 0 && in < *wait) *wait = in;
      if (in <= 0 && (best == NULL || (*pp)->last_used < (*best)->last_used)) best = pp;
    }
  if (best == NULL) return 0;
  e = *best;
  *best = e->next;
  entry_free(e);
  rl_count--;
  return 1;
}

/* A new entry. At SA_RL_MAX_ENTRIES an idle one is evicted first; when none is idle the request
 * waits as if throttled (SA_RL_FULL) instead of going out untracked: forgetting an active
 * endpoint could trip its limit. Only > SA_RL_MAX_ENTRIES endpoints busy within one window, which
 * the templated paths of the API cannot produce, ever see this. */
static int create(const sa_rl_query *q, uint64_t h, double now, sa_rl_entry **out, double *wait,
                  int *why) {
  size_t nb = strlen(q->base) + 1, ne = strlen(q->endpoint) + 1;
  sa_rl_entry *e;
  if (rl_count >= SA_RL_MAX_ENTRIES && !evict(now, wait)) {
    if (*wait < RL_MIN_WAIT) *wait = RL_MIN_WAIT;
    *why = SA_RL_FULL;
    return SA_RL_WAIT;
  }
  if ((e = malloc(sizeof *e + nb + ne)) == NULL) return SA_RL_NOMEM;
  memset(e, 0, sizeof *e);
  e->hash = h;
  e->key_hash = q->key_hash;
  e->base = (char *)(e + 1);
  e->endpoint = e->base + nb;
  memcpy(e->base, q->base, nb);
  memcpy(e->endpoint, q->endpoint, ne);
  e->next = rl_buckets[h % RL_BUCKETS];
  rl_buckets[h % RL_BUCKETS] = e;
  rl_count++;
  *out = e;
  return SA_RL_ADMITTED;
}

int sa_rl_admit(const sa_rl_query *q, sa_rl_entry **slot, double *wait, int *why) {
  uint64_t h = entry_hash(q);
  sa_rl_entry *e;
  double now;
  int st = SA_RL_ADMITTED;
  pthread_mutex_lock(&rl_mutex);
  now = sa_mono_now(); /* under the lock: stamps stay in order across threads */
  if ((e = find(q, h)) == NULL) st = create(q, h, now, &e, wait, why);
  if (st == SA_RL_ADMITTED) {
    if (q->limits->window > e->max_window) e->max_window = q->limits->window;
    if (q->limits->limit > e->max_limit) e->max_limit = q->limits->limit;
    prune(e, now);
    st = check(e, q->limits, now, wait, why);
    if (st == SA_RL_WAIT && *wait < RL_MIN_WAIT) *wait = RL_MIN_WAIT;
  }
  if (st == SA_RL_ADMITTED && !reserve(e)) st = SA_RL_NOMEM;
  if (st == SA_RL_ADMITTED) {
    e->inflight++;
    e->last_used = now;
    *slot = e;
  }
  pthread_mutex_unlock(&rl_mutex);
  return st;
}

/* When the module is unloaded (the last lua_State that required it closed), nobody can hold a
 * slot any more: free every entry, or each load and unload would leak a registry. */
#if defined(__GNUC__)
__attribute__((destructor)) static void rl_free_all(void) {
  int b;
  pthread_mutex_lock(&rl_mutex);
  for (b = 0; b < RL_BUCKETS; b++)
    while (rl_buckets[b] != NULL) {
      sa_rl_entry *e = rl_buckets[b];
      rl_buckets[b] = e->next;
      entry_free(e);
    }
  rl_count = 0;
  pthread_mutex_unlock(&rl_mutex);
}
#endif

int sa_rl_size(void) {
  int n;
  pthread_mutex_lock(&rl_mutex);
  n = rl_count;
  pthread_mutex_unlock(&rl_mutex);
  return n;
}

/* The entry cannot have been evicted meanwhile: one with a request in flight is never idle. */
double sa_rl_done(sa_rl_entry *e, int sends, double lock) {
  double now, left;
  int i;
  pthread_mutex_lock(&rl_mutex);
  now = sa_mono_now();
  e->inflight--;
  for (i = 0; i < (sends > 1 ? sends : 1); i++)
    push_stamp(e, now);
  /* the margin: a server clock a hair behind ours must not see the retry inside its lockout */
  if (lock > 0 && now + lock + margin(lock) > e->locked_until)
    e->locked_until = now + lock + margin(lock);
  left = e->locked_until > now ? e->locked_until - now : 0;
  e->last_used = now;
  pthread_mutex_unlock(&rl_mutex);
  return left;
}
