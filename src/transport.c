/* studioapi — the libcurl side of a client: one multi handle driving a small pool of reused easy
 * handles. Plain C: nothing here calls into Lua, so libcurl frames never see a Lua error, and
 * the callbacks only copy bytes into buffers owned by the transfer. */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "ratelimit.h"
#include "multipart.h"

/* A response buffer that grew past this is freed after the request instead of kept. */
#define SA_BUF_KEEP ((size_t)1 << 20)

/* ---------------------------------------------------------------- global init */

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static CURLcode init_result = CURLE_FAILED_INIT;

static void init_curl(void) {
  init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* curl_global_init is thread-safe only since 7.84 (CURL_VERSION_THREADSAFE), and several Lua
 * states in several threads may load the module at once: pthread_once makes it safe on any
 * libcurl. It is never undone: curl_global_cleanup would break other users of libcurl. */
int sa_transport_init(void) {
  if (pthread_once(&init_once, init_curl) != 0) return 0;
  return init_result == CURLE_OK;
}

const char *sa_curl_version(void) {
  return curl_version_info(CURLVERSION_NOW)->version;
}

/* ---------------------------------------------------------------- buffers */

void sa_buf_free(sa_buf *b) {
  free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}

/* Room for n more bytes; 0 when memory ran out (the buffer is left as it was). */
static int buf_reserve(sa_buf *b, size_t n) {
  if (n > b->cap - b->len) {
    size_t cap = b->cap ? b->cap : 1024;
    char *data;
    if (n > (size_t)-1 / 2 - b->len) return 0;
    while (cap < b->len + n)
      cap *= 2;
    if ((data = realloc(b->data, cap)) == NULL) return 0;
    b->data = data;
    b->cap = cap;
  }
  return 1;
}

/* Appends n bytes; 0 when memory ran out (the buffer is left as it was). */
int sa_buf_append(sa_buf *b, const char *p, size_t n) {
  if (!buf_reserve(b, n)) return 0;
  memcpy(b->data + b->len, p, n);
  b->len += n;
  return 1;
}

/* ---------------------------------------------------------------- callbacks */

/* CURLOPT_WRITEFUNCTION: the body, in pieces as they arrive. Only copies, never calls Lua: a Lua
 * error here would longjmp through libcurl's frames. */
static size_t on_body(char *p, size_t size, size_t nmemb, void *ud) {
  sa_transfer *x = ud;
  size_t n = size * nmemb;
  if (sa_buf_append(&x->body, p, n)) return n;
  x->nomem = 1; /* returning less than n aborts with CURLE_WRITE_ERROR */
  return 0;
}

static int is_space(char ch) {
  return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
}

/* Appends "name:value\n" with the name lower-cased and the value trimmed; 0 on no memory. */
static int head_add(sa_buf *h, const char *line, size_t n) {
  const char *colon = memchr(line, ':', n);
  const char *v, *end = line + n;
  size_t i, name, need;
  char *w;
  if (colon == NULL || colon == line) return 1; /* not a header line: nothing worth keeping */
  for (v = colon + 1; v < end && is_space(*v); v++) {
  }
  while (end > v && is_space(end[-1]))
    end--;
  name = (size_t)(colon - line);
  need = name + 1 + (size_t)(end - v) + 1;
  if (!buf_reserve(h, need)) return 0;
  w = h->data + h->len;
  for (i = 0; i < name; i++)
    w[i] = line[i] >= 'A' && line[i] <= 'Z' ? (char)(line[i] - 'A' + 'a') : line[i];
  w[name] = ':';
  memcpy(w + name + 1, v, (size_t)(end - v));
  w[need - 1] = '\n';
  h->len += need;
  return 1;
}

/* An obsolete folded line (leading white space) continues the previous value. */
static int head_fold(sa_buf *h, const char *line, size_t n) {
  const char *end = line + n;
  if (h->len == 0) return 1;
  while (line < end && is_space(*line))
    line++;
  while (end > line && is_space(end[-1]))
    end--;
  h->data[h->len - 1] = ' '; /* the previous line's "\n" */
  if (!sa_buf_append(h, line, (size_t)(end - line)) || !sa_buf_append(h, "\n", 1)) {
    h->data[h->len - 1] = '\n';
    return 0;
  }
  return 1;
}

/* libcurl hands over one complete header line per call, status lines included. */
static size_t on_header(char *p, size_t size, size_t nmemb, void *ud) {
  sa_transfer *x = ud;
  size_t n = size * nmemb;
  int ok = 1;
  if (n >= 5 && memcmp(p, "HTTP/", 5) == 0)
    x->head.len = 0; /* a new response (after 100 Continue, a proxy's CONNECT, ...) */
  else if (n > 0 && (p[0] == ' ' || p[0] == '\t'))
    ok = head_fold(&x->head, p, n);
  else
    ok = head_add(&x->head, p, n);
  if (ok) return n;
  x->nomem = 1;
  return 0;
}

/* libcurl re-sends a request by itself when it went out on a reused connection and the
 * connection closed before a single response byte came back (Curl_retry_request in
 * lib/transfer.c, up to 5 times, bodies included: it rewinds them; there is no option to turn
 * this off before 8.16's CURLOPT_FORBID_RETRY_ON_REUSE, see curl/curl#18417). The server may
 * have processed the first copy, so for a write that is a possible double booking behind the
 * retry policy's back. CURLOPT_PREREQFUNCTION runs right before every send of the request,
 * re-sends included: it counts them (the rate limiter charges each), and for a request that
 * is not idempotent it refuses the second, which ends the transfer with
 * CURLE_ABORTED_BY_CALLBACK (reported as sent: the outcome is unknown). Cheaper than
 * CURLOPT_FRESH_CONNECT for every write: connection reuse and its saved handshakes stay. */
#if LIBCURL_VERSION_NUM >= 0x075000 /* 7.80.0 */
static int on_prereq(void *ud, char *remote_ip, char *local_ip, int remote_port, int local_port) {
  sa_transfer *x = ud;
  (void)remote_ip, (void)local_ip, (void)remote_port, (void)local_port;
  if (++x->sends > 1 && x->guard) {
    x->resend_refused = 1;
    return CURL_PREREQFUNC_ABORT;
  }
  return CURL_PREREQFUNC_OK;
}
#endif

/* ---------------------------------------------------------------- client and slots */

/* One multi handle per client: it owns the connection and DNS caches, so every slot's transfer
 * reuses connections; slot 0's easy handle is made now, the others when first needed. */
int sa_client_open(sa_client *c) {
  if ((c->multi = curl_multi_init()) == NULL) return 0;
  /* A second connection (a prefetch while another call runs) resumes the first one's TLS
   * session instead of a full handshake; one thread per client, so no locks. */
  if ((c->share = curl_share_init()) == NULL ||
      curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION) != CURLSHE_OK ||
      curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS) != CURLSHE_OK)
    return 0;
  return sa_transfer_prepare(c, &c->xfer[0]);
}

#define SETOPT(x, opt, val)                                                                        \
  do {                                                                                             \
    if (curl_easy_setopt((x)->easy, opt, val) != CURLE_OK) return 0;                               \
  } while (0)

/* Creates the slot's easy handle with everything that stays the same across requests. */
int sa_transfer_prepare(sa_client *c, sa_transfer *x) {
  if (x->easy != NULL) return 1;
  if ((x->easy = curl_easy_init()) == NULL) return 0;
  SETOPT(x, CURLOPT_ERRORBUFFER, x->errbuf);
  SETOPT(x, CURLOPT_NOSIGNAL, 1L); /* no SIGALRM games inside a Lua host */
  SETOPT(x, CURLOPT_TCP_KEEPALIVE, 1L);
  SETOPT(x, CURLOPT_CONNECTTIMEOUT_MS, c->connect_timeout_ms);
  SETOPT(x, CURLOPT_TIMEOUT_MS, c->timeout_ms);
  SETOPT(x, CURLOPT_SSL_VERIFYPEER, 1L); /* never settable off */
  SETOPT(x, CURLOPT_SSL_VERIFYHOST, 2L);
  if (c->ca_file != NULL) /* extra CAs: CAPATH keeps the system ones */
    SETOPT(x, CURLOPT_CAINFO, c->ca_file);
#if LIBCURL_VERSION_NUM >= 0x075500
  SETOPT(x, CURLOPT_PROTOCOLS_STR, "https,http");
  SETOPT(x, CURLOPT_REDIR_PROTOCOLS_STR, "https,http");
#else
  SETOPT(x, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTPS | CURLPROTO_HTTP));
  SETOPT(x, CURLOPT_REDIR_PROTOCOLS, (long)(CURLPROTO_HTTPS | CURLPROTO_HTTP));
#endif
  /* A redirect is a response for the caller: following it could carry the key elsewhere. */
  SETOPT(x, CURLOPT_FOLLOWLOCATION, 0L);
  SETOPT(x, CURLOPT_WRITEFUNCTION, on_body);
  SETOPT(x, CURLOPT_WRITEDATA, (void *)x);
  SETOPT(x, CURLOPT_HEADERFUNCTION, on_header);
  SETOPT(x, CURLOPT_HEADERDATA, (void *)x);
#if LIBCURL_VERSION_NUM >= 0x075000
  SETOPT(x, CURLOPT_PREREQFUNCTION, on_prereq);
  SETOPT(x, CURLOPT_PREREQDATA, (void *)x);
#endif
  SETOPT(x, CURLOPT_PRIVATE, (void *)x); /* which slot a finished transfer is (collect) */
  SETOPT(x, CURLOPT_SHARE, c->share);
  return 1;
}

/* Sets what differs per request. Everything a previous request on this reused handle may have
 * set is reset first, so no stale body or method leaks into this one. Order matters: setting
 * POSTFIELDS switches the method to POST, HTTPGET switches it back. The body is not copied:
 * the caller keeps it alive until the transfer ended. */
int sa_transfer_setup(sa_transfer *x, const char *method, const char *url,
                      struct curl_slist *headers, const char *body, size_t len, int guard) {
  /* A multipart body (multipart.c) stays bound across attempts: binding it again would reset
   * the state libcurl rewinds it by. Unbinding sets the method, so it comes before HTTPGET. */
  int get = method[0] == 'G' && x->mime == NULL; /* the methods are GET, HEAD, POST, PUT, ... */
  /* A GET after a GET has nothing to reset */
  if (!(get && x->plain_get)) {
    if (x->mime == NULL) SETOPT(x, CURLOPT_MIMEPOST, (curl_mime *)NULL);
    SETOPT(x, CURLOPT_POSTFIELDS, (const char *)NULL);
    SETOPT(x, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)-1);
    SETOPT(x, CURLOPT_HTTPGET, 1L);
    SETOPT(x, CURLOPT_CUSTOMREQUEST, (const char *)NULL);
  }
  x->plain_get = 0; /* until this setup is through */
  SETOPT(x, CURLOPT_URL, url);
  SETOPT(x, CURLOPT_HTTPHEADER, headers);
  if (strcmp(method, "HEAD") == 0)
    SETOPT(x, CURLOPT_NOBODY, 1L);
  else if (strcmp(method, "GET") != 0) {
    if (strcmp(method, "POST") != 0) SETOPT(x, CURLOPT_CUSTOMREQUEST, method);
    /* POST, PUT and PATCH always carry a body (maybe empty: "Content-Length: 0"), DELETE
     * only when given one. */
    if (x->mime != NULL) /* a multipart body; libcurl rewinds it before each send */
      SETOPT(x, CURLOPT_MIMEPOST, x->mime);
    else if (body != NULL || strcmp(method, "DELETE") != 0) {
      SETOPT(x, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
      SETOPT(x, CURLOPT_POSTFIELDS, body != NULL ? body : "");
    }
  }
#if LIBCURL_VERSION_NUM < 0x075000
  /* No pre-request callback to refuse a silent re-send (see on_prereq): a write gets a new
   * connection, on which libcurl never re-sends. */
  SETOPT(x, CURLOPT_FRESH_CONNECT, (long)guard);
#endif
  x->plain_get = get;
  x->guard = guard;
  x->sends = x->resend_refused = x->aborted = 0;
  x->sunk = 0; /* a download's file is written from its start again (multipart.c) */
  x->errbuf[0] = '\0';
  x->nomem = 0;
  x->body.len = x->head.len = 0;
  return 1;
}

#undef SETOPT

static CURLcode multi_failed(sa_transfer *x, CURLMcode mc) {
  strncpy(x->errbuf, curl_multi_strerror(mc), CURL_ERROR_SIZE - 1);
  x->errbuf[CURL_ERROR_SIZE - 1] = '\0';
  return CURLE_FAILED_INIT;
}

/* Reads the multi handle's messages: each finished transfer's result goes to its slot (several
 * may be in flight: a prefetch finishes while another call drives the multi handle). */
static void collect(sa_client *c, sa_transfer *x) {
  CURLMsg *msg;
  int left;
  while ((msg = curl_multi_info_read(c->multi, &left)) != NULL) {
    sa_transfer *done = NULL;
    char *p = NULL;
    if (msg->msg != CURLMSG_DONE) continue;
    if (msg->easy_handle == x->easy)
      done = x;
    else if (curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &p) == CURLE_OK)
      done = (sa_transfer *)(void *)p;
    if (done != NULL) {
      done->done = 1;
      done->result = msg->data.result;
    }
  }
}

/* Adds x to the client's multi handle. With async (a prefetch) the request also goes out now
 * and libcurl's own timeouts are off for it: the answer waits in the socket while the caller is
 * busy, which is no time of the server's, so sa_transfer_wait counts the timeout from when it
 * starts waiting. A failure is reported as CURLE_FAILED_INIT with its text in errbuf. */
CURLcode sa_transfer_begin(sa_client *c, sa_transfer *x, int async) {
  CURLMcode mc;
  int running;
  x->done = 0;
  x->result = CURLE_OK;
  x->async = async;
  long timeout = async ? 0L : c->timeout_ms, connect = async ? 0L : c->connect_timeout_ms;
  if (async != x->timeouts_off && /* set at prepare for sync calls; switched only when needed */
      (curl_easy_setopt(x->easy, CURLOPT_TIMEOUT_MS, timeout) != CURLE_OK ||
       curl_easy_setopt(x->easy, CURLOPT_CONNECTTIMEOUT_MS, connect) != CURLE_OK))
    return CURLE_FAILED_INIT;
  x->timeouts_off = async;
  if ((mc = curl_multi_add_handle(c->multi, x->easy)) != CURLM_OK) return multi_failed(x, mc);
  x->active = 1;
  if (async) { /* drive it until the request is out: a new connection takes a few rounds */
    double until = sa_mono_now() + (double)c->connect_timeout_ms / 1000;
    long sent = 0;
    for (;;) {
      if ((mc = curl_multi_perform(c->multi, &running)) != CURLM_OK) break;
      collect(c, x);
      if (x->done || sa_mono_now() >= until ||
          (curl_easy_getinfo(x->easy, CURLINFO_REQUEST_SIZE, &sent) == CURLE_OK && sent > 0))
        return CURLE_OK;
      if ((mc = curl_multi_poll(c->multi, NULL, 0, 100, NULL)) != CURLM_OK) break;
    }
    curl_multi_remove_handle(c->multi, x->easy);
    x->active = 0;
    return multi_failed(x, mc);
  }
  return CURLE_OK;
}

/* Drives the multi handle until x (begun) is done, and takes it off. On CURLE_OK *status is the
 * HTTP status. A multi-level failure is reported as CURLE_FAILED_INIT with its text in errbuf,
 * so the caller sees one kind of result. */
CURLcode sa_transfer_wait(sa_client *c, sa_transfer *x, long *status) {
  CURLMcode mc = CURLM_OK;
  double left = 0, deadline = x->async ? sa_mono_now() + (double)c->timeout_ms / 1000 : 0;
  int running, ms, timed_out = 0;
  *status = 0;
  while (!x->done) {
    if ((mc = curl_multi_perform(c->multi, &running)) != CURLM_OK) break;
    collect(c, x);
    if (x->done) break;
    if (x->async && (left = deadline - sa_mono_now()) <= 0) {
      timed_out = 1;
      break;
    }
    /* waits at most for libcurl's own next timeout, a second, or what is left of ours */
    ms = x->async && left < 1 ? (int)(left * 1000) + 1 : 1000;
    if ((mc = curl_multi_poll(c->multi, NULL, 0, ms, NULL)) != CURLM_OK) break;
  }
  curl_multi_remove_handle(c->multi, x->easy);
  x->active = 0;
  if (mc != CURLM_OK) return multi_failed(x, mc);
  if (timed_out) {
    snprintf(x->errbuf, CURL_ERROR_SIZE, "Operation timed out after %ld ms waiting for the answer",
             c->timeout_ms);
    return CURLE_OPERATION_TIMEDOUT;
  }
  if (x->result == CURLE_OK) curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, status);
  if (x->resend_refused)
    strcpy(x->errbuf, "the connection closed after the request was sent, before any answer; "
                      "not sent again (it may have been processed)");
  return x->result;
}

/* Runs one transfer to its end on the client's multi handle (blocking). */
CURLcode sa_transfer_run(sa_client *c, sa_transfer *x, long *status) {
  CURLcode rc = sa_transfer_begin(c, x, 0);
  *status = 0;
  return rc != CURLE_OK ? rc : sa_transfer_wait(c, x, status);
}

/* ---------------------------------------------------------------- failures */

static int is_tls_error(CURLcode rc) {
  switch (rc) {
  case CURLE_SSL_CONNECT_ERROR:
  case CURLE_PEER_FAILED_VERIFICATION:
  case CURLE_SSL_CACERT_BADFILE:
  case CURLE_SSL_CERTPROBLEM:
  case CURLE_SSL_CIPHER:
  case CURLE_SSL_ENGINE_NOTFOUND:
  case CURLE_SSL_ENGINE_SETFAILED:
  case CURLE_SSL_ENGINE_INITFAILED:
  case CURLE_USE_SSL_FAILED:
  case CURLE_SSL_SHUTDOWN_FAILED:
  case CURLE_SSL_CRL_BADFILE:
  case CURLE_SSL_ISSUER_ERROR:
  case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
  case CURLE_SSL_INVALIDCERTSTATUS:
  case CURLE_SSL_CLIENTCERT:
    return 1;
  default:
    return 0;
  }
}

/* Errors that can only happen before a request is written: name resolution, connecting, the
 * TLS handshake and its setup, and a timeout (which may strike at any stage, hence the check on
 * the request size below). */
static int fails_before_request(CURLcode rc) {
  switch (rc) {
  case CURLE_COULDNT_RESOLVE_HOST:
  case CURLE_COULDNT_RESOLVE_PROXY:
  case CURLE_COULDNT_CONNECT:
  case CURLE_OPERATION_TIMEDOUT:
  case CURLE_UNSUPPORTED_PROTOCOL:
  case CURLE_URL_MALFORMAT:
    return 1;
  default:
    return is_tls_error(rc) && rc != CURLE_SSL_SHUTDOWN_FAILED;
  }
}

void sa_transfer_classify(sa_transfer *x, CURLcode rc, sa_failure *f) {
  long request_size = -1; /* request bytes written; libcurl resets it per transfer */
  size_t n = strlen(x->errbuf);
  while (n > 0 && is_space(x->errbuf[n - 1]))
    x->errbuf[--n] = '\0';
  f->message = n > 0 ? x->errbuf : curl_easy_strerror(rc);
  f->kind = rc == CURLE_OPERATION_TIMEDOUT ? "timeout" : is_tls_error(rc) ? "tls" : "network";
  if (curl_easy_getinfo(x->easy, CURLINFO_REQUEST_SIZE, &request_size) != CURLE_OK)
    request_size = -1;
  f->sent = !(fails_before_request(rc) && request_size == 0);
}

/* After the results were pushed: keep the buffers for the next request unless one grew huge. */
void sa_transfer_finish(sa_transfer *x) {
  x->body.len = x->head.len = 0;
  if (x->body.cap > SA_BUF_KEEP) sa_buf_free(&x->body);
  if (x->head.cap > SA_BUF_KEEP) sa_buf_free(&x->head);
}

/* ---------------------------------------------------------------- closing */

/* Idempotent and safe on a half-built client. libcurl's order: take each easy handle off the
 * multi, clean it up, then the multi handle, then what the handles pointed at (slists). */
void sa_client_release(sa_client *c) {
  int i;
  sa_multipart_release(c); /* the download transfer, a leftover multipart body or file */
  for (i = 0; i < SA_POOL_SIZE; i++) {
    sa_transfer *x = &c->xfer[i];
    if (x->active && c->multi != NULL) curl_multi_remove_handle(c->multi, x->easy);
    x->active = 0;
    if (x->easy != NULL) curl_easy_cleanup(x->easy);
    x->easy = NULL;
    curl_slist_free_all(x->extra);
    curl_slist_free_all(x->retry);
    x->extra = x->retry = NULL;
    sa_buf_free(&x->body);
    sa_buf_free(&x->head);
  }
  if (c->multi != NULL) curl_multi_cleanup(c->multi);
  c->multi = NULL;
  if (c->share != NULL) curl_share_cleanup(c->share); /* after every handle that used it */
  c->share = NULL;
  curl_slist_free_all(c->headers);
  curl_slist_free_all(c->headers_body);
  c->headers = c->headers_body = NULL;
  free(c->ca_file);
  c->ca_file = NULL;
}
