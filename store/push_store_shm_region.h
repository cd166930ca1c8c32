/* push_store_shm_region.h — the shared-memory engine's region, as its
 * own files see it: the layout, the addressing, and the few internals one
 * file of the engine calls in another.  Not for anything outside store/
 * (push_store_shm.h is the engine's interface).
 *
 *   push_store_shm.c         the region's making, the ring, and the
 *                            engine's operations
 *   push_store_shm_chan.c    the channel slab and its hash
 *   push_store_shm_hold.c    a channel's queue, and the holds of connected
 *                            subscribers on it
 *   push_store_shm_lock.c    the lock, and rebuilding after a holder died */
#ifndef PUSH_STORE_SHM_REGION_H
#define PUSH_STORE_SHM_REGION_H

#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "store/push_store_shm.h"

#define STORE_MAGIC   0x48535550u   /* "PUSH" in memory order */
#define STORE_LAYOUT  11u           /* bump on any change to the layout */

#define NO_SLOT       UINT32_MAX
#define NO_REC        UINT64_MAX
#define NO_READER     PUSH_NO_READER_ID

#define SHM_ID_INLINE PUSH_SHM_ID_INLINE

/* Record kinds carry a constant high half so that recovery can tell a
 * record header from stale or torn bytes with some confidence. */
#define REC_LIVE      0x4d500001u
#define REC_DEAD      0x4d500002u
#define REC_PAD       0x4d500003u

#define ALIGN8(n)     (((n) + 7) & ~(uint64_t)7)
#define ALIGN64(n)    (((n) + 63) & ~(uint64_t)63)

/* Smallest ring we are willing to lay out; PUSH_SHM_MIN_SIZE leaves far
 * more than this, it only guards the geometry arithmetic. */
#define RING_MIN      4096

/* A message record.  A padding record uses only len and kind, which is why
 * those come first: the gap left at the end of the ring can be as small
 * as 8 bytes. */
typedef struct {
    uint32_t len;          /* whole record incl. this header, 8-aligned */
    uint32_t kind;         /* REC_LIVE, REC_DEAD or REC_PAD */
    uint32_t slot;         /* channel */
    uint32_t body_len;
    int64_t  id_time;
    uint32_t id_tag;
    uint16_t ct_len;
    uint16_t ev_len;
    int64_t  expires;      /* unix time; 0 = never */
    uint64_t next;         /* ring offset of the channel's next message */
    uint64_t pos;          /* the channel's position after this message */
    /* then body, content type, event */
} rec_t;

typedef struct {
    uint32_t     in_use;
    uint32_t     id_len;
    uint32_t     hash;
    uint32_t     hnext;        /* hash chain when in use, free list if not */
    uint64_t     first;        /* ring offsets of the oldest and newest */
    uint64_t     last;         /*   message, NO_REC when none */
    uint32_t     count;
    uint32_t     epoch;        /* bumped by delete and by slot reuse */
    uint32_t     version;      /* bumped by every publish and delete */
    uint32_t     watchers;     /* processes with waiters on this slot:
                                * a publish nobody waits for wakes no one
                                * (kept across slot reuse, like version) */
    uint32_t     subscribers;  /* every transport, every process */
    push_msgid_t last_id;      /* newest id ever published */
    push_msgid_t last_dropped; /* newest id ever dropped, any reason */
    int64_t      born;         /* the id floor when the channel was made */
    int64_t      last_used;
    int64_t      last_seen;    /* a subscriber last came; 0: never */
    uint64_t     pos;          /* record bytes ever published here: the
                                * unit of hold positions and bounds */
    uint32_t     keep;         /* the last publish's buffer length */
    uint32_t     readers;      /* its holds, a list through reader_t */
    uint32_t     mirror_gen;   /* caught up by the backplane under it */
    uint64_t     origin;       /* the backplane's epoch of the channel
                                * its ids came from; 0: none yet */
    /* The id: here when at most SHM_ID_INLINE bytes, else in long-id
     * record long_ix (NO_SLOT: here). */
    uint32_t     long_ix;
    char         id[SHM_ID_INLINE];
} chan_t;

/* A channel id longer than a slot holds (up to PUSH_CHANNEL_ID_MAX):
 * few channels have one, so they have a small table of their own
 * instead of every slot growing fourfold. */
typedef struct {
    uint32_t slot;         /* its channel; NO_SLOT when free */
    uint32_t next;         /* the free list */
    char     id[PUSH_CHANNEL_ID_MAX];
} longid_t;

/* A hold (push_store.h): the messages of channel `slot` after `pos` are
 * not trimmed or expired while pos is at most `bound` behind the
 * channel's.  Owned by one process; one that died holds nothing. */
typedef struct {
    uint32_t in_use;
    uint32_t gen;          /* bumped at every free: stale handles miss */
    uint32_t slot;
    uint32_t epoch;        /* the slot's epoch when it began */
    uint32_t next;         /* the channel's list, or the free list */
    int32_t  pid;
    uint64_t pos;
    uint64_t bound;
    uint64_t pace;         /* see push_store.h, pacing */
} reader_t;

struct push_store_inst {
    uint32_t        magic;
    uint32_t        layout;
    uint64_t        size;
    pthread_mutex_t lock;
    uint32_t        dirty;
    uint32_t        seq;           /* the futex word */
    int64_t         floor;         /* no id is issued below {floor, 0} */
    /* The newest time of any id issued, on any channel: a later publish
     * anywhere gets a time no older, so that the store's publish order
     * is its ids' time order too (a multiplexed subscriber's multi-id
     * says "everything before T" of its other channels). */
    int64_t         last_time;
    int64_t         created;

    /* Geometry, fixed at format time; offsets from the region base. */
    uint32_t        nslots;
    uint32_t        nbuckets;      /* a power of two */
    uint64_t        buckets_off;
    uint64_t        slots_off;
    uint32_t        nreaders;
    uint64_t        readers_off;
    uint32_t        nlong;
    uint64_t        long_off;
    uint64_t        ring_off;
    uint64_t        ring_size;

    /* Ring cursors, offsets from ring_off.  used == 0 means empty; when
     * head == tail and used != 0 the ring is full. */
    uint64_t        head;
    uint64_t        tail;
    uint64_t        used;
    /* Bytes ever popped from the tail: the tail's place in a count that
     * never wraps, so that a place remembered in it (push_store_ref_t.at)
     * can be told still in the ring (not reused) or not. */
    uint64_t        popped;

    uint32_t        free_slot;     /* head of the free-slot list */
    uint32_t        max_channels;  /* PushMaxChannels; 0: nslots */
    uint32_t        free_reader;   /* head of the free-reader list */
    uint32_t        free_long;     /* head of the free long-id list */
    uint32_t        channels;
    uint64_t        messages;
    uint32_t        subscribers;
    uint32_t        sub_seq;       /* bumped whenever a channel's
                                    * subscriber count changes */
    uint32_t        mirror_gen;    /* the backplane's (push_store.h) */
    int64_t         mirror_until;  /* ... vouched for until (ms) */
    uint64_t        published;
    uint64_t        evicted;
    uint64_t        expired;
    uint64_t        recoveries;
};

typedef struct {
    uint32_t nslots;
    uint32_t nbuckets;
    uint32_t nreaders;
    uint64_t buckets_off;
    uint64_t slots_off;
    uint64_t readers_off;
    uint32_t nlong;
    uint64_t long_off;
    uint64_t ring_off;
    uint64_t ring_size;
} geometry_t;

/* For the unit test only: called at a few points inside a publish, with
 * the lock held and the store mid-change, so a forked child can die there
 * and the parent can check the recovery.  NULL (one predictable branch)
 * in real use.  Not in push_store_shm.h on purpose: nothing but the
 * engine's files and the test should know it exists. */
extern void (*push_shm_test_crash_hook)(int where);

#define CRASH_POINT(where) \
    do { \
        if (push_shm_test_crash_hook != NULL) { \
            push_shm_test_crash_hook(where); \
        } \
    } while (0)

/* ------------------------------------------------------------------ */
/* Addressing                                                          */

static inline uint32_t *buckets(push_shm_t *s)
{
    return (uint32_t *)((char *)s + s->buckets_off);
}

static inline chan_t *slot_at(push_shm_t *s, uint32_t i)
{
    return (chan_t *)((char *)s + s->slots_off) + i;
}

static inline reader_t *reader_at(push_shm_t *s, uint32_t i)
{
    return (reader_t *)((char *)s + s->readers_off) + i;
}

static inline longid_t *longid_at(push_shm_t *s, uint32_t i)
{
    return (longid_t *)((char *)s + s->long_off) + i;
}

/* Channel c's id (c->id_len bytes). */
static inline const char *chan_id(push_shm_t *s, const chan_t *c)
{
    return c->long_ix == NO_SLOT ? c->id : longid_at(s, c->long_ix)->id;
}

static inline rec_t *rec_at(push_shm_t *s, uint64_t off)
{
    return (rec_t *)((char *)s + s->ring_off + off);
}

static inline push_msgid_t rec_id(const rec_t *r)
{
    push_msgid_t id;

    id.time = r->id_time;
    id.tag = r->id_tag;
    return id;
}

static inline int msgid_is_zero(const push_msgid_t *id)
{
    return id->time == 0 && id->tag == 0;
}

static inline uint32_t chan_hash(const char *id, size_t len)
{
    /* FNV-1a: channel ids are short, and nobody gains by colliding them
     * beyond making their own channels a little slower to find. */
    uint32_t h = 2166136261u;
    size_t i;

    for (i = 0; i < len; i++) {
        h ^= (unsigned char)id[i];
        h *= 16777619u;
    }
    return h;
}

/* Bytes a message needs in the ring, or 0 when it could never fit a
 * record (its length must fit the 32-bit header field). */
static inline uint64_t rec_size(size_t body_len, size_t ct_len, size_t ev_len)
{
    uint64_t n;

    if (body_len > UINT32_MAX) {
        return 0;
    }
    n = ALIGN8(sizeof(rec_t) + (uint64_t)body_len + ct_len + ev_len);
    return n > UINT32_MAX ? 0 : n;
}

/* ------------------------------------------------------------------ */
/* Across the engine's files (all with the lock held but the lock's)   */
/* Each file calls only those below it in this list: no circles.        */

/* push_store_shm_chan.c */
/* The channel's slot, made when `create` (NO_SLOT: none, or the slab is
 * full of channels in use). */
uint32_t shm_chan_lookup(push_shm_t *s, const char *id, size_t len,
                         int create, int64_t now);
/* *info (may be NULL) from channel c. */
void     shm_chan_fill_info(push_shm_t *s, const chan_t *c,
                            push_channel_info_t *info);

/* push_store_shm_hold.c: a channel's queue, and the holds on it */
/* Unlinks the channel's oldest message and marks it dead. */
void      shm_chan_drop_first(push_shm_t *s, chan_t *c);
/* Drops the channel's expired messages that no hold keeps. */
void      shm_chan_expire(push_shm_t *s, chan_t *c, int64_t now);
/* Whether a hold keeps r, the channel's oldest message. */
int       shm_chan_held(push_shm_t *s, chan_t *c, const rec_t *r);
/* Drops what is past the channel's buffer length and not held. */
void      shm_chan_trim(push_shm_t *s, chan_t *c);
/* Ends every hold on c (its epoch changes: delete, reuse of the slot). */
void      shm_chan_drop_readers(push_shm_t *s, chan_t *c);
/* ref's hold, or NULL when it has none (or it ended with its channel). */
reader_t *shm_ref_reader(push_shm_t *s, const push_store_ref_t *ref);
/* Ends ref's hold, if it has one. */
void      shm_unhold(push_shm_t *s, push_store_ref_t *ref);
/* 1 when a live process owns pid (a dead owner's hold holds nothing). */
int       shm_pid_alive(int32_t pid);

/* push_store_shm_lock.c: the lock, which repairs the region when its
 * holder died mid-change */
/* Bumps the store's change word and wakes every waiter on it. */
void shm_bump_and_wake(push_shm_t *s);
/* 1 when a call names a store and a channel id it can hold. */
int  shm_chan_arg_ok(const push_shm_t *s, const char *chan, size_t len);
void shm_lock(push_shm_t *s);
void shm_unlock(push_shm_t *s);

#endif
