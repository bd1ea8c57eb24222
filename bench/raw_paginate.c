/* The baseline for bench/paginate.lua: a plain C loop that pages through a chunked list one
 * chunk after the other with one reused libcurl handle, decodes each chunk with Debian's cJSON,
 * counts the records and follows `offset` until `hasNext` is false.
 *
 *   raw_paginate BASE_URL SLICE_SIZE [CA_FILE]
 *
 * BASE_URL is the list's URL, maybe with a query
 * ("https://127.0.0.1:8443/bench/customers?pages=9"). Prints: "raw_paginate <records> records in
 * <chunks> chunks, <seconds> s: <rate> records/s". */
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
    size_t cap = b->cap ? b->cap : 65536;
    while (cap < b->len + n + 1)
      cap *= 2;
    char *p = realloc(b->data, cap);
    if (p == NULL) return 0;
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
    fprintf(stderr, "usage: %s BASE_URL SLICE_SIZE [CA_FILE]\n", argv[0]);
    return 2;
  }
  curl_global_init(CURL_GLOBAL_DEFAULT);
  CURL *curl = curl_easy_init();
  buffer body = {NULL, 0, 0};
  struct curl_slist *headers = NULL;
  headers = curl_slist_append(headers, "x-api-key: bench-key-not-checked");
  headers = curl_slist_append(headers, "Accept: application/json");
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  if (argc > 3) curl_easy_setopt(curl, CURLOPT_CAINFO, argv[3]);

  char url[2048], offset[256] = "";
  long records = 0, chunks = 0;
  int has_next = 1;
  double start = now();
  while (has_next) {
    snprintf(url, sizeof url, "%s%csliceSize=%s%s%s", argv[1], strchr(argv[1], '?') ? '&' : '?',
             argv[2], offset[0] ? "&offset=" : "", offset);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    body.len = 0;
    CURLcode rc = curl_easy_perform(curl);
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    if (rc != CURLE_OK || status != 200) {
      fprintf(stderr, "raw_paginate: chunk %ld failed: %s (%ld)\n", chunks, curl_easy_strerror(rc),
              status);
      return 1;
    }
    cJSON *doc = cJSON_ParseWithLength(body.data, body.len);
    const cJSON *result = cJSON_GetObjectItemCaseSensitive(doc, "result");
    const cJSON *next = cJSON_GetObjectItemCaseSensitive(doc, "offset");
    const cJSON *more = cJSON_GetObjectItemCaseSensitive(doc, "hasNext");
    if (!cJSON_IsArray(result) || !cJSON_IsString(next) || !cJSON_IsBool(more)) {
      fprintf(stderr, "raw_paginate: chunk %ld is not {result, offset, hasNext}\n", chunks);
      return 1;
    }
    records += cJSON_GetArraySize(result);
    chunks++;
    has_next = cJSON_IsTrue(more);
    snprintf(offset, sizeof offset, "%s", next->valuestring);
    cJSON_Delete(doc);
  }
  double elapsed = now() - start;
  printf("raw_paginate %ld records in %ld chunks, %.3f s: %.0f records/s\n", records, chunks,
         elapsed, (double)records / elapsed);
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  free(body.data);
  curl_global_cleanup();
  return 0;
}
