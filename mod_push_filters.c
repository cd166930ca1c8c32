/* mod_push_filters.c — a subscriber's bytes through httpd's filters: the
 * sink a subscriber on a worker thread writes to (HTTP/2, worker,
 * prefork, and the handshake of every stream), and the source every
 * reading transport starts from, with what httpd buffered already; a
 * parked TLS stream keeps the source (mod_push_tls.c has its sink). */
#include <string.h>

#include "apr_buckets.h"

#include "httpd.h"
#include "util_filter.h"

#include "mod_push_filters.h"

static push_sink_rc filter_write(push_sink_t *k, const struct iovec *v,
                                 int n)
{
    push_filter_sink_t *fs = (push_filter_sink_t *)k;
    apr_status_t rv;
    int i;

    for (i = 0; i < n; i++) {
        if (v[i].iov_len) {
            APR_BRIGADE_INSERT_TAIL(fs->bb, apr_bucket_transient_create(
                                        v[i].iov_base, v[i].iov_len,
                                        fs->c->bucket_alloc));
        }
    }
    APR_BRIGADE_INSERT_TAIL(fs->bb, apr_bucket_flush_create(
                                fs->c->bucket_alloc));
    rv = ap_pass_brigade(fs->filters, fs->bb);
    apr_brigade_cleanup(fs->bb);
    if (rv != APR_SUCCESS || fs->c->aborted) {
        k->gone = 1;
        return PUSH_SINK_GONE;
    }
    if (k->on_write) {
        k->on_write(k->baton);
    }
    return PUSH_SINK_SENT;
}

static size_t filter_pending(const push_sink_t *k)
{
    (void)k;
    return 0;
}

void push_filter_sink_init(push_filter_sink_t *k, request_rec *r,
                           ap_filter_t *filters)
{
    memset(k, 0, sizeof(*k));
    k->sink.write = filter_write;
    k->sink.pending = filter_pending;
    k->filters = filters;
    k->c = r->connection;
    k->bb = apr_brigade_create(r->pool, r->connection->bucket_alloc);
}

/* Up to cap bytes of what the filters hold or give now.  What does not
 * fit stays in the brigade for the next read.  The core input filter
 * says "nothing yet" as success with an empty brigade. */
static long filter_read(push_source_t *src, unsigned char *buf, size_t cap)
{
    push_filter_source_t *fs = (push_filter_source_t *)src;
    apr_size_t got = 0;

    if (APR_BRIGADE_EMPTY(fs->bb)) {
        apr_status_t rv = ap_get_brigade(fs->filters, fs->bb,
                                         AP_MODE_READBYTES,
                                         APR_NONBLOCK_READ, cap);

        if (APR_STATUS_IS_EAGAIN(rv)) {
            apr_brigade_cleanup(fs->bb);
            return PUSH_SOURCE_AGAIN;
        }
        if (rv != APR_SUCCESS) {
            apr_brigade_cleanup(fs->bb);
            return PUSH_SOURCE_ERROR;
        }
    }
    while (!APR_BRIGADE_EMPTY(fs->bb) && got < cap) {
        apr_bucket *b = APR_BRIGADE_FIRST(fs->bb);
        const char *data;
        apr_size_t len;

        if (APR_BUCKET_IS_EOS(b)) {
            return got ? (long)got : 0;
        }
        if (apr_bucket_read(b, &data, &len, APR_BLOCK_READ) != APR_SUCCESS) {
            apr_brigade_cleanup(fs->bb);
            return PUSH_SOURCE_ERROR;
        }
        if (len > cap - got) {
            apr_bucket_split(b, cap - got);
            len = cap - got;
        }
        memcpy(buf + got, data, len);
        got += len;
        apr_bucket_delete(b);
    }
    return got ? (long)got : PUSH_SOURCE_AGAIN;
}

void push_filter_source_init(push_filter_source_t *src, request_rec *r,
                             ap_filter_t *filters)
{
    src->source.read = filter_read;
    src->source.hides_input = 1;
    src->filters = filters;
    src->bb = apr_brigade_create(r->pool, r->connection->bucket_alloc);
}
