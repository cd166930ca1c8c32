/* mod_push_conn_rec.h — the record of a connection the stream loop
 * holds, shared by the two sides of holding one: mod_push_park.c, which
 * takes it from a handler and hands it to the loop, and mod_push_conn.c,
 * which serves it on the loop and on borrowed worker threads.  Not for
 * other files. */
#ifndef MOD_PUSH_CONN_REC_H
#define MOD_PUSH_CONN_REC_H

#include "apr_optional.h"

#include "httpd.h"
#include "http_connection.h"

#include "core/push_loop.h"
#include "core/push_stream.h"
#include "mod_push_filters.h"
#include "mod_push_tls.h"
#include "mod_push_workers.h"

/* A connection that ends right after the MPM suspended it is finished a
 * little later: the worker that suspended it may still be returning
 * through the MPM, which touches the connection once more after the
 * suspend_connection hook. */
#define PARK_REAP_GRACE  apr_time_from_msec(200)
/* A lingering close reads what the client still sends for this long
 * (the event MPM's own figure). */
#define PARK_LINGER_TIME apr_time_from_sec(2)
/* Worker threads one child's loop uses at once (mod_push_workers.c).
 * Enough to keep both cores of a small machine busy. */
#define PARK_WORKERS 4
/* How long a worker with nothing to do waits for more before it goes
 * back to the MPM: polls come back in a stream while a message fans out. */
#define PARK_WORKER_LINGER_MS 25
/* How much of a request head the loop looks at before handing the
 * request to a worker; a longer head is handed over unseen. */
#define PARK_HEAD_PEEK 8192
/* A head that came in part is looked at again this often (not on every
 * readiness: its bytes stay in the socket, so a level-triggered watch
 * would fire at once, for ever), until it is whole, the client hangs up
 * or Timeout passes. */
#define PARK_HEAD_RECHECK apr_time_from_msec(20)
/* A long poll's answer up to this size is written by the loop itself,
 * through the request's filters: they are all ones that neither block
 * nor hold data back (filters_bypassable), and the core output filter
 * sets aside, without blocking, what the socket does not take.  Larger
 * answers go to a worker, which may wait for the client. */
#define PARK_INLINE_ANSWER_MAX (16 * 1024)

/* What a held connection waits for. */
typedef enum {
    PM_STREAM,      /* event stream or WebSocket: core/push_stream.c */
    PM_LONGPOLL,    /* long poll: its channel, PushLongPollTimeout */
    PM_KEEPALIVE,   /* the next request, KeepAliveTimeout */
    PM_FLUSH,       /* room for the rest of a response, Timeout */
    PM_LINGER,      /* the client's end of a closing connection */
    PM_WORKER       /* a worker thread: queued, or running */
} park_mode;

/* What a worker is to do with a connection. */
typedef enum {
    JOB_REQUEST,    /* a request came in: process it */
    JOB_FLUSH,      /* the socket has room: write the rest */
    JOB_ANSWER,     /* a long poll's wait is over: respond */
    JOB_LEAVE       /* a stream ended: PushUnsubscribeRequest, then the
                     * connection is finished */
} park_job;

typedef struct park_conn park_conn;

struct park_conn {
    push_loop_item_t    item;           /* the loop's handle (first) */
    push_work_t         work;           /* a worker's job */
    park_mode           mode;
    park_job            job;
    int                 handing;        /* a handler parked it; the
                                         * suspend hook hands it over */
    conn_rec           *c;
    apr_socket_t       *sock;
    /* A TLS connection: its bytes go through mod_ssl (mod_push_tls.c),
     * and what it sends can only be seen decrypted, through the
     * connection's input filters. */
    int                 tls;
    int                 forget;         /* another module's connection now */
    int                 told_leave;     /* PushUnsubscribeRequest is done */
    apr_time_t          head_deadline;  /* part of a request head is in:
                                         * the rest is due by then */

    /* The subscription (PM_STREAM, PM_LONGPOLL); r is NULL between
     * requests. */
    request_rec        *r;
    push_sub_t          sub;
    int                 subscribed;
    union {
        struct {                        /* PM_STREAM */
            push_stream_t           st;
            push_tls_sink_t         tls_out;   /* when tls */
            push_filter_source_t    tls_in;
        } stream;
        struct {                        /* PM_LONGPOLL */
            int                 inline_ok;  /* the loop may answer it */
            apr_interval_time_t timeout;
            /* How the wait ended, for whoever answers it. */
            push_outcome_e      outcome;
            push_message_t      msg;        /* copied in r->pool */
            int                 gap;
            push_msgid_t        gap_id;
        } lp;
    } u;
};

typedef struct {
    push_loop_t        *loop;
    push_workers_t     *workers;
    apr_uint32_t        parked;         /* subscribers held (atomic) */
    apr_uint32_t        conns;          /* connections held (atomic) */
} park_state;

/* This child's loop and its workers; NULL where connections are not
 * held (a non-async MPM, or before child_init). */
extern park_state *push_parked;
/* mod_logio's byte count, when it is loaded. */
extern APR_OPTIONAL_FN_TYPE(ap_logio_add_bytes_out) *push_parked_logio;

/* mod_push_conn.c's, for mod_push_park.c: the loop's callbacks for a
 * held connection, the loop's turn (workers for the queue), and whether
 * the loop stopped at once (workers do not linger then). */
extern const push_loop_ops_t push_conn_ops;
void push_conn_turn(void *baton);
int  push_conn_abandoned(void *baton);

#endif
