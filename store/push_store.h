/* push_store.h — the store-engine interface: what a message store offers
 * the rest of mod_push.
 *
 * An engine keeps channels and their buffered messages where every httpd
 * child of a server sees them, gives each message its id, and is the
 * wake source: it says, cheaply, when a channel changed.  The
 * shared-memory engine (push_store_shm.c) is one; a backplane (Redis)
 * is another behind the same table.  Engines are chosen by name
 * (PushStore), as httpd's socache providers are.
 *
 * The table is pure C: no httpd or APR types, so an engine can be unit-
 * tested, fuzzed and crash-tested without a server.  Time is passed in
 * (unix seconds), never read.
 *
 * Subscriptions are opaque references (push_store_ref_t).  The delivery
 * side never learns how an engine lays out its channels; it only groups
 * subscriptions of one channel (same ref.chan) and tells incarnations of
 * a channel apart (ref.gen). */
#ifndef PUSH_STORE_H
#define PUSH_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "lib/push_id.h"

typedef enum {
    PUSH_OK = 0,
    PUSH_FOUND = 0,       /* next: *msg filled in */
    PUSH_NONE,            /* next: nothing after the cursor yet */
    PUSH_GONE,            /* the channel was deleted under the subscription */
    PUSH_NOT_FOUND,       /* no such channel */
    PUSH_TOO_BIG,         /* the message cannot fit even in an empty store */
    PUSH_NO_CHANNEL_SLOT, /* every channel slot is in use */
    PUSH_DUPLICATE,       /* publish_id: the channel has that id already */
    PUSH_OUT_OF_ORDER,    /* publish_id: the channel's last id is not the
                           * message's previous one */
    PUSH_NO_READER,       /* hold: every reader record is in use */
    PUSH_UNAVAILABLE,     /* a backplane (Redis) did not answer in time:
                           * nothing was published */
    PUSH_BAD_ARG
} push_status_e;

/* Per-publish limits; they come from the publishing location's config. */
typedef struct {
    uint32_t buffer_length;   /* messages a channel keeps; 0: none but
                               * what holds keep (no history: a message
                               * reaches only the subscribers holding
                               * for it when it is published) */
    uint32_t timeout;         /* seconds a message is kept; 0 = no expiry */
} push_limits_t;

typedef struct {
    uint32_t     messages;      /* buffered now */
    uint32_t     subscribers;   /* every transport, every process */
    push_msgid_t last_id;       /* newest id ever published; {0,0}: none */
    push_msgid_t oldest_id;     /* oldest buffered; {0,0} when empty */
    uint32_t     version;       /* the channel's change counter then */
    int64_t      last_seen;     /* unix time a subscriber last came (every
                                 * poll counts); 0: never */
    uint32_t     keep;          /* messages it keeps, as its last publish
                                 * said (buffer_length; 0: none, only the
                                 * held ones); UINT32_MAX: never
                                 * published */
    uint64_t     origin;        /* a backplane's copy: the epoch of the
                                 * backplane's channel its ids came from
                                 * (mirror_epoch); 0: none said */
} push_channel_info_t;

/* A message, as given to publish and as copied out by next.  Strings are
 * not NUL-terminated on input; copies made by next are NUL-terminated
 * (body too, for convenience, not counted in body_len). */
typedef struct {
    push_msgid_t id;
    const char  *body;
    size_t       body_len;
    const char  *content_type;      /* may be empty (len 0) */
    size_t       content_type_len;  /* <= 255 */
    const char  *event;             /* X-EventSource-Event; may be empty */
    size_t       event_len;         /* <= 255 */
    /* Set by next (FOUND and NONE): the channel's version at the look,
     * and whether nothing newer than the result (or than the cursor, on
     * NONE) was buffered.  While the version stays the same, a waiter
     * that saw newest = 1 need not look again. */
    uint32_t     version;
    int          newest;
    /* Set by next (FOUND): where the message ends in the channel's
     * stream of messages, and where that stream ends now, in the units a
     * hold's bound counts (PushSubscriberBacklog).  chan_pos - pos is how
     * far behind the newest a subscriber that took this message is. */
    uint64_t     pos;
    uint64_t     chan_pos;
    /* Set by next (FOUND): the message's place in the store's publish
     * order, across channels: a message published later, to any channel,
     * has a larger seq.  A multiplexed subscriber takes its channels'
     * messages in this order. */
    uint64_t     seq;
} push_message_t;

/* Store-wide counters for push-status. */
typedef struct {
    uint32_t channels;           /* channels held now */
    uint32_t channel_slots;      /* capacity */
    uint64_t messages;           /* buffered now, all channels */
    uint32_t subscribers;        /* every channel, transport and process */
    uint64_t published;          /* since the store was created */
    uint64_t evicted;            /* live messages dropped for space */
    uint64_t expired;            /* dropped at PushMessageTimeout */
    uint64_t bytes_used;         /* bytes held by messages */
    uint64_t bytes_total;        /* the store's size */
    uint64_t bytes_ring;         /* of which messages can use (the rest
                                  * is the engine's index: channels,
                                  * holds, hash) */
    int64_t  created;            /* unix time the store was made */
    uint64_t recoveries;         /* times a dead lock holder was cleaned up */
} push_store_stats_t;

/* A subscription.  chan is the engine's number for the channel in this
 * server, below the engine's channels(): the same for every subscription
 * of the channel, and the key of its wake-ups.  gen tells this
 * incarnation of the channel from an earlier one with the same number.
 * Nothing outside the engine reads more into either. */
typedef struct {
    uint32_t chan;
    uint32_t gen;
    /* Its hold (see hold below), PUSH_NO_READER_ID for none: the
     * engine's, set by subscribe and hold. */
    uint32_t reader;
    uint32_t reader_gen;
    /* Where next found the message at_id, so that the next look from
     * that cursor starts there instead of at the channel's oldest: the
     * engine's (set by subscribe and next; UINT64_MAX: nowhere). */
    uint64_t     at;
    push_msgid_t at_id;
} push_store_ref_t;

#define PUSH_NO_READER_ID UINT32_MAX
#define PUSH_NO_PACE      UINT64_MAX

/* Where next copies the message it found: given the id and the bytes the
 * copy needs, a buffer of that size, or NULL to take only msg->id and
 * msg->body_len (a caller that has the message's encoding already).
 * Called with the engine's lock held: it must neither wait nor call back
 * into the store. */
typedef void *(*push_copy_fn)(void *ctx, const push_msgid_t *id,
                              size_t size);

/* An engine's instance: each engine defines the struct (as each httpd
 * socache provider defines ap_socache_instance_t). */
typedef struct push_store_inst push_store_inst_t;

typedef struct push_store_engine {
    const char *name;

    /* Publishes msg to the channel (creating it) with the next id: time
     * max(now, the channel's last id's time, the store's floor, the
     * newest time it issued on any channel), tag 0,
     * or the last tag + 1 in the same second.  Drops the channel's
     * messages beyond limits->buffer_length and expired ones, evicts the
     * oldest while room lacks.  *id and *info (after the publish) may be
     * NULL. */
    push_status_e (*publish)(push_store_inst_t *inst, const char *chan,
                             size_t chan_len, const push_message_t *msg,
                             const push_limits_t *limits, int64_t now,
                             push_msgid_t *id, push_channel_info_t *info);

    /* The same with the id given (msg->id), for a backplane that assigns
     * ids itself and so keeps a copy of its channels here: PUSH_DUPLICATE,
     * storing nothing, unless it is after the channel's last id; and with
     * prev given, PUSH_OUT_OF_ORDER, storing nothing, unless the
     * channel's last id is *prev (a message between them has not come
     * yet: the caller fetches it first).  With origin given (not 0), the
     * backplane's epoch the id comes from: PUSH_OUT_OF_ORDER, storing
     * nothing, when the copy's is another (its ids may be this epoch's
     * for other messages: mirror_epoch first), and the copy's when it
     * had none.  *info (may be NULL) is the channel after, on
     * PUSH_DUPLICATE too. */
    push_status_e (*publish_id)(push_store_inst_t *inst, const char *chan,
                                size_t chan_len, const push_message_t *msg,
                                const push_msgid_t *prev, uint64_t origin,
                                const push_limits_t *limits, int64_t now,
                                push_channel_info_t *info);

    /* The backplane's messages of the channel up to *upto that this copy
     * lacks are lost for good (trimmed or expired there before they came
     * here): subscribers from before *upto are told of the gap, and the
     * channel's last id is at least *upto.  Creates the channel. */
    push_status_e (*lost)(push_store_inst_t *inst, const char *chan,
                          size_t chan_len, const push_msgid_t *upto,
                          int64_t now);

    /* PUSH_OK and *info, or PUSH_NOT_FOUND when the channel has neither
     * messages nor subscribers.  Drops expired messages first. */
    push_status_e (*info)(push_store_inst_t *inst, const char *chan,
                          size_t chan_len, int64_t now,
                          push_channel_info_t *info);

    /* Deletes the channel's messages; its subscriptions see PUSH_GONE and
     * are uncounted.  *info (may be NULL) is the channel before. */
    push_status_e (*remove)(push_store_inst_t *inst, const char *chan,
                            size_t chan_len, int64_t now,
                            push_channel_info_t *info);

    /* Counts a subscriber (creating the channel).  *info (may be NULL) is
     * the channel then: a subscriber that starts at the newest message
     * takes info->last_id as its cursor. */
    push_status_e (*subscribe)(push_store_inst_t *inst, const char *chan,
                               size_t chan_len, int64_t now,
                               push_store_ref_t *ref,
                               push_channel_info_t *info);
    /* Uncounts it (nothing when the channel was deleted since), and ends
     * its hold. */
    void          (*unsubscribe)(push_store_inst_t *inst,
                                 push_store_ref_t *ref);

    /* Holds.  PushMessageBufferLength and PushMessageTimeout are history
     * for subscribers that are not connected; a connected one must not
     * lose a message to them.  A hold keeps the channel's messages after
     * its position from being trimmed or expired, as long as it is at
     * most `bound` behind the newest (past that it holds nothing, and
     * its subscriber is told of the gap by next, as any other).  Only
     * running out of room in the store drops a held message.
     *
     * hold starts one for ref (replacing any): it holds what is after
     * *after (NULL: what is published from now on); *pos (may be NULL)
     * is its position.  PUSH_OK, PUSH_GONE, or PUSH_NO_READER.
     * While ref holds, every next from a cursor moves the hold up to the
     * cursor: a subscriber that takes its messages in order has nothing
     * more to do.  hold_at moves it to an explicit position (a process
     * that holds for several subscribers, at the slowest one's).
     * unhold ends it.
     *
     * Pacing.  A hold may also say how far its owner could have taken by
     * now (`pace`: the slowest of its subscribers whose clients take
     * what they are sent; PUSH_NO_PACE when it does not pace).  When that
     * is more than half its bound behind, the server, not the clients, is
     * what falls behind: behind says so, and an HTTP publisher waits a
     * little (mod_push_pub.c) instead of running the subscribers out of
     * their backlog. */
    push_status_e (*hold)(push_store_inst_t *inst, push_store_ref_t *ref,
                          const push_msgid_t *after, uint64_t bound,
                          uint64_t *pos);
    void          (*hold_at)(push_store_inst_t *inst,
                             const push_store_ref_t *ref, uint64_t pos,
                             uint64_t bound, uint64_t pace);
    void          (*unhold)(push_store_inst_t *inst, push_store_ref_t *ref);
    /* 1 when a live hold on the channel paces and is more than half its
     * bound behind; 0 otherwise (no such channel included). */
    int           (*behind)(push_store_inst_t *inst, const char *chan,
                            size_t chan_len);

    /* The first buffered message with id > *cursor (cursor NULL: the
     * oldest buffered), copied where copy says (copy NULL: id and length
     * only).  PUSH_FOUND, PUSH_NONE, or PUSH_GONE.  *gap (may be NULL) is
     * 1 when messages after the cursor were dropped and can never be
     * delivered; *gap_id is then the newest of them. */
    push_status_e (*next)(push_store_inst_t *inst,
                          push_store_ref_t *ref,
                          const push_msgid_t *cursor, int64_t now,
                          push_copy_fn copy, void *copy_ctx,
                          push_message_t *msg, int *gap,
                          push_msgid_t *gap_id);

    /* Lock-free: the channel's change counter, bumped by every publish
     * and delete. */
    uint32_t      (*version)(push_store_inst_t *inst, uint32_t chan);

    /* Counters; drops expired messages of every channel. */
    void          (*stats)(push_store_inst_t *inst, int64_t now,
                           push_store_stats_t *st);

    /* The wake source, for push_notify.  Channel numbers are below
     * channels().  seq is a word every change bumps; wait blocks until it
     * differs from `seen`, a wake_all, or timeout_ms (-1: none) and
     * returns it.  watch counts (+1/-1) a process that waits on a
     * channel: changes to a channel no process watches wake nobody.
     * wake_all may run in a signal handler. */
    uint32_t      (*channels)(push_store_inst_t *inst);
    /* Calls fn with the id of each channel that has subscribers now, and
     * how many (a backplane follows those, and tells the other servers
     * the count).  fn runs under the engine's lock: it must neither wait
     * nor call the store. */
    void          (*interest)(push_store_inst_t *inst,
                              void (*fn)(void *ctx, const char *chan,
                                         size_t chan_len,
                                         uint32_t subscribers),
                              void *ctx);
    /* A word that changes whenever any channel's subscriber count does:
     * while it stays, interest would say what it said (a backplane looks
     * again only when it moved). */
    uint32_t      (*sub_seq)(push_store_inst_t *inst);
    /* A backplane's word on its copy.  mirror_live: the backplane is
     * connected under generation gen (0: not) and vouches for it until
     * until_ms (CLOCK_MONOTONIC milliseconds, the same in every
     * process); mirror_mark: the channel's copy was caught up under gen
     * and is kept current from then on (0: no longer); mirrored: 1 when
     * both hold now, so that a new subscriber need not bring the copy up
     * to the backplane itself. */
    void          (*mirror_live)(push_store_inst_t *inst, uint32_t gen,
                                 int64_t until_ms);
    void          (*mirror_mark)(push_store_inst_t *inst, const char *chan,
                                 size_t chan_len, uint32_t gen);
    int           (*mirrored)(push_store_inst_t *inst, const char *chan,
                              size_t chan_len, int64_t now_ms);
    /* The copy goes on in epoch `to` of the backplane's channel
     * (info->origin after), the backplane's messages up to *gap (NULL:
     * none) lost as `lost` records them, in one step, and only if the
     * copy is still of epoch `from` (0: none said yet): PUSH_OK, or
     * PUSH_OUT_OF_ORDER, changing nothing, when another process moved it
     * on first (the caller reads the copy again).  A backplane whose
     * channel was lost and made again issues ids the copy may have given
     * other messages, and the copy knows it by the epoch.  Creates the
     * channel when a gap is given; else PUSH_NOT_FOUND when it is not
     * here. */
    push_status_e (*mirror_epoch)(push_store_inst_t *inst, const char *chan,
                                  size_t chan_len, uint64_t from,
                                  uint64_t to, const push_msgid_t *gap,
                                  int64_t now);
    uint32_t      (*seq)(push_store_inst_t *inst);
    uint32_t      (*wait)(push_store_inst_t *inst, uint32_t seen,
                          int timeout_ms);
    void          (*watch)(push_store_inst_t *inst, uint32_t chan, int delta);
    void          (*wake_all)(push_store_inst_t *inst);
} push_store_engine_t;

/* An engine with its instance. */
typedef struct {
    const push_store_engine_t *engine;
    push_store_inst_t         *inst;
} push_store_t;

static inline push_status_e push_store_publish(
    const push_store_t *s, const char *chan, size_t chan_len,
    const push_message_t *msg, const push_limits_t *limits, int64_t now,
    push_msgid_t *id, push_channel_info_t *info)
{
    return s->engine->publish(s->inst, chan, chan_len, msg, limits, now, id,
                              info);
}

static inline push_status_e push_store_publish_id(
    const push_store_t *s, const char *chan, size_t chan_len,
    const push_message_t *msg, const push_msgid_t *prev, uint64_t origin,
    const push_limits_t *limits, int64_t now, push_channel_info_t *info)
{
    return s->engine->publish_id(s->inst, chan, chan_len, msg, prev, origin,
                                 limits, now, info);
}

static inline push_status_e push_store_lost(
    const push_store_t *s, const char *chan, size_t chan_len,
    const push_msgid_t *upto, int64_t now)
{
    return s->engine->lost(s->inst, chan, chan_len, upto, now);
}

static inline int push_store_mirrored(const push_store_t *s,
                                      const char *chan, size_t chan_len,
                                      int64_t now_ms)
{
    return s->engine->mirrored(s->inst, chan, chan_len, now_ms);
}

static inline push_status_e push_store_mirror_epoch(
    const push_store_t *s, const char *chan, size_t chan_len, uint64_t from,
    uint64_t to, const push_msgid_t *gap, int64_t now)
{
    return s->engine->mirror_epoch(s->inst, chan, chan_len, from, to, gap,
                                   now);
}

static inline push_status_e push_store_info(
    const push_store_t *s, const char *chan, size_t chan_len, int64_t now,
    push_channel_info_t *info)
{
    return s->engine->info(s->inst, chan, chan_len, now, info);
}

static inline push_status_e push_store_delete(
    const push_store_t *s, const char *chan, size_t chan_len, int64_t now,
    push_channel_info_t *info)
{
    return s->engine->remove(s->inst, chan, chan_len, now, info);
}

static inline push_status_e push_store_subscribe(
    const push_store_t *s, const char *chan, size_t chan_len, int64_t now,
    push_store_ref_t *ref, push_channel_info_t *info)
{
    return s->engine->subscribe(s->inst, chan, chan_len, now, ref, info);
}

static inline void push_store_unsubscribe(const push_store_t *s,
                                          push_store_ref_t *ref)
{
    s->engine->unsubscribe(s->inst, ref);
}

static inline push_status_e push_store_hold(const push_store_t *s,
                                            push_store_ref_t *ref,
                                            const push_msgid_t *after,
                                            uint64_t bound, uint64_t *pos)
{
    return s->engine->hold(s->inst, ref, after, bound, pos);
}

static inline void push_store_hold_at(const push_store_t *s,
                                      const push_store_ref_t *ref,
                                      uint64_t pos, uint64_t bound,
                                      uint64_t pace)
{
    s->engine->hold_at(s->inst, ref, pos, bound, pace);
}

static inline int push_store_behind(const push_store_t *s, const char *chan,
                                    size_t chan_len)
{
    return s->engine->behind(s->inst, chan, chan_len);
}

static inline void push_store_unhold(const push_store_t *s,
                                     push_store_ref_t *ref)
{
    s->engine->unhold(s->inst, ref);
}

static inline push_status_e push_store_next(
    const push_store_t *s, push_store_ref_t *ref,
    const push_msgid_t *cursor, int64_t now, push_copy_fn copy,
    void *copy_ctx, push_message_t *msg, int *gap, push_msgid_t *gap_id)
{
    return s->engine->next(s->inst, ref, cursor, now, copy, copy_ctx, msg,
                           gap, gap_id);
}

static inline uint32_t push_store_version(const push_store_t *s,
                                          uint32_t chan)
{
    return s->engine->version(s->inst, chan);
}

static inline void push_store_stats(const push_store_t *s, int64_t now,
                                    push_store_stats_t *st)
{
    s->engine->stats(s->inst, now, st);
}

#endif
