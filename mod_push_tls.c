/* mod_push_tls.c — the stream loop's sink for a subscriber over TLS.
 *
 * The loop writes a plain subscriber's bytes to its socket itself
 * (core/push_sink.c).  A TLS subscriber's must be encrypted by mod_ssl,
 * whose state is the connection's; the loop, the only thread that touches
 * a held connection, passes them down the connection's own filters:
 *   - a write goes to mod_ssl as one bucket (a TLS record per 16 KB), and
 *     the core output filter, which sets small writes aside, is then given
 *     a NULL brigade: it writes what it holds without blocking (the event
 *     MPM's way in write completion) and keeps what the socket does not
 *     take;
 *   - while it keeps some, the sink is pending: the stream waits for room
 *     and drains it with another NULL brigade, and what the stream writes
 *     meanwhile waits here, unencrypted;
 *   - mod_ssl's coalescing filter, above it, is passed by: it would hold
 *     small writes back until more came;
 *   - no FLUSH bucket is ever passed, and no more than `piece` bytes at a
 *     time, only while the core output filter holds nothing: past a FLUSH
 *     or its FlushMaxThreshold, that filter waits for the socket, which
 *     with the loop's zero timeout fails the connection.
 * mod_logio, between mod_ssl and the core output filter, counts the bytes
 * as they pass. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "apr_buckets.h"

#include "httpd.h"
#include "http_connection.h"
#include "http_core.h"
#include "http_ssl.h"
#include "util_filter.h"

#include "mod_push_tls.h"

#define TLS_FILTER      "SSL/TLS Filter"
#define TLS_COALESCE    "SSL/TLS Coalescing Filter"
/* A piece passed to mod_ssl is gathered on the loop's stack. */
#define TLS_PIECE_MAX   (32 * 1024)
#define TLS_PIECE_MIN   1024

int push_tls_parkable(conn_rec *c)
{
    static const char *const known[] = {
        TLS_COALESCE, TLS_FILTER, "log_input_output", "reqtimeout", "core",
        NULL
    };
    ap_filter_t *f;
    int tls = 0;

    if (!ap_ssl_conn_is_ssl(c)) {
        return 0;
    }
    for (f = c->output_filters; f; f = f->next) {
        int i;

        for (i = 0; known[i] && strcasecmp(known[i], f->frec->name); i++)
            ;
        if (!known[i]) {
            return 0;
        }
        tls |= i == 1;
        if (!f->next && strcasecmp(f->frec->name, "core")) {
            return 0;
        }
    }
    return tls;
}

/* mod_ssl's own filter among c's, or NULL. */
static ap_filter_t *tls_filter(conn_rec *c)
{
    ap_filter_t *f;

    for (f = c->output_filters; f; f = f->next) {
        if (!strcasecmp(f->frec->name, TLS_FILTER)) {
            return f;
        }
    }
    return NULL;
}

void push_tls_close_notify(conn_rec *c)
{
    ap_filter_t *f = tls_filter(c);
    apr_bucket_brigade *bb;

    if (!f || c->aborted) {
        return;
    }
    /* An EOC bucket, as ap_flush_conn passes: mod_ssl shuts the TLS
     * layer down on it.  Passed to mod_ssl's filter itself, below its
     * coalescing filter; the core output filter then writes it with
     * the loop's zero timeout. */
    bb = apr_brigade_create(c->pool, c->bucket_alloc);
    APR_BRIGADE_INSERT_TAIL(bb, ap_bucket_eoc_create(c->bucket_alloc));
    ap_pass_brigade(f, bb);
    apr_brigade_destroy(bb);
}

static push_sink_rc gone(push_tls_sink_t *t)
{
    t->sink.gone = 1;
    return PUSH_SINK_GONE;
}

static size_t own_pending(const push_tls_sink_t *t)
{
    return t->pending.len - t->pending_off;
}

static size_t tls_pending(const push_sink_t *k)
{
    const push_tls_sink_t *t = (const push_tls_sink_t *)k;

    return own_pending(t) + (t->c->data_in_output_filters ? 1 : 0);
}

/* The core output filter writes what it holds, without blocking; -1
 * when the client is gone. */
static int core_push(push_tls_sink_t *t)
{
    apr_status_t rv = t->core->frec->filter_func.out_func(t->core, NULL);

    return rv == APR_SUCCESS && !t->c->aborted ? 0 : -1;
}

/* One piece through mod_ssl, then to the socket as far as it takes it. */
static int pass_piece(push_tls_sink_t *t, const char *data, size_t len)
{
    apr_status_t rv;

    APR_BRIGADE_INSERT_TAIL(t->bb, apr_bucket_transient_create(
                                data, len, t->c->bucket_alloc));
    rv = ap_pass_brigade(t->top, t->bb);
    apr_brigade_cleanup(t->bb);
    if (rv != APR_SUCCESS || t->c->aborted) {
        return -1;
    }
    return core_push(t);
}

/* Gives mod_ssl what waits here, a piece at a time, while the socket
 * takes all of each. */
static push_sink_rc pass_pending(push_tls_sink_t *t)
{
    while (own_pending(t) && !t->c->data_in_output_filters) {
        size_t len = own_pending(t);

        if (len > t->piece) {
            len = t->piece;
        }
        if (pass_piece(t, (const char *)t->pending.data + t->pending_off,
                       len) != 0) {
            return gone(t);
        }
        t->pending_off += len;
    }
    if (!own_pending(t)) {
        t->pending.len = 0;
        t->pending_off = 0;
    }
    return tls_pending(&t->sink) ? PUSH_SINK_QUEUED : PUSH_SINK_SENT;
}

/* Appends v[0..n) behind what waits; -1 over max_pending or out of
 * memory.  Compacted once most of it went, as the socket sink's. */
static int pending_add(push_tls_sink_t *t, const struct iovec *v, int n)
{
    size_t more = 0;
    int i;

    for (i = 0; i < n; i++) {
        more += v[i].iov_len;
    }
    if (own_pending(t) + more > t->max_pending) {
        return -1;
    }
    if (t->pending_off && t->pending_off >= t->pending.len / 2) {
        memmove(t->pending.data, t->pending.data + t->pending_off,
                own_pending(t));
        t->pending.len -= t->pending_off;
        t->pending_off = 0;
    }
    if (push_buf_reserve(&t->pending, more) != 0) {
        return -1;
    }
    for (i = 0; i < n; i++) {
        memcpy(t->pending.data + t->pending.len, v[i].iov_base,
               v[i].iov_len);
        t->pending.len += v[i].iov_len;
    }
    return 0;
}

static push_sink_rc tls_write(push_sink_t *k, const struct iovec *bufs,
                              int nbufs)
{
    push_tls_sink_t *t = (push_tls_sink_t *)k;
    struct iovec vec[PUSH_SINK_MAX_IOV + 2];
    char gather[TLS_PIECE_MAX];
    char head[PUSH_SINK_CHUNK_HEAD];
    size_t body, total, used = 0;
    int i, n, queued_behind = tls_pending(k) != 0;

    if (nbufs > PUSH_SINK_MAX_IOV) {
        return gone(t);
    }
    if ((n = push_sink_frame(bufs, nbufs, t->chunked, head, vec, &body,
                             &total)) == 0) {
        return PUSH_SINK_SENT;
    }
    k->body_bytes += body;
    if (queued_behind || total > t->piece) {
        /* Behind what waits, or in pieces: through the queue, in order. */
        if (pending_add(t, vec, n) != 0) {
            return gone(t);
        }
        if (queued_behind) {
            return PUSH_SINK_QUEUED;
        }
    }
    else {
        /* The common case: one small write, one record, no copy kept. */
        for (i = 0; i < n; i++) {
            memcpy(gather + used, vec[i].iov_base, vec[i].iov_len);
            used += vec[i].iov_len;
        }
        if (pass_piece(t, gather, used) != 0) {
            return gone(t);
        }
    }
    if (k->on_write) {
        k->on_write(k->baton);
    }
    return pass_pending(t);
}

static push_sink_rc tls_drain(push_sink_t *k)
{
    push_tls_sink_t *t = (push_tls_sink_t *)k;

    if (k->gone) {
        return PUSH_SINK_GONE;
    }
    if (t->c->data_in_output_filters && core_push(t) != 0) {
        return gone(t);
    }
    return pass_pending(t);
}

static int tls_finish(push_sink_t *k)
{
    static const char last[] = "0\r\n\r\n";
    push_tls_sink_t *t = (push_tls_sink_t *)k;

    if (!t->chunked || k->gone || tls_pending(k)) {
        return 0;
    }
    return pass_piece(t, last, sizeof(last) - 1) == 0;
}

static void tls_release(push_sink_t *k)
{
    push_tls_sink_t *t = (push_tls_sink_t *)k;

    push_buf_free(&t->pending);
    t->pending_off = 0;
}

void push_tls_sink_init(push_tls_sink_t *k, conn_rec *c, int chunked,
                        size_t max_pending)
{
    core_server_config *conf =
        ap_get_core_module_config(c->base_server->module_config);
    ap_filter_t *f = c->output_filters;

    memset(k, 0, sizeof(*k));
    k->sink.write = tls_write;
    k->sink.pending = tls_pending;
    k->sink.drain = tls_drain;
    k->sink.finish = tls_finish;
    k->sink.release = tls_release;
    /* Straight to mod_ssl, below its coalescing filter, which would hold
     * small writes back until more came (it holds nothing now: the
     * headers went out with a flush), and mod_reqtimeout's. */
    k->top = tls_filter(c);
    while (f->next) {
        f = f->next;
    }
    k->core = f;
    k->c = c;
    k->bb = apr_brigade_create(c->pool, c->bucket_alloc);
    k->chunked = chunked;
    k->max_pending = max_pending;
    /* Half the threshold leaves room for each record's own bytes. */
    k->piece = conf->flush_max_threshold / 2;
    if (k->piece > TLS_PIECE_MAX) {
        k->piece = TLS_PIECE_MAX;
    }
    if (k->piece < TLS_PIECE_MIN) {
        k->piece = TLS_PIECE_MIN;
    }
    push_buf_init(&k->pending);
}
