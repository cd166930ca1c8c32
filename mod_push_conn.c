/* mod_push_conn.c — connections held by the stream loop (event MPM).
 *
 * A subscriber on a plain HTTP/1.x connection need not hold a worker
 * thread while it waits.  Its handler hands the connection to this
 * child's stream loop (core/push_loop.c; the hand-over is
 * mod_push_park.c's) and returns SUSPENDED:
 *   - an event stream or a WebSocket once its headers (or 101) are out:
 *     the loop streams it (core/push_stream.c);
 *   - a long poll that found nothing to answer yet: the loop watches its
 *     channel and answers when it changes.
 *
 * A long poll's answer is an ordinary HTTP response, and after it the
 * connection is kept alive for the client's next poll.  httpd 2.4 has no
 * call that gives a suspended connection back to the MPM, so this file
 * keeps it and does, for these connections, what the event MPM does for
 * its own: it waits for the next request (KeepAliveTimeout), for room to
 * write the rest of a response (Timeout), or for the client to finish a
 * lingering close.  A long poll's small answer is written by the loop
 * itself through the request's filters (when they neither block nor hold
 * data back); a larger one, and the next request, run on the MPM's
 * worker threads, a few at a time (mod_push_workers.c).
 *
 * A connection that ends here is finished the way the MPM would: its
 * request (if any) is logged through its EOR bucket, and the
 * connection's pool, with the socket, is destroyed.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "apr_atomic.h"
#include "apr_optional.h"
#include "apr_strings.h"

#include "httpd.h"
#include "http_config.h"
#include "http_connection.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "ap_mpm.h"
#include "mpm_common.h"
#include "scoreboard.h"

#include "core/push_loop.h"
#include "core/push_stream.h"
#include "mod_push.h"
#include "mod_push_accel.h"
#include "mod_push_conn.h"
#include "mod_push_conn_rec.h"
#include "mod_push_presence.h"
#include "mod_push_store.h"
#include "mod_push_workers.h"

APLOG_USE_MODULE(push);

static void conn_adopt(park_conn *s);
static void conn_finish(park_conn *s);
static void conn_end(park_conn *s, push_ended_e how);
static void longpoll_answer(park_conn *s);

/* ------------------------------------------------------------------ */
/* Worker threads                                                       */

/* Back to the loop between requests, or for the rest of a response. */
static void worker_release(park_conn *s, park_mode mode)
{
    conn_rec *c = s->c;

    s->mode = mode;
    ap_set_module_config(c->conn_config, &push_module, NULL);
    /* The MPM's way for a connection no thread runs (notify_suspend). */
    c->sbh = NULL;
    apr_socket_timeout_set(s->sock, 0);
    push_loop_handover(push_parked->loop, &s->item);
}

static apr_status_t flush_output(conn_rec *c)
{
    ap_filter_t *f = c->output_filters;

    while (f->next) {
        f = f->next;
    }
    /* The core output filter: a NULL brigade writes what it holds,
     * without blocking. */
    return f->frec->filter_func.out_func(f, NULL);
}

/* After a request, what the event MPM does in process_socket: flush,
 * then keep the connection alive, or close it.  The mode it waits in
 * next; PM_WORKER when a pipelined request is already in. */
static park_mode after_request(conn_rec *c)
{
    if (c->cs->state != CONN_STATE_WRITE_COMPLETION
        || flush_output(c) != APR_SUCCESS) {
        return PM_LINGER;
    }
    if (c->data_in_output_filters) {
        return PM_FLUSH;
    }
    if (c->keepalive != AP_CONN_KEEPALIVE || c->aborted
        || push_loop_is_stopping(push_parked->loop)) {
        return PM_LINGER;
    }
    return c->data_in_input_filters ? PM_WORKER : PM_KEEPALIVE;
}

/* On a worker, after a request (or a long poll's answer). */
static void worker_continue(park_conn *s)
{
    conn_rec *c = s->c;
    park_mode next;

    while (c->cs->state != CONN_STATE_SUSPENDED) {
        if ((next = after_request(c)) != PM_WORKER) {
            worker_release(s, next);
            return;
        }
        /* A pipelined request: run it here. */
        c->cs->state = CONN_STATE_PROCESSING;
        ap_run_process_connection(c);
    }
    /* A handler parked it again (or another module took it): tell the
     * suspend hooks, as the MPM would; ours gives it to the loop. */
    c->sbh = NULL;
    if (!s->handing) {
        /* Not ours any more: out of the loop's set now, and the record
         * goes back for the loop to free (an event for it may still be
         * in the loop's hands). */
        ap_set_module_config(c->conn_config, &push_module, NULL);
        push_loop_unwatch(&s->item);
        s->forget = 1;
        push_loop_handover(push_parked->loop, &s->item);
    }
    ap_run_suspend_connection(c, NULL);
}

/* A long poll was answered (rc from its transport's respond): the
 * subscription ends, and so does the request. */
static void longpoll_end(park_conn *s, int rc)
{
    request_rec *r = s->r;

    push_sub_release(&s->sub);
    s->subscribed = 0;
    s->r = NULL;
    apr_atomic_dec32(&push_parked->parked);
    ap_die(rc, r);
    /* Logs the request (the client's, of any internal redirects) and
     * frees its pool; the connection state says what comes next. */
    ap_process_request_after_handler(push_accel_first(r));
}

static int longpoll_respond(park_conn *s)
{
    return s->sub.t->respond(&s->sub, s->u.lp.outcome, &s->u.lp.msg,
                             s->u.lp.gap, &s->u.lp.gap_id);
}

/* On a worker thread (mod_push_workers.c). */
static void worker_run(push_work_t *w, ap_sb_handle_t *sbh)
{
    park_conn *s = (park_conn *)((char *)w - APR_OFFSETOF(park_conn, work));
    conn_rec *c = s->c;

    c->sbh = sbh;
    apr_socket_timeout_set(s->sock, c->base_server->timeout);
    /* A handler that parks the connection again reuses this record. */
    ap_set_module_config(c->conn_config, &push_module, s);
    s->handing = 0;
    switch (s->job) {
    case JOB_REQUEST:
        ap_update_child_status_from_conn(sbh, SERVER_BUSY_READ, c);
        c->cs->state = CONN_STATE_PROCESSING;
        ap_run_process_connection(c);
        break;
    case JOB_FLUSH:
        ap_update_child_status(sbh, SERVER_BUSY_WRITE, NULL);
        c->cs->state = CONN_STATE_WRITE_COMPLETION;
        break;
    case JOB_LEAVE:
        if (push_loop_is_abandoned(push_parked->loop)) {
            return;     /* stopping at once: touch nothing (as reap) */
        }
        ap_update_child_status(sbh, SERVER_BUSY_WRITE, s->r);
        push_presence_tell(s->r, &s->sub, 1);
        /* Finished as the loop would have: what the client still sends
         * is read without waiting for it. */
        apr_socket_timeout_set(s->sock, 0);
        conn_finish(s);     /* frees s */
        return;
    case JOB_ANSWER:
        ap_update_child_status(sbh, SERVER_BUSY_WRITE, s->r);
        if (s->u.lp.outcome == PUSH_OUTCOME_MESSAGE && !s->u.lp.msg.body) {
            /* Too big for the loop to copy: looked at again here. */
            push_status_e st = push_sub_look(&s->sub, apr_time_now(),
                                             push_pool_copy, s->r->pool,
                                             &s->u.lp.msg, &s->u.lp.gap,
                                             &s->u.lp.gap_id);

            if (st == PUSH_NONE) {
                /* It went meanwhile (evicted): the poll waits on. */
                worker_release(s, PM_LONGPOLL);
                return;
            }
            s->u.lp.outcome = st == PUSH_GONE ? PUSH_OUTCOME_GONE
                                         : PUSH_OUTCOME_MESSAGE;
        }
        longpoll_end(s, longpoll_respond(s));
        break;
    }
    worker_continue(s);
}

/* Loop side: the connection goes to a worker. */
static void work_add(park_conn *s, park_job job)
{
    push_loop_unfollow(&s->item);
    push_loop_untimed(&s->item);
    s->mode = PM_WORKER;
    s->job = job;
    s->work.run = worker_run;
    push_workers_add(push_parked->workers, &s->work);
}

/* Once per loop turn: enough workers for the queue. */
void push_conn_turn(void *baton)
{
    (void)baton;
    push_workers_start(push_parked->workers);
}

/* Workers linger for more work until the process stops at once (a
 * graceful stop still has answers to give). */
int push_conn_abandoned(void *baton)
{
    return push_loop_is_abandoned(baton);
}

/* ------------------------------------------------------------------ */
/* Long polls and the connection between requests                      */

/* After an answer written by the loop. */
static void loop_continue(park_conn *s)
{
    park_mode next = after_request(s->c);

    if (next == PM_WORKER) {
        work_add(s, JOB_REQUEST);     /* a pipelined request */
        return;
    }
    s->mode = next;
    conn_adopt(s);
}

/* A message a long poll's look found, copied in r->pool when the loop
 * may answer it itself; a larger one is only noted (its id and size),
 * and the worker that answers copies it: the loop does not hold a copy
 * for each of its thousands of polls while the workers catch up. */
static void *longpoll_copy(void *ctx, const push_msgid_t *id,
                           apr_size_t size)
{
    park_conn *s = ctx;

    (void)id;
    return s->u.lp.inline_ok && size <= PARK_INLINE_ANSWER_MAX
           ? apr_palloc(s->r->pool, size) : NULL;
}

/* One look in the store for a long poll; 1 when its wait is over (the
 * message, or the channel's deletion). */
static int longpoll_look(park_conn *s)
{
    push_status_e st = push_sub_look(&s->sub, apr_time_now(),
                                     longpoll_copy, s, &s->u.lp.msg,
                                     &s->u.lp.gap, &s->u.lp.gap_id);

    if (st == PUSH_FOUND) {
        s->u.lp.outcome = PUSH_OUTCOME_MESSAGE;
        return 1;
    }
    if (st == PUSH_GONE) {
        s->u.lp.outcome = PUSH_OUTCOME_GONE;
        return 1;
    }
    return 0;
}

/* The wait is over (s->u.lp.outcome): answered by the loop when the answer is
 * small and the filters allow (the message was copied), else by a
 * worker. */
static void longpoll_answer(park_conn *s)
{
    if (!s->u.lp.inline_ok || (s->u.lp.outcome == PUSH_OUTCOME_MESSAGE
                          && !s->u.lp.msg.body)) {
        work_add(s, JOB_ANSWER);
        return;
    }
    push_loop_unfollow(&s->item);
    push_loop_untimed(&s->item);
    longpoll_end(s, longpoll_respond(s));
    loop_continue(s);
}

/* PushLongPollTimeout passed, or the server is stopping: the answer is
 * what the store has at this moment, else 304. */
static void longpoll_over(park_conn *s, push_outcome_e why)
{
    if (!longpoll_look(s)) {
        s->u.lp.outcome = why;
    }
    longpoll_answer(s);
}

/* Whether the socket holds a whole request head (or more than the loop
 * looks at); 0 when not yet, -1 when the client closed. */
static int head_complete(park_conn *s)
{
    char buf[PARK_HEAD_PEEK];
    ssize_t n = recv(s->item.fd, buf, sizeof(buf), MSG_PEEK | MSG_DONTWAIT);
    ssize_t i;

    if (n == 0) {
        return -1;
    }
    if (n < 0) {
        return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR
               ? 0 : -1;
    }
    /* Over TLS the bytes say nothing until decrypted: a worker reads
     * the head (or the client's closing alert). */
    if (n == (ssize_t)sizeof(buf) || s->tls) {
        return 1;
    }
    for (i = 1; i < n; i++) {
        if (buf[i] == '\n' && (buf[i - 1] == '\n'
            || (i >= 2 && buf[i - 1] == '\r' && buf[i - 2] == '\n'))) {
            return 1;
        }
    }
    return 0;
}

/* The socket is readable (events), or a partial head is due another
 * look (events 0). */
static void keepalive_event(park_conn *s, apr_uint32_t events)
{
    apr_time_t now = apr_time_now();
    int head = head_complete(s);

    if (head > 0) {
        work_add(s, JOB_REQUEST);
    }
    else if (head < 0 || (events & (EPOLLHUP | EPOLLERR | EPOLLRDHUP))) {
        /* Gone, or gone with a head that can never be whole now. */
        conn_end(s, PUSH_ENDED_CLIENT);
    }
    else if (s->head_deadline && now >= s->head_deadline) {
        conn_end(s, PUSH_ENDED_CLIENT);     /* not whole within Timeout */
    }
    else {
        if (!s->head_deadline) {
            /* A request has begun: it has Timeout to arrive whole. */
            s->head_deadline = now + s->c->base_server->timeout;
            push_loop_timer(&s->item, PARK_HEAD_RECHECK, now);
        }
        else {
            push_loop_touch(&s->item, now);
        }
        /* Only its end is watched now; the rest is looked for on the
         * timer. */
        if (push_loop_watch(&s->item, EPOLLRDHUP | EPOLLONESHOT) != 0) {
            conn_end(s, PUSH_ENDED_CLIENT);
        }
    }
}

/* Reads and drops what the client still sends; 1 at its end. */
static int read_off(park_conn *s)
{
    for (;;) {
        char sink[2048];
        apr_size_t len = sizeof(sink);
        apr_status_t rv = apr_socket_recv(s->sock, sink, &len);

        if (APR_STATUS_IS_EAGAIN(rv)) {
            return 0;
        }
        if (rv != APR_SUCCESS || !len) {
            return 1;
        }
    }
}

/* Our side of the connection is done: TLS says so first (close_notify),
 * as the MPM's close does. */
static apr_status_t shut_write(park_conn *s)
{
    if (s->tls) {
        push_tls_close_notify(s->c);
    }
    return apr_socket_shutdown(s->sock, APR_SHUTDOWN_WRITE);
}

static void linger_read(park_conn *s)
{
    if (read_off(s)
        || push_loop_watch(&s->item, EPOLLIN | EPOLLRDHUP | EPOLLONESHOT)
           != 0) {
        conn_end(s, PUSH_ENDED_SERVER);
    }
}

/* ------------------------------------------------------------------ */
/* The loop's callbacks                                                 */

/* Gives back the memory the connection's allocator keeps for reuse
 * (chiefly the 8 KB buffer the request was read into): a waiting
 * subscriber allocates nothing until it is answered. */
static void conn_trim(park_conn *s)
{
    apr_allocator_t *a = apr_pool_allocator_get(s->c->pool);
    int i;

    if (!a || apr_allocator_owner_get(a) != s->c->pool) {
        return;
    }
    apr_allocator_max_free_set(a, 1);
    /* Each round takes a kept block (or a new one) and, over the new
     * limit, frees it for good. */
    for (i = 0; i < 2; i++) {
        apr_memnode_t *m = apr_allocator_alloc(a, 1);

        if (m) {
            apr_allocator_free(a, m);
        }
    }
    /* The MPM's limit again: a connection that goes on to more requests
     * reuses its blocks instead of mapping new ones for each. */
    apr_allocator_max_free_set(a, ap_max_mem_free);
}

static void conn_adopt(park_conn *s)
{
    apr_time_t now = apr_time_now();
    int stopping = push_loop_is_stopping(push_parked->loop);

    s->head_deadline = 0;
    if (s->forget) {
        conn_end(s, PUSH_ENDED_SERVER);
        return;
    }
    switch (s->mode) {
    case PM_STREAM:
        if (push_stream_start(&s->u.stream.st) != 0) {
            /* Stopping (or out of descriptors): end it as a stopping
             * server does, the client reconnects elsewhere. */
            conn_end(s, PUSH_ENDED_SERVER);
            return;
        }
        conn_trim(s);
        return;
    case PM_LONGPOLL:
        if (stopping || push_loop_follow(&s->item, &s->sub) != 0) {
            longpoll_over(s, PUSH_OUTCOME_STOPPING);
            return;
        }
        /* A pipelined request is not a hang-up: only the end counts. */
        if (push_loop_watch(&s->item, EPOLLRDHUP | EPOLLONESHOT) != 0) {
            conn_end(s, PUSH_ENDED_CLIENT);
            return;
        }
        push_loop_timer(&s->item, s->u.lp.timeout, now);
        if (longpoll_look(s)) {
            longpoll_answer(s);
        }
        return;
    case PM_KEEPALIVE:
        if (stopping
            || push_loop_watch(&s->item, EPOLLIN | EPOLLRDHUP | EPOLLONESHOT)
               != 0) {
            conn_end(s, PUSH_ENDED_SERVER);
            return;
        }
        push_loop_timer(&s->item, s->c->base_server->keep_alive_timeout,
                        now);
        return;
    case PM_FLUSH:
        if (push_loop_watch(&s->item, EPOLLOUT | EPOLLRDHUP | EPOLLONESHOT)
            != 0) {
            conn_end(s, PUSH_ENDED_CLIENT);
            return;
        }
        push_loop_timer(&s->item, s->c->base_server->timeout, now);
        return;
    case PM_LINGER:
    default:
        s->mode = PM_LINGER;
        /* Our side is done; what the client still sends is read and
         * dropped, so closing does not reset what it has yet to read. */
        if (shut_write(s) != APR_SUCCESS
            || push_loop_watch(&s->item, EPOLLIN | EPOLLRDHUP | EPOLLONESHOT)
               != 0) {
            conn_end(s, PUSH_ENDED_SERVER);
            return;
        }
        push_loop_timer(&s->item, PARK_LINGER_TIME, now);
        return;
    }
}

static void conn_end(park_conn *s, push_ended_e how)
{
    push_loop_end(&s->item, how);
}

static void conn_io(park_conn *s, apr_uint32_t events)
{
    switch (s->mode) {
    case PM_STREAM:
        push_stream_io(&s->u.stream.st, events);
        return;
    case PM_LONGPOLL:
        if (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
            conn_end(s, PUSH_ENDED_CLIENT);
        }
        return;
    case PM_KEEPALIVE:
        keepalive_event(s, events);
        return;
    case PM_FLUSH:
        if (events & (EPOLLHUP | EPOLLERR)) {
            conn_end(s, PUSH_ENDED_CLIENT);
        }
        else if (events & EPOLLOUT) {
            work_add(s, JOB_FLUSH);
        }
        return;
    case PM_LINGER:
        linger_read(s);
        return;
    default:
        /* A worker's now (an armed one-shot that fired late, or handed
         * over earlier in this batch): not ours to act on. */
        return;
    }
}

static void conn_due(park_conn *s, apr_time_t now)
{
    switch (s->mode) {
    case PM_STREAM:
        push_stream_due(&s->u.stream.st, now);
        return;
    case PM_LONGPOLL:
        longpoll_over(s, PUSH_OUTCOME_TIMEOUT);
        return;
    case PM_FLUSH:
        conn_end(s, PUSH_ENDED_CLIENT);   /* the client reads nothing */
        return;
    case PM_KEEPALIVE:
        if (s->head_deadline) {
            keepalive_event(s, 0);        /* another look at the head */
            return;
        }
        conn_end(s, PUSH_ENDED_SERVER);   /* KeepAliveTimeout */
        return;
    default:
        conn_end(s, PUSH_ENDED_SERVER);   /* keep-alive or linger over */
        return;
    }
}

/* What the MPM does at the end of a connection, for one we hold. */
static void conn_finish(park_conn *s)
{
    request_rec *r = s->r;
    conn_rec *c = s->c;
    int tell;

    if (s->forget) {
        free(s);
        apr_atomic_dec32(&push_parked->conns);
        return;
    }
    tell = s->subscribed && s->mode == PM_STREAM && !s->told_leave
           && push_presence_wanted(r, &s->sub, 1)
           && !push_loop_is_abandoned(push_parked->loop);
    if (s->subscribed) {
        /* Out of the channel's count before the application hears of
         * it: a client that comes back at once is not refused for it. */
        push_sub_release(&s->sub);
        s->subscribed = 0;
        apr_atomic_dec32(&push_parked->parked);
    }
    if (tell) {
        /* The application may take its time to answer: a worker tells
         * it, then finishes the connection.  The loop forgot it. */
        s->told_leave = 1;
        s->job = JOB_LEAVE;
        s->work.run = worker_run;
        push_workers_add(push_parked->workers, &s->work);
        return;
    }
    if (s->mode == PM_STREAM) {
        push_stream_finish(&s->u.stream.st);
        if (r) {
            r->bytes_sent += (apr_off_t)s->u.stream.st.sink->body_bytes;
        }
        if (push_parked_logio && s->u.stream.st.sink->wire_bytes) {
            push_parked_logio(c,
                              (apr_off_t)s->u.stream.st.sink->wire_bytes);
        }
    }
    if (r) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, "%s on channel %s "
                      "ended (%s) after %lu messages (parked)",
                      s->sub.t->name, s->sub.channel,
                      s->item.ended == PUSH_ENDED_CLIENT
                      ? "client went away" : "server side",
                      s->sub.delivered);
        if (s->item.ended == PUSH_ENDED_CLIENT) {
            c->aborted = 1;
        }
        c->keepalive = AP_CONN_CLOSE;
        /* Logs the request (the client's, of any internal redirects)
         * and frees its pool. */
        ap_process_request_after_handler(push_accel_first(r));
    }
    /* The MPM counts a suspended connection until its pool goes. */
    if (c->cs) {
        c->cs->state = CONN_STATE_SUSPENDED;
    }
    if (s->mode != PM_LINGER) {
        /* Whatever the client sent is read first: closing on unread
         * bytes would reset the connection and could cut off the last
         * event. */
        read_off(s);
        shut_write(s);
    }
    apr_pool_destroy(c->pool);
    free(s);
    apr_atomic_dec32(&push_parked->conns);
}

/* The item is the record's first member. */
#define CONN_OF(it) ((park_conn *)(it))

static void op_adopt(push_loop_item_t *it)
{
    conn_adopt(CONN_OF(it));
}

static void op_io(push_loop_item_t *it, uint32_t events)
{
    conn_io(CONN_OF(it), events);
}

static void op_due(push_loop_item_t *it, int64_t now)
{
    conn_due(CONN_OF(it), now);
}

static void op_expired(push_loop_item_t *it, int64_t now)
{
    park_conn *s = CONN_OF(it);

    if (s->mode == PM_STREAM) {
        push_stream_expired(&s->u.stream.st, now);
    }
}

static void op_wake(push_loop_item_t *it)
{
    park_conn *s = CONN_OF(it);

    if (s->mode == PM_STREAM) {
        push_stream_wake(&s->u.stream.st);
    }
    else if (s->mode == PM_LONGPOLL && longpoll_look(s)) {
        longpoll_answer(s);
    }
}

/* The server is stopping or restarting: the clients come back (with
 * Last-Event-ID, or their long poll's cursor) to a live process and lose
 * nothing. */
static void op_unwatchable(push_loop_item_t *it)
{
    park_conn *s = CONN_OF(it);

    if (s->mode == PM_STREAM) {
        push_stream_unwatchable(&s->u.stream.st);
    }
    else if (s->mode == PM_LONGPOLL) {
        longpoll_over(s, PUSH_OUTCOME_STOPPING);
    }
}

/* A graceful stop: what waits between requests is closed, as the MPM
 * closes its kept-alive connections. */
static void op_stopping(push_loop_item_t *it)
{
    park_conn *s = CONN_OF(it);

    if (s->mode == PM_KEEPALIVE) {
        conn_end(s, PUSH_ENDED_SERVER);
    }
}

static void op_finish(push_loop_item_t *it)
{
    conn_finish(CONN_OF(it));
}

const push_loop_ops_t push_conn_ops = {
    op_adopt, op_io, op_due, op_wake, op_unwatchable, op_stopping, op_finish,
    op_expired
};

park_state *push_parked;
APR_OPTIONAL_FN_TYPE(ap_logio_add_bytes_out) *push_parked_logio;
