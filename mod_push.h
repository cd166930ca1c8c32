/* mod_push.h — what the transport handlers (long/short poll in
 * mod_push.c, Server-Sent Events, WebSocket in mod_push_ws.c) share. */
#ifndef MOD_PUSH_H
#define MOD_PUSH_H

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "ap_expr.h"

#include "mod_push_config.h"
#include "store/push_store.h"
#include "store/push_notify.h"
#include "lib/push_frame_cache.h"

extern module AP_MODULE_DECLARE_DATA push_module;

/* The store's life (mod_push_store.c). */
int  push_store_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                            apr_pool_t *ptemp, server_rec *s);
void push_store_child_init(apr_pool_t *pchild, server_rec *s);
void push_store_child_stopping(void);   /* signal-safe */
void push_store_wake_everyone(void);    /* signal-safe */
push_store_t       *push_get_store(void);
push_notify_t      *push_get_notifier(void);
push_frame_cache_t *push_get_frames(void);
/* 1 when this process is stopping (or the MPM is). */
int  push_stopping(void);

/* The publisher and status handlers (mod_push_pub.c). */
void push_pub_register_hooks(apr_pool_t *p);

/* Long and short polls (mod_push_poll.c). */
int  push_poll_subscriber(request_rec *r, const push_dir_conf *conf,
                          const char *channel, int wait);

void     push_sub_child_init(server_rec *s);
unsigned push_subscribers_held(void);
int      push_subscribers_cap(void);

/* Per-child subscriber places (PushMaxSubscribersPerChild). */
int  push_subscriber_enter(request_rec *r);   /* 0: refused, 503 sent */
void push_subscriber_leave(void);

/* The start every subscriber shares: the client's cursor (400 when
 * malformed), a per-child place (503), the store subscription (507), and
 * PushFirstMessage newest.  1 to go on, 0 when a reply was sent.  End
 * with push_subscriber_end. */
int  push_subscriber_begin(request_rec *r, const push_dir_conf *conf,
                           const char *channel, push_transport_e transport,
                           push_sub_t *sub, push_channel_info_t *info,
                           push_msgid_t *cursor, int *has_cursor);
void push_subscriber_end(const push_sub_t *sub);

typedef enum {
    PUSH_WAIT_MESSAGE,      /* *msg holds the next message */
    PUSH_WAIT_GONE,         /* the channel was deleted */
    PUSH_WAIT_TIMEOUT,      /* deadline passed (or not waiting) */
    PUSH_WAIT_PING,         /* idle for ping_every: send a keep-alive */
    PUSH_WAIT_STOPPING,     /* the server is stopping or restarting */
    PUSH_WAIT_CLIENT_GONE   /* the client hung up */
} push_wait_e;

/* Waits for the next message after *cursor (NULL: the oldest buffered),
 * copying it into pool p (p NULL: only msg->id and msg->body_len are
 * filled in).  deadline 0 waits for ever; ping_every > 0
 * returns PUSH_WAIT_PING after that much idle time; wait 0 only looks. */
/* Kept by a streaming subscriber between calls of push_wait_next: the
 * channel version at which the store had nothing more for it. */
typedef struct {
    apr_uint32_t version;
    int          valid;
} push_wait_hint_t;

push_wait_e push_wait_next(request_rec *r, apr_pool_t *p,
                           const push_sub_t *sub,
                           const push_msgid_t *cursor, apr_time_t deadline,
                           apr_interval_time_t ping_every, int wait,
                           push_wait_hint_t *hint, push_message_t *msg,
                           int *gap, push_msgid_t *gap_id);

/* Frame-cache variants: one per distinct encoding of a message. */
#define PUSH_VARIANT_SSE        0x100
#define PUSH_VARIANT_WS         0x200   /* | 1 for ws+meta.nchan,
                                         * | window bits << 1 if deflated */

/* Encodes one message for a transport (an SSE event, a WebSocket
 * frame) into *data (allocated from p). */
typedef apr_status_t (*push_encode_fn)(void *ctx, request_rec *r,
                                       apr_pool_t *p,
                                       const push_message_t *msg,
                                       const void **data, apr_size_t *len);

/* Fan-out: the message after *cursor (whose id an id-only
 * push_wait_next, p NULL, returned) encoded once per process for all
 * subscribers of the same variant.  Release with push_frame_done. */
push_frame_t *push_frame_for(request_rec *r, apr_pool_t *p,
                             const push_sub_t *sub,
                             const push_msgid_t *cursor,
                             const push_msgid_t *id, apr_uint32_t variant,
                             push_encode_fn encode, void *ctx);
void push_frame_done(push_frame_t *f);

/* Wake-up registration for handlers that poll more than the channel. */
push_notify_gen_t *push_wait_watch(apr_uint32_t slot);
push_notify_gen_t *push_wait_rewatch(apr_uint32_t slot,
                                     push_notify_gen_t *gen);
int                push_wait_fd(const push_notify_gen_t *gen);
void               push_wait_unwatch(apr_uint32_t slot,
                                     push_notify_gen_t *gen);

/* Why a parked long poll is run again (mod_push_park.c). */
typedef enum {
    PUSH_RESUME_LOOK,       /* its channel changed */
    PUSH_RESUME_TIMEOUT,    /* PushLongPollTimeout passed */
    PUSH_RESUME_STOP        /* the server is stopping */
} push_resume_e;

/* Answers a parked long poll from what the store has now (its message,
 * 410, or 304); SUSPENDED when LOOK finds nothing after all.  The caller
 * ends the subscription and the request. */
int push_longpoll_resume(request_rec *r, const char *channel,
                         const push_sub_t *sub, const push_msgid_t *cursor,
                         const push_msgid_t *idle_cursor,
                         push_resume_e why);

/* The transports other than polling (mod_push_sse.c, mod_push_ws.c). */
int push_sse_subscriber(request_rec *r, const push_dir_conf *conf,
                        const char *channel);
int push_ws_subscriber(request_rec *r, const push_dir_conf *conf,
                       const char *channel);

/* How a parked WebSocket's frames are sent: header and payload as one
 * write; non-zero when the connection is finished. */
typedef int (*push_park_send_fn)(void *park, const void *hdr,
                                 apr_size_t hlen, const void *payload,
                                 apr_size_t plen);

/* What the stream loop asks of a parked WebSocket (mod_push_ws.c). */
apr_uint32_t push_ws_variant(const void *ws);
apr_status_t push_ws_encode(void *ws, request_rec *r, apr_pool_t *p,
                            const push_message_t *msg, const void **data,
                            apr_size_t *len);
void push_ws_park_attach(void *ws, push_park_send_fn send, void *park);
int  push_ws_park_input(void *ws, unsigned char *data, apr_size_t len);
int  push_ws_park_ping(void *ws);
void push_ws_park_close(void *ws, int gone);
int  push_ws_park_closing(const void *ws);
void push_ws_park_count_sent(void *ws);

/* The SSE event of one message (mod_push_sse.c), for push_frame_for. */
apr_status_t push_sse_encode(void *ctx, request_rec *r, apr_pool_t *p,
                             const push_message_t *msg, const void **data,
                             apr_size_t *len);

/* Event streams without a thread (mod_push_park.c).  push_park_sse hands
 * a stream whose headers are out to this process's stream loop when the
 * MPM, the connection and its filters allow: 1 means the handler must
 * return SUSPENDED and not touch r again; 0, keep the stream. */
int      push_park_sse(request_rec *r, const push_dir_conf *conf,
                       const char *channel, const push_sub_t *sub,
                       const push_msgid_t *cursor, int has_cursor,
                       const push_wait_hint_t *hint);
/* The same for a WebSocket after its 101 (ws: its mod_push_ws.c state). */
int      push_park_ws(request_rec *r, const push_dir_conf *conf,
                      const char *channel, const push_sub_t *sub,
                      const push_msgid_t *cursor, int has_cursor,
                      const push_wait_hint_t *hint, void *ws);
/* A long poll with nothing to answer yet: 1 when it was handed to the
 * loop (the handler returns SUSPENDED); a worker answers it later
 * through push_longpoll_resume.  idle_cursor is what its 304 says. */
int      push_park_longpoll(request_rec *r, const push_dir_conf *conf,
                            const char *channel, const push_sub_t *sub,
                            const push_msgid_t *cursor,
                            const push_msgid_t *idle_cursor,
                            const push_wait_hint_t *hint);
/* Whether this request's connection could be parked at all. */
int      push_park_possible(request_rec *r);
unsigned push_park_count(void);         /* subscribers held */
unsigned push_park_connections(void);   /* connections held */
void     push_park_stopping(int graceful);  /* signal-safe */
void     push_park_child_init(apr_pool_t *pchild, server_rec *s);
void     push_park_register_hooks(void);

#endif
