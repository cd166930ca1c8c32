/* push_transport.h — the transport table: what a subscriber transport
 * (long poll, short poll, Server-Sent Events, WebSocket) tells the rest of
 * mod_push about itself, after Nchan's subscriber_fn_t.
 *
 * Each transport is one file (mod_push_<name>.c) holding one table and
 * registering it by name (push_transport_register).  The request side
 * (detect, handle) runs in the push-subscriber handler.  The delivery side
 * is called by the one delivery step (push_sub_deliver) and by the two
 * drivers that run a streaming subscriber, the stream loop and a worker
 * thread: neither knows any transport by name.
 *
 * This header is pure C; request_rec is only named. */
#ifndef PUSH_TRANSPORT_H
#define PUSH_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>

#include "lib/push_frame_cache.h"
#include "store/push_store.h"

struct request_rec;
typedef struct push_sub push_sub_t;

/* Transport ids: a PushTransports bit (1 << id) and a push-status
 * counter.  Below PUSH_TRANSPORTS_MAX. */
#define PUSH_TRANSPORTS_MAX 16

/* Flags. */
#define PUSH_T_DEFAULT    0x01   /* served where PushTransports is unset */
#define PUSH_T_STREAM     0x02   /* a long-lived response: encode, on_idle,
                                  * on_end apply, the drivers run it */
#define PUSH_T_READS      0x04   /* the client sends too: on_input */
#define PUSH_T_EXCLUSIVE  0x08   /* a request that asks for it cannot be
                                  * served by another transport */
#define PUSH_T_PING_FIXED 0x10   /* on_idle is a liveness check: due every
                                  * PushPingInterval, whatever is written;
                                  * otherwise a keep-alive, due after that
                                  * much silence */
#define PUSH_T_ONE_A_WRITE 0x20  /* each message is a write of its own (a
                                  * chunk of its own, for chunked), never
                                  * batched with the next */

/* Why a stream stops receiving messages. */
typedef enum {
    PUSH_STOP_DELETED,     /* its channel was deleted */
    PUSH_STOP_STOPPING,    /* the server is stopping or restarting */
    PUSH_STOP_GAP,         /* messages were lost to it, and its transport
                            * cannot say so in the stream (gap_notice
                            * returned PUSH_NOTICE_END) */
    PUSH_STOP_TIMEOUT      /* no message for PushSubscriberTimeout */
} push_stop_e;

/* What on_end asks of the driver. */
typedef enum {
    PUSH_END_NOW,          /* finish the response and the connection */
    PUSH_END_AWAIT_CLOSE   /* wait up to PUSH_CLOSE_WAIT for the client's
                            * side of a closing handshake (on_input) */
} push_end_e;

/* How the wait of a one-shot subscriber (a poll) ended. */
typedef enum {
    PUSH_OUTCOME_MESSAGE,      /* a message: respond with it */
    PUSH_OUTCOME_GONE,         /* the channel was deleted */
    PUSH_OUTCOME_TIMEOUT,      /* nothing came in time */
    PUSH_OUTCOME_STOPPING,     /* the server is stopping */
    PUSH_OUTCOME_CLIENT_GONE   /* the client hung up */
} push_outcome_e;

/* Long enough for any notice (its id is at most PUSH_MUX_ID_MAX, a
 * multiplexed subscriber's). */
#define PUSH_NOTICE_MAX (256 + PUSH_MUX_ID_MAX)
/* gap_notice: the stream cannot carry the notice; it ends instead
 * (on_end with PUSH_STOP_GAP), so the client reconnects from its cursor. */
#define PUSH_NOTICE_END ((size_t)-1)

typedef struct push_transport {
    const char *name;         /* PushTransports keyword, push-status key */
    unsigned    id;           /* < PUSH_TRANSPORTS_MAX, unique */
    unsigned    flags;        /* PUSH_T_* */
    int         precedence;   /* lower is asked first (detect) */
    const char *ask;          /* how a request asks for it, for the 406
                               * reason; NULL when any GET does */

    /* The request side, in the push-subscriber handler. */
    /* 1 when this request asks for this transport. */
    int (*detect)(struct request_rec *r);
    /* Serves the subscriber: the handler's return value (SUSPENDED when
     * the connection went to the stream loop). */
    int (*handle)(struct request_rec *r, const char *channel);

    /* One-shot transports: the response to a wait that ended; returns the
     * request's status, as a handler does. */
    int (*respond)(push_sub_t *s, push_outcome_e outcome,
                   const push_message_t *msg, int gap,
                   const push_msgid_t *gap_id);

    /* Streaming transports (PUSH_T_STREAM). */
    /* Which encoding this subscriber takes (frame-cache key): the same for
     * subscribers that take the same bytes. */
    uint32_t      (*variant)(const push_sub_t *s);
    /* The bytes of one message, in a frame from push_frame_alloc; NULL
     * when out of memory. */
    push_frame_t *(*encode)(const push_sub_t *s, const push_message_t *msg);
    /* A notice to send, in the same write, before the message that
     * follows a gap (messages lost after gap_id); its length, 0 for
     * none, or PUSH_NOTICE_END.  May be NULL. */
    size_t        (*gap_notice)(push_sub_t *s, const push_msgid_t *gap_id,
                                char *buf, size_t cap);
    /* PushPingInterval passed (with nothing written, but for
     * PUSH_T_PING_FIXED): a keep-alive or a ping.  Non-zero when the
     * subscriber is to be dropped. */
    int           (*on_idle)(push_sub_t *s);
    /* No more messages (why): say so to the client. */
    push_end_e    (*on_end)(push_sub_t *s, push_stop_e why);
    /* PUSH_T_READS: bytes the client sent (writable: unmasked in place).
     * Non-zero when the connection is to end (a Close exchanged, or the
     * client refused). */
    int           (*on_input)(push_sub_t *s, unsigned char *data,
                              size_t len);
} push_transport_t;

/* How long a driver waits for the client's side of a closing handshake
 * (RFC 6455 7.1.1). */
#define PUSH_CLOSE_WAIT_USEC (2 * 1000000LL)

#endif
