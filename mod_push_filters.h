/* mod_push_filters.h — a subscriber's bytes through httpd's filters
 * (mod_push_filters.c). */
#ifndef MOD_PUSH_FILTERS_H
#define MOD_PUSH_FILTERS_H

#include "httpd.h"
#include "util_filter.h"

#include "core/push_sink.h"

/* A filter sink: each write is a brigade passed down `filters` with a
 * flush (blocking), so TLS and HTTP/2 keep their own framing. */
typedef struct {
    push_sink_t         sink;
    ap_filter_t        *filters;
    apr_bucket_brigade *bb;
    conn_rec           *c;
} push_filter_sink_t;
void push_filter_sink_init(push_filter_sink_t *k, request_rec *r,
                           ap_filter_t *filters);

/* A filter source: non-blocking reads through `filters` (TLS decrypted,
 * and what httpd buffered already is not lost). */
typedef struct {
    push_source_t       source;
    ap_filter_t        *filters;
    apr_bucket_brigade *bb;
} push_filter_source_t;
void push_filter_source_init(push_filter_source_t *src, request_rec *r,
                             ap_filter_t *filters);

#endif
