/* mod_push_tls.h — the stream loop's sink for a subscriber over TLS
 * (https:// event streams, wss://): the connection's own filters, mod_ssl
 * then the core output filter, driven without blocking, so that such a
 * subscriber is held without a thread as a plain one is.  See
 * mod_push_tls.c. */
#ifndef MOD_PUSH_TLS_H
#define MOD_PUSH_TLS_H

#include "httpd.h"
#include "util_filter.h"

#include "core/push_sink.h"
#include "lib/push_buf.h"

typedef struct {
    push_sink_t         sink;
    conn_rec           *c;
    ap_filter_t        *top;       /* mod_ssl's filter */
    ap_filter_t        *core;      /* the core output filter */
    apr_bucket_brigade *bb;
    int                 chunked;   /* HTTP/1.1 chunked body */
    size_t              max_pending;
    /* The most passed to mod_ssl at once, and only while the core output
     * filter holds nothing: what it then holds stays under its
     * FlushMaxThreshold, past which it would wait for the socket. */
    size_t              piece;
    push_buf_t          pending;   /* not yet given to mod_ssl */
    size_t              pending_off;
} push_tls_sink_t;

/* Whether c is a TLS connection whose output filters this sink knows to
 * neither block nor hold data back when no FLUSH is passed: mod_ssl's
 * (its coalescing filter is passed by), mod_logio's, mod_reqtimeout's
 * (which only notes a request's end) and the core's.  Another TLS
 * module's connection keeps its thread. */
int  push_tls_parkable(conn_rec *c);

/* What the MPM's close does for a TLS connection before the socket is
 * shut: mod_ssl sends its close_notify alert, so the client can tell the
 * end of the connection from a cut (RFC 8446 6.1), and frees the
 * session.  Without blocking: an alert the socket cannot take at once
 * is lost, as the connection ends anyway.  Nothing on a plain
 * connection, or one whose client is gone. */
void push_tls_close_notify(conn_rec *c);

/* Sets the sink up on c's filters (on the handler's thread, before the
 * hand-over); its brigade is in c->pool. */
void push_tls_sink_init(push_tls_sink_t *k, conn_rec *c, int chunked,
                        size_t max_pending);

#endif
