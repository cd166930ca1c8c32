/* mod_push_park.c — handing a connection to the stream loop (event MPM):
 * whether a request's connection can be held without its thread, the
 * record it is held by, the hand-over once the MPM has suspended it, and
 * the loop's life in the child.  What is done with it then is
 * mod_push_conn.c's. */
#include "apr_atomic.h"
#include "apr_strings.h"

#include "httpd.h"
#include "http_config.h"
#include "http_connection.h"
#include "http_core.h"
#include "http_log.h"
#include "http_ssl.h"
#include "ap_mpm.h"
#include "mpm_common.h"

#include "mod_push.h"
#include "mod_push_accel.h"
#include "mod_push_config.h"
#include "mod_push_conn.h"
#include "mod_push_conn_rec.h"
#include "mod_push_store.h"
#include "mod_push_tls.h"

APLOG_USE_MODULE(push);

/* Body filters that may stay above the connection while bytes bypass
 * them: they have nothing left to do once the headers are out.
 * mod_reqtimeout's (on by default in Debian) only notes the end of a
 * request, from the EOR bucket that still goes through the filters when
 * the loop finishes the request.  mod_ssl's are the connection's, which
 * a TLS subscriber's bytes do go through (mod_push_tls.c). */
static int filters_bypassable(request_rec *r)
{
    static const char *const ok[] = {
        "chunk", "http_outerror", "byterange", "content_length",
        "http_header", "log_input_output", "reqtimeout", "core",
        "push_x_accel", "SSL/TLS Filter", "SSL/TLS Coalescing Filter", NULL
    };
    ap_filter_t *f;

    for (f = r->output_filters; f; f = f->next) {
        int i;

        for (i = 0; ok[i] && strcasecmp(ok[i], f->frec->name); i++)
            ;
        if (!ok[i]) {
            return 0;
        }
    }
    return 1;
}

int push_park_possible(request_rec *r)
{
    conn_rec *c = r->connection;
    park_conn *held = ap_get_module_config(c->conn_config, &push_module);

    return push_parked && !push_loop_is_stopping(push_parked->loop)
           && !c->master && c->cs && !c->aborted && !r->main
           && (!r->prev || push_accel_may_suspend(r))
           && ap_get_conn_socket(c)
           && (!ap_ssl_conn_is_ssl(c) || push_tls_parkable(c))
           && (!held || !held->handing);
}

/* The record the connection is held by: the one a worker runs it with,
 * or a new one. */
static park_conn *park_record(request_rec *r)
{
    conn_rec *c = r->connection;
    park_conn *s = ap_get_module_config(c->conn_config, &push_module);
    apr_os_sock_t fd;

    if (s) {
        return s;
    }
    if (apr_os_sock_get(&fd, ap_get_conn_socket(c)) != APR_SUCCESS
        || !(s = calloc(1, sizeof(*s)))) {
        return NULL;
    }
    push_loop_item_init(&s->item, &push_conn_ops, fd);
    s->c = c;
    s->sock = ap_get_conn_socket(c);
    s->tls = ap_ssl_conn_is_ssl(c);
    apr_atomic_inc32(&push_parked->conns);
    ap_set_module_config(c->conn_config, &push_module, s);
    return s;
}

static park_conn *park_subscriber(request_rec *r, const push_sub_t *sub)
{
    park_conn *s = park_record(r);

    if (!s) {
        return NULL;
    }
    s->r = r;
    s->sub = *sub;
    s->sub.channel = apr_pstrdup(r->pool, sub->channel);
    s->subscribed = 1;
    s->handing = 1;
    s->item.ended = PUSH_ENDED_NOT;
    push_accel_suspended(r);
    apr_socket_timeout_set(s->sock, 0);
    apr_atomic_inc32(&push_parked->parked);
    return s;
}

int push_park_stream(request_rec *r, const push_sub_t *sub, int chunked,
                     apr_interval_time_t ping_every)
{
    park_conn *s;

    if (!push_park_possible(r) || !filters_bypassable(r)
        || !(s = park_subscriber(r, sub))) {
        return 0;
    }
    s->mode = PM_STREAM;
    push_stream_init(&s->u.stream.st, &s->sub, &s->item, chunked, ping_every,
                     r->server->timeout);
    if (s->tls) {
        push_tls_sink_init(&s->u.stream.tls_out, r->connection, chunked,
                           PUSH_STREAM_PENDING_MAX);
        push_filter_source_init(&s->u.stream.tls_in, r,
                                r->connection->input_filters);
        push_stream_use(&s->u.stream.st, &s->u.stream.tls_out.sink,
                        &s->u.stream.tls_in.source);
    }
    s->u.stream.st.idle_limit =
        apr_time_from_sec(push_conf_subscriber_timeout(push_conf(r)));
    return 1;
}

int push_park_longpoll(request_rec *r, const push_sub_t *sub,
                       apr_interval_time_t timeout)
{
    park_conn *s;
    /* Looked at before parking hides an internally redirected request's
     * filters (push_accel_suspended).  A multi-message answer
     * (PushLongPollMultipart) may copy megabytes: a worker gives it. */
    int inline_ok = filters_bypassable(r)
                    && push_conf_longpoll_multipart(push_conf(r))
                       == PUSH_LP_ONE;

    if (!push_park_possible(r) || !(s = park_subscriber(r, sub))) {
        return 0;
    }
    s->mode = PM_LONGPOLL;
    s->u.lp.inline_ok = inline_ok;
    s->u.lp.timeout = timeout;
    return 1;
}

/* suspend_connection hook: the MPM (or a worker of ours) is done with
 * the connection. */
static void push_conn_suspended(conn_rec *c, request_rec *r)
{
    park_conn *s = push_parked ? ap_get_module_config(c->conn_config, &push_module)
                        : NULL;

    (void)r;
    if (!s || !s->handing) {
        return;
    }
    ap_set_module_config(c->conn_config, &push_module, NULL);
    s->handing = 0;
    if (s->r) {
        push_accel_restore(s->r);
    }
    s->item.since = apr_time_now();
    push_loop_handover(push_parked->loop, &s->item);
}

unsigned push_park_count(void)
{
    return push_parked ? apr_atomic_read32(&push_parked->parked) : 0;
}

unsigned push_park_connections(void)
{
    return push_parked ? apr_atomic_read32(&push_parked->conns) : 0;
}

/* The child is stopping (may run in a signal handler: atomic stores
 * and a write).  Gracefully, the MPM waits for every connection, so the
 * loop finishes its own; otherwise the MPM tears itself down at once,
 * and finishing a connection (which calls back into the MPM) could use
 * what is already gone: the loop lets the process exit close them. */
void push_conn_stopping(int graceful)
{
    if (push_parked) {
        push_loop_stopping(push_parked->loop, graceful);
    }
}

/* Ends the loop for good; its streams end at their channels' wake-ups
 * (the notifier fires them all when the process stops).  A pre-cleanup
 * of the child's pool: the loop's thread is gone before any other
 * module's child cleanup tears down what finishing a connection uses
 * (logs, filters, the MPM's counts). */
static apr_status_t park_stop(void *data)
{
    (void)data;
    push_workers_quit(push_parked->workers);
    push_loop_destroy(push_parked->loop);
    push_parked = NULL;
    return APR_SUCCESS;
}

void push_conn_child_init(apr_pool_t *pchild, server_rec *s)
{
    const push_env_t *env = push_env();
    park_state *ps;
    int async = 0, rv;

    if (ap_mpm_query(AP_MPMQ_IS_ASYNC, &async) != APR_SUCCESS || !async
        || !env) {
        return;
    }
    push_parked_logio = APR_RETRIEVE_OPTIONAL_FN(ap_logio_add_bytes_out);
    ps = apr_pcalloc(pchild, sizeof(*ps));
    if (!(ps->loop = push_loop_create(env, PARK_REAP_GRACE, push_conn_turn,
                                      NULL))
        || !(ps->workers = push_workers_create(pchild, PARK_WORKERS,
                                               PARK_WORKER_LINGER_MS,
                                               push_conn_abandoned, ps->loop))) {
        ap_log_error(APLOG_MARK, APLOG_ERR, errno, s, "cannot set up the "
                     "push stream loop: subscribers keep their threads");
        if (ps->loop) {
            push_loop_destroy(ps->loop);
        }
        return;
    }
    push_parked = ps;
    if ((rv = push_loop_start(ps->loop)) != 0) {
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, s, "cannot start the push "
                     "stream loop: subscribers keep their threads");
        push_loop_destroy(ps->loop);
        push_parked = NULL;
        return;
    }
    apr_pool_pre_cleanup_register(pchild, NULL, park_stop);
}

void push_conn_register_hooks(apr_pool_t *p)
{
    (void)p;
    ap_hook_suspend_connection(push_conn_suspended, NULL, NULL,
                               APR_HOOK_MIDDLE);
}
