/* The baseline studioapi's request benchmark is measured against: a plain C loop that reuses one
 * libcurl easy handle (keep-alive, TLS session kept) and decodes every body with Debian's cJSON.
 *
 *   raw_curl URL COUNT [CA_FILE]
 *
 * Prints one line: "raw_curl <count> requests in <seconds> s: <rate> req/s (<bytes> bytes/body)".
 * Anything but a 200 with a JSON body is a failure (exit 1), so a broken route can't look fast. */
#define _POSIX_C_SOURCE 200809L
#include <cJSON.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
  char *data;
  size_t len, cap;
} buffer;

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *userdata) {
  buffer *b = userdata;
  size_t n = size * nmemb;
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + n + 1)
      cap *= 2;
    char *p = realloc(b->data, cap);
    if (p == NULL) return 0; /* aborts the transfer */
    b->data = p;
    b->cap = cap;
  }
  memcpy(b->data + b->len, ptr, n);
  b->len += n;
  b->data[b->len] = '\0';
  return n;
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s URL COUNT [CA_FILE]\n", argv[0]);
    return 2;
  }
  const char *url = argv[1];
  long count = strtol(argv[2], NULL, 10);
  curl_global_init(CURL_GLOBAL_DEFAULT);
  CURL *curl = curl_easy_init();
  buffer body = {NULL, 0, 0};
  struct curl_slist *headers = NULL;
  /* The same headers studioapi sends, so both sides move the same bytes. */
  headers = curl_slist_append(headers, "x-api-key: bench-key-not-checked");
  headers = curl_slist_append(headers, "Accept: application/json");
  headers = curl_slist_append(headers, "User-Agent: raw_curl");
  curl_easy_setopt(curl, CURLOPT_URL, url);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L);
  if (argc > 3) curl_easy_setopt(curl, CURLOPT_CAINFO, argv[3]);

  double start = now();
  for (long i = 0; i < count; i++) {
    body.len = 0;
    CURLcode rc = curl_easy_perform(curl);
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    if (rc != CURLE_OK || status != 200) {
      fprintf(stderr, "raw_curl: request %ld failed: %s (status %ld)\n", i, curl_easy_strerror(rc),
              status);
      return 1;
    }
    cJSON *doc = cJSON_ParseWithLength(body.data, body.len);
    if (doc == NULL) {
      fprintf(stderr, "raw_curl: request %ld: body is not JSON\n", i);
      return 1;
    }
    cJSON_Delete(doc);
  }
  double elapsed = now() - start;
  printf("raw_curl %ld requests in %.3f s: %.0f req/s (%zu bytes/body)\n", count, elapsed,
         (double)count / elapsed, body.len);

  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  free(body.data);
  curl_global_cleanup();
  return 0;
}
