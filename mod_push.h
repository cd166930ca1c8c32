/* mod_push.h — the contracts between mod_push's httpd units.
 *
 * The path of a message reads one way through them:
 *   mod_push_pub.c (POST) -> the store engine (mod_push_store*.c, store/)
 *   -> its wake-up (store/push_notify.c) -> a driver: the stream loop
 *   (mod_push_conn.c, core/push_loop.c, core/push_stream.c) or a worker
 *   thread (mod_push_sub.c) -> the one delivery step (core/push_sub.c)
 *   -> the transport's table (mod_push_sse.c, mod_push_ws.c,
 *   mod_push_poll.c) -> a sink (core/push_sink.c, or the filter sink).
 */
#ifndef MOD_PUSH_H
#define MOD_PUSH_H

#include "httpd.h"
#include "http_config.h"
#include "util_filter.h"
#include "scoreboard.h"

#include "core/push_sub.h"
#include "core/push_transport.h"
#include "mod_push_config.h"

extern module AP_MODULE_DECLARE_DATA push_module;

/* ---- Transports (mod_push_transport.c) ----------------------------- */

/* Each transport file registers its table in register_hooks. */
void push_poll_register(apr_pool_t *p);
void push_sse_register(apr_pool_t *p);
void push_ws_register(apr_pool_t *p);

void push_transport_register(apr_pool_t *p, const push_transport_t *t);
/* By PushTransports keyword (any case); NULL when there is none. */
const push_transport_t *push_transport_find(apr_pool_t *p, const char *name);
/* Every registered keyword, in id order, for messages. */
const char *push_transport_names(apr_pool_t *p);
/* post_config: fixes the lists below for this generation. */
void push_transports_setup(apr_pool_t *pconf);
/* NULL-terminated, by precedence (the order requests are matched in). */
const push_transport_t *const *push_transports(void);
/* By id; NULL for an id no transport has. */
const push_transport_t *push_transport_by_id(unsigned id);
/* The PushTransports bits of those served by default. */
unsigned push_transports_default(void);

/* ---- The store (mod_push_store.c, mod_push_store_shm.c) ------------ */

/* A store engine as httpd sees it: registered by name (PushStore), like
 * httpd's socache providers. */
#define PUSH_STORE_PROVIDER_GROUP "push_store"
typedef struct {
    const char *name;
    /* post_config, in the parent: the engine's data for this server,
     * created or kept from the previous generation.  OK, or an HTTP
     * status after logging why. */
    int  (*open)(push_store_t *st, server_rec *s, apr_pool_t *pconf);
    /* child_init: what one process needs (may be NULL). */
    void (*child_init)(push_store_t *st, apr_pool_t *pchild, server_rec *s);
} push_store_provider_t;

void push_store_shm_register(apr_pool_t *p);

/* Shared memory kept across restarts on the process pool: the segment
 * stored under key, or NULL; and a new one stored under it. */
void *push_segment_kept(server_rec *s, const char *key, apr_size_t *size);
void *push_segment_create(server_rec *s, const char *key, apr_size_t size);

int  push_store_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                            apr_pool_t *ptemp, server_rec *s);
void push_store_child_init(apr_pool_t *pchild, server_rec *s);
void push_store_child_stopping(void);   /* signal-safe */
void push_store_wake_everyone(void);    /* signal-safe */
/* What this process's subscribers share; NULL without a store. */
const push_env_t *push_env(void);
/* The store alone; NULL without one. */
const push_store_t *push_store(void);
/* 1 when this process is stopping (or the MPM is). */
int  push_stopping(void);

/* ---- Publisher and status (mod_push_pub.c) ------------------------- */

void push_pub_register_hooks(apr_pool_t *p);

/* ---- Subscribers (mod_push_sub.c) ---------------------------------- */

void     push_sub_child_init(server_rec *s);
unsigned push_subscribers_held(void);     /* places taken in this child */
int      push_subscribers_cap(void);

/* The start every subscriber shares: the client's cursor (400 when
 * malformed), a per-child place unless it will be parked (503), the
 * store subscription (507), its count, and PushFirstMessage newest.  1 to
 * go on (*place says whether a place is held), 0 after a reply. */
int  push_sub_begin(request_rec *r, const push_transport_t *t,
                    const char *channel, int will_park, push_sub_t *s,
                    push_channel_info_t *info, int *place);
/* Ends what begin started. */
void push_sub_end(push_sub_t *s, int place);

/* A place for a subscriber that holds a thread after all; 0 (logged)
 * when the child is full. */
int  push_sub_take_place(request_rec *r);

/* Copies handed out by a look, in a pool (push_copy_fn). */
void *push_pool_copy(void *pool, const push_msgid_t *id, apr_size_t size);

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

/* A stream whose headers (or 101) went out through `out`: parked in the
 * stream loop when the MPM, connection and filters allow (SUSPENDED; r is
 * the loop's from then on), or run on this thread until it ends (OK).
 * in: READS transports' filter source.  chunked: the response body is
 * HTTP/1.1-chunked. */
int  push_sub_stream(request_rec *r, push_sub_t *s, push_filter_sink_t *out,
                     push_filter_source_t *in, int chunked, int place);

/* A one-shot subscriber (long poll) waits on this thread for the next
 * message after its cursor, until deadline (0: none), the channel's
 * deletion, a stop, or the client's hang-up; a message is copied in
 * r->pool. */
push_outcome_e push_sub_wait(request_rec *r, push_sub_t *s,
                             apr_time_t deadline, push_message_t *msg,
                             int *gap, push_msgid_t *gap_id);

/* ---- Worker threads for held connections (mod_push_workers.c) ------ */

typedef struct push_workers push_workers_t;
typedef struct push_work push_work_t;
struct push_work {
    void        (*run)(push_work_t *w, ap_sb_handle_t *sbh);
    push_work_t  *next;
};

/* At most max of the MPM's threads at once, each waiting linger_ms for
 * more work before it goes back; none once stopping(baton).  NULL when
 * out of resources. */
push_workers_t *push_workers_create(apr_pool_t *pchild, int max,
                                    int linger_ms,
                                    int (*stopping)(void *), void *baton);
/* Any thread: queues w (run on a worker with that thread's scoreboard
 * handle). */
void push_workers_add(push_workers_t *ws, push_work_t *w);
/* Borrows enough threads for the queue. */
void push_workers_start(push_workers_t *ws);
/* No more work is taken; idle workers go back. */
void push_workers_quit(push_workers_t *ws);

/* ---- Parked connections (mod_push_conn.c) -------------------------- */

void     push_conn_register_hooks(apr_pool_t *p);
void     push_conn_child_init(apr_pool_t *pchild, server_rec *s);
void     push_conn_stopping(int graceful);      /* signal-safe */
/* Whether this request's connection could be parked at all. */
int      push_park_possible(request_rec *r);
/* Hands a stream to the loop (the record takes a copy of *s): 1 when the
 * handler must return SUSPENDED and not touch r again. */
int      push_park_stream(request_rec *r, const push_sub_t *s, int chunked,
                          apr_interval_time_t ping_every);
/* A long poll with nothing to answer yet: 1 when the loop took it (the
 * handler returns SUSPENDED; the transport's respond answers later). */
int      push_park_longpoll(request_rec *r, const push_sub_t *s,
                            apr_interval_time_t timeout);
unsigned push_park_count(void);         /* subscribers held */
unsigned push_park_connections(void);   /* connections held */

#endif
