/* push_store.h — the cross-process message store.
 *
 * One region of shared memory (created by the httpd parent, inherited by
 * every child of every MPM) holds every channel and every buffered
 * message.  Nothing here knows about httpd or APR: the region is plain
 * bytes, all links inside it are offsets, and time is passed in, so the
 * store can be unit-tested, fuzzed and crash-tested without a server.
 *
 * Concurrency: one robust, process-shared mutex guards the region.  A
 * process that dies holding it does not wedge the others: the next locker
 * gets EOWNERDEAD, rebuilds the store's derived state from the message
 * ring and carries on.
 *
 * Waking: every change a subscriber may wait for (publish, delete) bumps
 * the channel's version and the store-wide sequence word, then futex-wakes
 * everything waiting on that word.  httpd children keep one thread waiting
 * on the word and fan the wake-up out to their own subscribers. */
#ifndef PUSH_STORE_H
#define PUSH_STORE_H

#include <stddef.h>
#include <stdint.h>
#include "lib/push_id.h"

typedef enum {
    PUSH_TRANSPORT_LONGPOLL = 0,
    PUSH_TRANSPORT_POLL,
    PUSH_TRANSPORT_EVENTSOURCE,
    PUSH_TRANSPORT_WEBSOCKET,
    PUSH_TRANSPORT_COUNT
} push_transport_e;

typedef enum {
    PUSH_OK = 0,
    PUSH_FOUND = 0,       /* push_store_next: *msg filled in */
    PUSH_NONE,            /* push_store_next: nothing after the cursor yet */
    PUSH_GONE,            /* the channel was deleted under the subscription */
    PUSH_NOT_FOUND,       /* no such channel */
    PUSH_TOO_BIG,         /* the message cannot fit even in an empty store */
    PUSH_NO_CHANNEL_SLOT, /* every channel slot is in use */
    PUSH_BAD_ARG
} push_status_e;

typedef struct push_store push_store_t;  /* starts at the region's base */

/* Per-publish limits; they come from the publishing location's config. */
typedef struct {
    uint32_t buffer_length;   /* messages a channel keeps (>= 1) */
    uint32_t timeout;         /* seconds a message is kept; 0 = no expiry */
} push_limits_t;

typedef struct {
    uint32_t     messages;                           /* buffered now */
    uint32_t     subscribers;                        /* all transports */
    uint32_t     subscribers_by[PUSH_TRANSPORT_COUNT];
    push_msgid_t last_id;       /* newest id ever published; {0,0}: none */
    push_msgid_t oldest_id;     /* oldest buffered; {0,0} when empty */
    uint32_t     version;       /* the channel's change counter then */
} push_channel_info_t;

/* A message, as given to publish and as copied out by next.  Strings are
 * not NUL-terminated on input; copies made by push_store_next are
 * NUL-terminated (body too, for convenience, not counted in body_len). */
typedef struct {
    push_msgid_t id;
    const char  *body;
    size_t       body_len;
    const char  *content_type;   /* may be empty (len 0) */
    size_t       content_type_len;  /* <= 255 */
    const char  *event;          /* X-EventSource-Event; may be empty */
    size_t       event_len;         /* <= 255 */
    /* Set by push_store_next (FOUND and NONE): the channel's version at
     * the look, and whether nothing newer than the result (or than the
     * cursor, on NONE) was buffered.  While the version stays the same,
     * a waiter that saw newest = 1 need not look again. */
    uint32_t     version;
    int          newest;
} push_message_t;

/* Store-wide counters for push-status. */
typedef struct {
    uint32_t channels;           /* channel slots in use */
    uint32_t channel_slots;      /* capacity */
    uint64_t messages;           /* buffered now, all channels */
    uint32_t subscribers_by[PUSH_TRANSPORT_COUNT];
    uint64_t published;          /* since the store was created */
    uint64_t evicted;            /* live messages dropped for space */
    uint64_t expired;            /* dropped at PushMessageTimeout */
    uint64_t bytes_used;         /* ring bytes held by records */
    uint64_t bytes_total;        /* the whole region */
    int64_t  created;            /* unix time the region was formatted */
    uint64_t recoveries;         /* times a dead lock holder was cleaned up */
    uint64_t encoded;            /* message encodings (SSE events, WebSocket
                                  * frames) built, in all processes */
    uint64_t encoded_reused;     /* ... and deliveries that reused one */
} push_store_stats_t;

/* A subscription holds its channel's slot (the slot is not reused while
 * it has subscribers) and the channel's delete epoch at subscribe time. */
typedef struct {
    uint32_t slot;
    uint32_t epoch;
    push_transport_e transport;
} push_sub_t;

/* Allocator for copies handed out by push_store_next (e.g. a request pool).
 * Called with the store lock held: it must not call back into the store. */
typedef void *(*push_alloc_fn)(void *ctx, size_t size);

/* Smallest region push_store_format accepts. */
#define PUSH_STORE_MIN_SIZE (64 * 1024)

/* Lays a fresh, empty store over mem[0..size).  Ids it hands out are all
 * after `now` - 1 (a store re-created in the same second as its
 * predecessor still hands out increasing ids).  Returns NULL when size is
 * below PUSH_STORE_MIN_SIZE or the mutex cannot be made. */
push_store_t *push_store_format(void *mem, size_t size, int64_t now);

/* The store already formatted at mem (the same region, e.g. after a
 * graceful restart), or NULL when mem holds no valid store of that size. */
push_store_t *push_store_attach(void *mem, size_t size);

/* Publishes msg to channel `chan` (creating the channel), assigning its id:
 * time max(now, last id's time, store floor), tag 0 or the last tag + 1 in
 * the same second.  Drops the channel's messages beyond
 * limits->buffer_length and expired ones; evicts the globally oldest
 * messages while the ring lacks room.  On PUSH_OK fills *id and *info (info
 * after the publish) when they are not NULL. */
push_status_e push_store_publish(push_store_t *s, const char *chan,
                                 size_t chan_len, const push_message_t *msg,
                                 const push_limits_t *limits, int64_t now,
                                 push_msgid_t *id, push_channel_info_t *info);

/* PUSH_OK and *info, or PUSH_NOT_FOUND when the channel has neither
 * messages nor subscribers.  Drops expired messages first. */
push_status_e push_store_info(push_store_t *s, const char *chan,
                              size_t chan_len, int64_t now,
                              push_channel_info_t *info);

/* Deletes the channel's messages, bumps its epoch (its subscribers then
 * see PUSH_GONE), zeroes its subscriber counts, and wakes waiters.
 * *info (may be NULL) is the channel as it was before.  PUSH_NOT_FOUND as
 * for push_store_info. */
push_status_e push_store_delete(push_store_t *s, const char *chan,
                                size_t chan_len, int64_t now,
                                push_channel_info_t *info);

/* Registers a subscriber (creating the channel if need be) and counts it.
 * *info (may be NULL) is the channel at subscribe time: a subscriber that
 * starts at the newest message uses info->last_id as its cursor. */
push_status_e push_store_subscribe(push_store_t *s, const char *chan,
                                   size_t chan_len, push_transport_e t,
                                   int64_t now, push_sub_t *sub,
                                   push_channel_info_t *info);

/* Uncounts a subscriber (a no-op when its channel was deleted since). */
void push_store_unsubscribe(push_store_t *s, const push_sub_t *sub);

/* The first buffered message with id > *cursor (cursor NULL: the oldest
 * buffered), copied with alloc; with alloc NULL only msg->id and
 * msg->body_len are filled in (the body etc. are left NULL/0), for
 * callers that cache encodings.  PUSH_FOUND, PUSH_NONE, or PUSH_GONE when
 * the channel was deleted after sub was taken.  *gap (may be NULL) is set
 * to 1 when messages after the cursor were dropped (expired, evicted,
 * trimmed, or lost with an earlier store) and so can never be delivered;
 * then *gap_id is the newest such dropped id (or the store floor). */
push_status_e push_store_next(push_store_t *s, const push_sub_t *sub,
                              const push_msgid_t *cursor, int64_t now,
                              push_alloc_fn alloc, void *alloc_ctx,
                              push_message_t *msg, int *gap,
                              push_msgid_t *gap_id);

/* A process starts (delta 1) or stops (-1) having waiters on a channel
 * slot.  Publishes to a slot nobody watches skip the wake-up, so they
 * cost no other process anything.  Count before looking in the store.
 * Lock-free. */
void push_store_watch(push_store_t *s, uint32_t slot, int delta);

/* Lock-free reads for waiters: the channel's change counter (bumped by
 * publish and delete) and its delete epoch. */
uint32_t push_store_channel_version(push_store_t *s, uint32_t slot);
uint32_t push_store_channel_epoch(push_store_t *s, uint32_t slot);

/* The store-wide change word: bumped by every publish and delete.  Wait
 * on it with push_store_wait. */
uint32_t push_store_seq(push_store_t *s);

/* Blocks until the change word differs from `seen`, a wake-up is posted,
 * or timeout_ms passes (-1: no timeout).  Returns the current word. */
uint32_t push_store_wait(push_store_t *s, uint32_t seen, int timeout_ms);

/* Wakes every push_store_wait in every process (e.g. at shutdown). */
void push_store_wake_all(push_store_t *s);

/* Counts one delivery's encoding, built (reused 0) or taken from a
 * process's cache (1).  Lock-free. */
void push_store_count_encoding(push_store_t *s, int reused);

/* Snapshot of the counters; drops expired messages of every channel. */
void push_store_stats(push_store_t *s, int64_t now, push_store_stats_t *st);

#endif
