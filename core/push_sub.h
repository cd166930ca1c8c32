/* push_sub.h — a subscriber, and the one step that delivers to it.
 *
 * A subscriber follows a channel from a cursor (a multiplexed one several
 * channels, a cursor each; a publisher's WebSocket none).  Whatever
 * drives it (the stream loop, a worker thread, a poll's handler) delivers
 * with push_sub_deliver: look in the store after the cursor (the channel
 * whose message was published first, when several), take the message's
 * encoding from this process's cache (or build it once for everyone; a
 * multiplexed subscriber's ids are its own), write it, with a gap notice
 * when messages were lost, through the subscriber's sink, and advance the
 * cursor.  The transport's table says
 * how to encode and what to say; the sink says where the bytes go.
 *
 * Pure C: the store engine, the notifier and the frame cache come in a
 * push_env_t, so the whole path runs in a unit test. */
#ifndef PUSH_SUB_H
#define PUSH_SUB_H

#include <stddef.h>
#include <stdint.h>

#include "core/push_counters.h"
#include "core/push_sink.h"
#include "core/push_transport.h"
#include "lib/push_frame_cache.h"
#include "store/push_notify.h"
#include "store/push_store.h"

/* What every subscriber of this process shares. */
typedef struct {
    push_store_t        store;
    push_notify_t      *notify;
    push_frame_cache_t *frames;     /* NULL: encodings are not shared */
    push_counters_t    *counters;   /* NULL: not counted */
    /* Non-zero once the process is stopping; may be NULL. */
    int               (*stopping)(void);
    /* A subscriber is told it missed messages (after gap_id); may be
     * NULL.  For the log: it is counted already. */
    void              (*gap)(const struct push_sub *s,
                             const push_msgid_t *gap_id);
    /* A stream is closed: its client took none of what waited for it
     * for `waited` microseconds (the write timeout); may be NULL. */
    void              (*stalled)(const struct push_sub *s, int64_t waited);
    /* A subscriber is gone (released); may be NULL. */
    void              (*left)(const struct push_sub *s);
} push_env_t;

struct push_sub {
    const push_transport_t *t;
    void                   *tstate;     /* the transport's own state */
    const push_env_t       *env;
    struct request_rec     *r;          /* named only: for the transport */
    const char             *channel;    /* NULL: it follows no channel (a
                                         * publisher's WebSocket) */
    push_store_ref_t        ref;
    push_msgid_t            cursor;     /* the last message it has */
    int                     has_cursor;
    /* The channel's version when a look found nothing after hint_after:
     * while it stays, a look from that cursor can skip the store's lock
     * (see push_sub_hint). */
    uint32_t                hint_version;
    push_msgid_t            hint_after;
    int                     hint_valid;
    push_sink_t            *sink;       /* streams */
    unsigned long           delivered;
    /* Where it is in the channel's stream of messages (the store's
     * positions: push_message_t.pos), how far that stream went at its
     * last look, and how far behind it may fall (PushSubscriberBacklog)
     * before it stops being held for. */
    uint64_t                pos;
    uint64_t                chan_pos;
    uint64_t                bound;
    /* Past its first look: a gap now is one it was connected for, not
     * history that was gone before it came. */
    int                     live;
    /* A multiplexed subscriber (several channels, one stream): its other
     * channels' subscriptions, each a push_sub_t of its own (channel,
     * ref, cursor, hint, position, hold) with this one's t, env, r and
     * sink.  This one is the first channel's; nmore is 0 for one
     * channel.  It takes their messages in publish order (seq), and its
     * ids are multi-ids made of every channel's cursor. */
    struct push_sub       **more;
    unsigned                nmore;
    /* Whose message the last look found: 0 this one's, i more[i-1]. */
    unsigned                active;
    /* What it reads from its client makes blocking calls (a WebSocket
     * whose messages go to PushPublisherUpstreamRequest): it is never
     * parked in the stream loop. */
    int                     on_thread;
};

/* Its channel i (0 itself, 1..nmore the others). */
static inline push_sub_t *push_sub_member(push_sub_t *s, unsigned i)
{
    return i == 0 ? s : s->more[i - 1];
}

/* The longest id push_sub_id_text writes, with its NUL. */
#define PUSH_SUB_ID_MAX PUSH_MUX_ID_MAX

/* The id a client of s is given for `id`, a message (or gap) of the
 * channel the last look found: the id itself ("T:N") for one channel,
 * else the multi-id of every channel's cursor with that channel at id.
 * Its length; buf holds PUSH_SUB_ID_MAX bytes. */
size_t push_sub_id_text(const push_sub_t *s, const push_msgid_t *id,
                        char *buf);

/* Where s is now, as its client would be told: its cursor ("T:N", 0:0
 * for none), or a multiplexed one's multi-id of every channel's cursor.
 * Its length; buf holds PUSH_SUB_ID_MAX bytes. */
size_t push_sub_where(const push_sub_t *s, char *buf);

/* The message the last look found (msg) is taken: its channel's cursor
 * and position move to it. */
void push_sub_took(push_sub_t *s, const push_message_t *msg);

/* Counts a subscriber of transport t in, or out (after the engine's
 * subscribe and before its unsubscribe, which the caller does). */
void push_sub_count(const push_sub_t *s, int delta);
/* Uncounts it and ends its subscription in the store. */
void push_sub_release(push_sub_t *s);

/* A streaming subscriber that is connected holds the messages after its
 * cursor in the store (push_store.h, hold), up to `bound` behind: 0, or
 * -1 when the store has no room for the hold (it streams unheld). */
int  push_sub_hold(push_sub_t *s, uint64_t bound);

/* Says that at channel version `version` nothing is buffered after
 * `after` (the cursor, {0,0} for none). */
void push_sub_hint(push_sub_t *s, uint32_t version, const push_msgid_t *after);

/* One look in the store after the cursor (skipped while the hint says
 * nothing changed): PUSH_FOUND with *msg copied where copy says, PUSH_NONE
 * or PUSH_GONE.  The cursor does not move.  A multiplexed subscriber's
 * looks in each channel and finds the message published first (s->active
 * says whose); PUSH_GONE when any of its channels was deleted. */
push_status_e push_sub_look(push_sub_t *s, int64_t now, push_copy_fn copy,
                            void *copy_ctx, push_message_t *msg, int *gap,
                            push_msgid_t *gap_id);

typedef enum {
    PUSH_DELIVER_IDLE,      /* nothing more in the store for it */
    PUSH_DELIVER_BLOCKED,   /* the sink holds unsent bytes: wait for room */
    PUSH_DELIVER_GONE,      /* the channel was deleted */
    PUSH_DELIVER_GAP,       /* messages were lost and its transport ends
                             * the stream to say so (PUSH_STOP_GAP) */
    PUSH_DELIVER_CLOSED,    /* the client is gone */
    PUSH_DELIVER_FAILED     /* out of memory */
} push_deliver_e;

/* Writes everything the store has after the cursor, as long as the sink
 * takes it (PUSH_T_STREAM transports). */
push_deliver_e push_sub_deliver(push_sub_t *s, int64_t now);

/* Reads what the client sent, handing it to the transport (PUSH_T_READS):
 * until src has no more (0), or PUSH_READ_BUDGET bytes, so that what it
 * published is delivered before it is read further (PUSH_INPUT_MORE:
 * read again without waiting).  PUSH_INPUT_END when the transport ended
 * the connection; PUSH_INPUT_CLOSED at the end of the stream or on an
 * error (*got says whether any byte came first). */
#define PUSH_INPUT_END    1
#define PUSH_INPUT_CLOSED 2
#define PUSH_INPUT_MORE   3
#define PUSH_READ_BUDGET  (64 * 1024)
int push_sub_read(push_sub_t *s, push_source_t *src, int *got);

/* Wake-up registrations for a channel (a ref.chan) in push_notify; a
 * stopping process shuts the notifier first, so that none is given out:
 * NULL when stopping. */
push_notify_gen_t *push_env_watch(const push_env_t *e, uint32_t chan);
push_notify_gen_t *push_env_rewatch(const push_env_t *e, uint32_t chan,
                                    push_notify_gen_t *gen);
void               push_env_unwatch(const push_env_t *e, uint32_t chan,
                                    push_notify_gen_t *gen);

/* Microseconds on the realtime clock, the unit of every deadline here
 * (the same as apr_time_now()). */
int64_t push_now(void);

#endif
