/* push_store_shm.c — the shared-memory store engine (see push_store_shm.h).
 *
 * Region layout, every part 64-byte aligned:
 *
 *   struct push_store     header: lock, counters, ring cursors, geometry
 *   uint32_t[nbuckets]    channel hash buckets (slot index or NO_SLOT)
 *   chan_t[nslots]        channel slab, about 1/8 of the region
 *   reader_t[nreaders]    holds of connected subscribers
 *   ring                  message records, the rest
 *
 * Every link inside the region is an offset or an index, never a pointer,
 * so the region means the same thing whichever address it is mapped at.
 *
 * The ring is a single FIFO of records in publish order across all
 * channels.  Its oldest record is therefore always the oldest message of
 * its channel, which is what lets "make room" be a plain pop of the tail
 * and keeps each channel's list a simple singly linked queue.  Messages
 * removed for other reasons (trimming, expiry, delete) are only marked
 * dead; their bytes come back when the tail reaches them.
 *
 * Crash safety: every operation sets `dirty` after taking the lock and
 * clears it before releasing it.  A locker that inherits the lock from a
 * dead holder (EOWNERDEAD) with `dirty` set trusts only what cannot be
 * half-written: the record headers in the ring and the in-use channel
 * records.  It rebuilds everything derived from them (channel queues,
 * hash chains, free list, counters), see store_repair(). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/futex.h>
#include <sys/syscall.h>

#include "store/push_store_shm.h"

#define STORE_MAGIC   0x48535550u   /* "PUSH" in memory order */
#define STORE_LAYOUT  5u            /* bump on any change to the layout */

#define NO_SLOT       UINT32_MAX
#define NO_REC        UINT64_MAX
#define NO_READER     PUSH_NO_READER_ID

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
    uint64_t     pos;          /* record bytes ever published here: the
                                * unit of hold positions and bounds */
    uint32_t     keep;         /* the last publish's buffer length */
    uint32_t     readers;      /* its holds, a list through reader_t */
    char         id[PUSH_CHANNEL_ID_MAX];
} chan_t;

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
} reader_t;

struct push_store_inst {
    uint32_t        magic;
    uint32_t        layout;
    uint64_t        size;
    pthread_mutex_t lock;
    uint32_t        dirty;
    uint32_t        seq;           /* the futex word */
    int64_t         floor;         /* no id is issued below {floor, 0} */
    int64_t         created;

    /* Geometry, fixed at format time; offsets from the region base. */
    uint32_t        nslots;
    uint32_t        nbuckets;      /* a power of two */
    uint64_t        buckets_off;
    uint64_t        slots_off;
    uint32_t        nreaders;
    uint64_t        readers_off;
    uint64_t        ring_off;
    uint64_t        ring_size;

    /* Ring cursors, offsets from ring_off.  used == 0 means empty; when
     * head == tail and used != 0 the ring is full. */
    uint64_t        head;
    uint64_t        tail;
    uint64_t        used;

    uint32_t        free_slot;     /* head of the free-slot list */
    uint32_t        free_reader;   /* head of the free-reader list */
    uint32_t        channels;
    uint64_t        messages;
    uint32_t        subscribers;
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
    uint64_t ring_off;
    uint64_t ring_size;
} geometry_t;

/* For the unit test only: called at a few points inside a publish, with
 * the lock held and the store mid-change, so a forked child can die there
 * and the parent can check the recovery.  NULL (one predictable branch)
 * in real use.  Not in the header on purpose: nothing but the test should
 * know it exists. */
extern void (*push_shm_test_crash_hook)(int where);
void (*push_shm_test_crash_hook)(int where);

#define CRASH_POINT(where) \
    do { \
        if (push_shm_test_crash_hook != NULL) { \
            push_shm_test_crash_hook(where); \
        } \
    } while (0)

/* ------------------------------------------------------------------ */
/* Addressing                                                          */

static uint32_t *buckets(push_shm_t *s)
{
    return (uint32_t *)((char *)s + s->buckets_off);
}

static chan_t *slot_at(push_shm_t *s, uint32_t i)
{
    return (chan_t *)((char *)s + s->slots_off) + i;
}

static reader_t *reader_at(push_shm_t *s, uint32_t i)
{
    return (reader_t *)((char *)s + s->readers_off) + i;
}

static rec_t *rec_at(push_shm_t *s, uint64_t off)
{
    return (rec_t *)((char *)s + s->ring_off + off);
}

static push_msgid_t rec_id(const rec_t *r)
{
    push_msgid_t id;

    id.time = r->id_time;
    id.tag = r->id_tag;
    return id;
}

static int msgid_is_zero(const push_msgid_t *id)
{
    return id->time == 0 && id->tag == 0;
}

/* Bytes a message needs in the ring, or 0 when it could never fit a
 * record (its length must fit the 32-bit header field). */
static uint64_t rec_size(size_t body_len, size_t ct_len, size_t ev_len)
{
    uint64_t n;

    if (body_len > UINT32_MAX) {
        return 0;
    }
    n = ALIGN8(sizeof(rec_t) + (uint64_t)body_len + ct_len + ev_len);
    return n > UINT32_MAX ? 0 : n;
}

static int geometry(uint64_t size, geometry_t *g)
{
    uint64_t hdr = ALIGN64(sizeof(struct push_store_inst));
    uint64_t nslots = (size / 8) / sizeof(chan_t);
    uint64_t nbuckets = 1;

    if (nslots < 16) {
        nslots = 16;
    }
    /* Keeps slot indexes and bucket counts well inside 32 bits. */
    if (nslots > (1u << 28)) {
        nslots = 1u << 28;
    }
    while (nbuckets < nslots) {
        nbuckets <<= 1;
    }
    g->nslots = (uint32_t)nslots;
    g->nbuckets = (uint32_t)nbuckets;
    g->buckets_off = hdr;
    g->slots_off = ALIGN64(g->buckets_off + nbuckets * sizeof(uint32_t));
    /* A hold per channel per process, and one per subscriber on its own
     * thread: twice the channels, with room for small stores. */
    g->nreaders = (uint32_t)(nslots * 2 + 16);
    g->readers_off = ALIGN64(g->slots_off + nslots * sizeof(chan_t));
    g->ring_off = ALIGN64(g->readers_off
                          + (uint64_t)g->nreaders * sizeof(reader_t));
    if (g->ring_off + RING_MIN > size) {
        return -1;
    }
    g->ring_size = (size - g->ring_off) & ~(uint64_t)7;
    return 0;
}

static uint32_t chan_hash(const char *id, size_t len)
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

/* ------------------------------------------------------------------ */
/* Waking                                                              */

static long futex_op(uint32_t *word, int op, uint32_t val,
                     const struct timespec *ts)
{
    /* Not FUTEX_PRIVATE_FLAG: the word is shared between processes. */
    return syscall(SYS_futex, word, op, val, ts, NULL, 0);
}

static void bump_and_wake(push_shm_t *s)
{
    __atomic_add_fetch(&s->seq, 1, __ATOMIC_SEQ_CST);
    futex_op(&s->seq, FUTEX_WAKE, INT_MAX, NULL);
}

/* ------------------------------------------------------------------ */
/* Channels                                                            */

static uint32_t chan_subscribers(const chan_t *c)
{
    return c->subscribers;
}

static void chan_fill_info(push_shm_t *s, const chan_t *c,
                           push_channel_info_t *info)
{
    if (info == NULL) {
        return;
    }
    info->messages = c->count;
    info->subscribers = c->subscribers;
    info->last_id = c->last_id;
    info->version = __atomic_load_n(&c->version, __ATOMIC_ACQUIRE);
    if (c->first != NO_REC) {
        info->oldest_id = rec_id(rec_at(s, c->first));
    }
    else {
        info->oldest_id.time = 0;
        info->oldest_id.tag = 0;
    }
}

static uint32_t chan_find(push_shm_t *s, const char *id, size_t len,
                          uint32_t hash)
{
    uint32_t i = buckets(s)[hash & (s->nbuckets - 1)];

    while (i != NO_SLOT) {
        chan_t *c = slot_at(s, i);

        if (c->hash == hash && c->id_len == len
            && memcmp(c->id, id, len) == 0) {
            return i;
        }
        i = c->hnext;
    }
    return NO_SLOT;
}

/* ------------------------------------------------------------------ */
/* Holds                                                               */

/* A hold whose owner died holds nothing (a crashed child, or one that
 * ended without letting go). */
static int pid_alive(int32_t pid)
{
    return pid > 0 && (kill(pid, 0) == 0 || errno == EPERM);
}

/* Frees reader i, unlinked already. */
static void reader_free(push_shm_t *s, uint32_t i)
{
    reader_t *rd = reader_at(s, i);

    rd->in_use = 0;
    rd->gen++;
    rd->next = s->free_reader;
    s->free_reader = i;
}

static void reader_unlink(push_shm_t *s, chan_t *c, uint32_t i)
{
    uint32_t *link = &c->readers;

    while (*link != NO_READER) {
        if (*link == i) {
            *link = reader_at(s, i)->next;
            break;
        }
        link = &reader_at(s, *link)->next;
    }
    reader_free(s, i);
}

/* Every hold on c ends: its epoch changes (delete, reuse of the slot). */
static void chan_drop_readers(push_shm_t *s, chan_t *c)
{
    while (c->readers != NO_READER) {
        uint32_t i = c->readers;

        c->readers = reader_at(s, i)->next;
        reader_free(s, i);
    }
}

/* Whether a hold keeps r, the channel's oldest message, from being
 * trimmed or expired.  The list is short: a hold per process that has
 * subscribers of the channel in its stream loop, and one per subscriber
 * served on its own thread. */
static int chan_held(push_shm_t *s, chan_t *c, const rec_t *r)
{
    uint32_t *link = &c->readers;

    while (*link != NO_READER) {
        uint32_t i = *link;
        reader_t *rd = reader_at(s, i);

        if (rd->pos < r->pos && c->pos - rd->pos <= rd->bound) {
            if (pid_alive(rd->pid)) {
                return 1;
            }
            *link = rd->next;
            reader_free(s, i);
            continue;
        }
        link = &rd->next;
    }
    return 0;
}

/* The hold of ref, or NULL when it has none (or it ended with its
 * channel). */
static reader_t *ref_reader(push_shm_t *s, const push_store_ref_t *ref)
{
    reader_t *rd;

    if (ref->reader >= s->nreaders) {
        return NULL;
    }
    rd = reader_at(s, ref->reader);
    if (!rd->in_use || rd->gen != ref->reader_gen || rd->slot != ref->chan
        || rd->epoch != ref->gen) {
        return NULL;
    }
    return rd;
}

/* A free reader record, reclaiming those of dead processes when none is
 * left; NO_READER when every one is held. */
static uint32_t reader_take(push_shm_t *s)
{
    uint32_t i;

    if (s->free_reader == NO_READER) {
        for (i = 0; i < s->nslots; i++) {
            chan_t *c = slot_at(s, i);
            uint32_t *link = &c->readers;

            if (!c->in_use) {
                continue;
            }
            while (*link != NO_READER) {
                uint32_t j = *link;

                if (!pid_alive(reader_at(s, j)->pid)) {
                    *link = reader_at(s, j)->next;
                    reader_free(s, j);
                    continue;
                }
                link = &reader_at(s, j)->next;
            }
        }
    }
    i = s->free_reader;
    if (i != NO_READER) {
        s->free_reader = reader_at(s, i)->next;
    }
    return i;
}

/* Unlinks the channel's oldest message and marks it dead.  The caller
 * counts it (evicted, expired, or nothing for trims and deletes). */
static void chan_drop_first(push_shm_t *s, chan_t *c)
{
    rec_t *r = rec_at(s, c->first);
    push_msgid_t id = rec_id(r);

    r->kind = REC_DEAD;
    c->first = r->next;
    if (c->first == NO_REC) {
        c->last = NO_REC;
    }
    c->count--;
    s->messages--;
    if (push_msgid_cmp(&id, &c->last_dropped) > 0) {
        c->last_dropped = id;
    }
}

/* Drops what is past the channel's buffer length and not held. */
static void chan_trim(push_shm_t *s, chan_t *c)
{
    while (c->first != NO_REC && c->count > c->keep
           && !chan_held(s, c, rec_at(s, c->first))) {
        chan_drop_first(s, c);
    }
}

/* Only the head is checked: messages of one channel can carry different
 * timeouts (they come from the publishing location's config), and a
 * younger message expiring first just waits behind the older one. */
static void chan_expire(push_shm_t *s, chan_t *c, int64_t now)
{
    while (c->first != NO_REC) {
        rec_t *r = rec_at(s, c->first);

        if (r->expires == 0 || r->expires > now
            || (c->readers != NO_READER && chan_held(s, c, r))) {
            break;
        }
        chan_drop_first(s, c);
        s->expired++;
    }
}

static void chan_unhash(push_shm_t *s, uint32_t i)
{
    chan_t *c = slot_at(s, i);
    uint32_t *link = &buckets(s)[c->hash & (s->nbuckets - 1)];

    while (*link != NO_SLOT) {
        if (*link == i) {
            *link = c->hnext;
            return;
        }
        link = &slot_at(s, *link)->hnext;
    }
}

/* Frees the least recently used channel that has neither messages nor
 * subscribers; NO_SLOT when there is none.  Linear in the slot count, but
 * it runs only when a new channel finds the slab full. */
static uint32_t chan_reclaim(push_shm_t *s, int64_t now)
{
    uint32_t i, best = NO_SLOT;
    chan_t *c;

    for (i = 0; i < s->nslots; i++) {
        c = slot_at(s, i);
        if (!c->in_use || chan_subscribers(c) != 0) {
            continue;
        }
        chan_expire(s, c, now);
        if (c->count == 0
            && (best == NO_SLOT || c->last_used < slot_at(s, best)->last_used)) {
            best = i;
        }
    }
    if (best == NO_SLOT) {
        return NO_SLOT;
    }
    c = slot_at(s, best);
    /* A channel re-created under this name must still issue ids after the
     * ones this one issued, and it will not remember them. */
    if (c->last_id.time >= s->floor) {
        s->floor = c->last_id.time + 1;
    }
    chan_unhash(s, best);
    chan_drop_readers(s, c);
    c->in_use = 0;
    /* Holders of an old sub for this slot (all unsubscribed or deleted,
     * else we would not be here) must see the slot as another channel;
     * neither counter ever goes back, waiters compare them. */
    __atomic_add_fetch(&c->epoch, 1, __ATOMIC_SEQ_CST);
    __atomic_add_fetch(&c->version, 1, __ATOMIC_SEQ_CST);
    c->hnext = s->free_slot;
    s->free_slot = best;
    s->channels--;
    return best;
}

static uint32_t chan_create(push_shm_t *s, const char *id, size_t len,
                            uint32_t hash, int64_t now)
{
    uint32_t i = s->free_slot, *bucket;
    chan_t *c;

    if (i == NO_SLOT) {
        i = chan_reclaim(s, now);
        if (i == NO_SLOT) {
            return NO_SLOT;
        }
    }
    c = slot_at(s, i);
    s->free_slot = c->hnext;

    c->id_len = (uint32_t)len;
    memcpy(c->id, id, len);
    c->hash = hash;
    c->first = NO_REC;
    c->last = NO_REC;
    c->count = 0;
    c->subscribers = 0;
    c->last_id.time = 0;
    c->last_id.tag = 0;
    c->last_dropped = c->last_id;
    c->born = s->floor;
    c->last_used = now;
    c->pos = 0;
    c->keep = UINT32_MAX;
    c->readers = NO_READER;

    bucket = &buckets(s)[hash & (s->nbuckets - 1)];
    c->hnext = *bucket;
    *bucket = i;
    c->in_use = 1;
    s->channels++;
    return i;
}

static uint32_t chan_lookup(push_shm_t *s, const char *id, size_t len,
                            int create, int64_t now)
{
    uint32_t hash = chan_hash(id, len);
    uint32_t i = chan_find(s, id, len, hash);

    if (i == NO_SLOT && create) {
        i = chan_create(s, id, len, hash, now);
    }
    return i;
}

/* ------------------------------------------------------------------ */
/* The ring                                                            */

/* Frees the tail record.  A live one leaves its channel, which it heads
 * because the ring is in publish order. */
static void ring_pop(push_shm_t *s, int64_t now)
{
    rec_t *r = rec_at(s, s->tail);
    uint32_t len = r->len;

    if (r->kind == REC_LIVE) {
        chan_t *c = slot_at(s, r->slot);

        if (r->expires != 0 && r->expires <= now) {
            s->expired++;
        }
        else {
            s->evicted++;
        }
        if (c->first == s->tail) {
            chan_drop_first(s, c);
        }
        else {
            /* Cannot happen while the invariant holds; if it ever breaks,
             * losing track of one record beats following a bad link. */
            r->kind = REC_DEAD;
        }
        CRASH_POINT(4);
    }
    /* used before tail: a crash in between leaves the walk from the old
     * tail to start on a record already marked dead, which is harmless. */
    s->used -= len;
    s->tail += len;
    if (s->tail == s->ring_size) {
        s->tail = 0;
    }
}

/* Gives back the space of dead and padding records at the tail. */
static void ring_reclaim_dead(push_shm_t *s)
{
    while (s->used != 0 && rec_at(s, s->tail)->kind != REC_LIVE) {
        ring_pop(s, 0);
    }
}

/* Offset of `need` contiguous free bytes, popping the tail as long as
 * there are not.  The caller has checked need <= ring_size, so an empty
 * ring always ends the loop. */
static uint64_t ring_reserve(push_shm_t *s, uint64_t need, int64_t now)
{
    for (;;) {
        if (s->used == 0) {
            s->head = 0;
            s->tail = 0;
        }
        if (s->used == 0 || s->head > s->tail) {
            rec_t *pad;

            if (s->ring_size - s->head >= need) {
                return s->head;
            }
            /* Records never wrap: fill the end of the ring with padding and
             * carry on from the start. */
            pad = rec_at(s, s->head);
            pad->len = (uint32_t)(s->ring_size - s->head);
            pad->kind = REC_PAD;
            __atomic_signal_fence(__ATOMIC_SEQ_CST);
            s->used += pad->len;
            s->head = 0;
            continue;
        }
        if (s->head < s->tail && s->tail - s->head >= need) {
            return s->head;
        }
        ring_pop(s, now);
    }
}

/* ------------------------------------------------------------------ */
/* Recovery                                                            */

static int rec_valid(push_shm_t *s, uint64_t off)
{
    rec_t *r;
    uint64_t room = s->ring_size - off;

    if (room < 8) {
        return 0;
    }
    r = rec_at(s, off);
    if (r->len < 8 || (r->len & 7) != 0 || r->len > room) {
        return 0;
    }
    if (r->kind == REC_PAD) {
        return 1;
    }
    if (r->kind != REC_LIVE && r->kind != REC_DEAD) {
        return 0;
    }
    return r->len >= sizeof(rec_t)
           && r->len == rec_size(r->body_len, r->ct_len, r->ev_len)
           && r->slot < s->nslots;
}

/* Walks the ring from tail to head checking every record header; on
 * success sets `used` to what the walk measured. */
static int ring_check(push_shm_t *s)
{
    uint64_t pos, walked = 0;

    if (s->head >= s->ring_size || s->tail >= s->ring_size
        || (s->head & 7) != 0 || (s->tail & 7) != 0) {
        return 0;
    }
    /* used is only 0 when the ring is empty, or in the instant between
     * appending to an empty ring and counting it, when the record was not
     * published yet anyway. */
    if (s->used == 0) {
        s->head = 0;
        s->tail = 0;
        return 1;
    }
    pos = s->tail;
    do {
        if (!rec_valid(s, pos)) {
            return 0;
        }
        walked += rec_at(s, pos)->len;
        if (walked > s->ring_size) {
            return 0;
        }
        pos += rec_at(s, pos)->len;
        if (pos == s->ring_size) {
            pos = 0;
        }
    } while (pos != s->head);
    s->used = walked;
    return 1;
}

/* Rebuilds everything derived after a lock holder died mid-change. */
static void store_repair(push_shm_t *s)
{
    uint32_t i, *b = buckets(s);
    int64_t newest = 0;

    /* Channels: the in-use records themselves are written before in_use
     * is set, so they are trusted; every link between them is rebuilt. */
    memset(b, 0xff, (size_t)s->nbuckets * sizeof(uint32_t));
    s->free_slot = NO_SLOT;
    s->channels = 0;
    s->messages = 0;
    s->subscribers = 0;
    i = s->nslots;
    while (i-- > 0) {
        chan_t *c = slot_at(s, i);

        if (c->last_id.time > newest) {
            newest = c->last_id.time;
        }
        if (c->in_use && (c->id_len == 0 || c->id_len > PUSH_CHANNEL_ID_MAX)) {
            c->in_use = 0;
        }
        if (!c->in_use) {
            c->hnext = s->free_slot;
            s->free_slot = i;
            continue;
        }
        c->hash = chan_hash(c->id, c->id_len);
        c->hnext = b[c->hash & (s->nbuckets - 1)];
        b[c->hash & (s->nbuckets - 1)] = i;
        c->first = NO_REC;
        c->last = NO_REC;
        c->count = 0;
        c->readers = NO_READER;
        s->subscribers += c->subscribers;
        s->channels++;
    }
    /* Holds: a record in use for a live channel incarnation is relinked;
     * the rest is free.  (A half-made one may be lost, or kept: a hold
     * is bounded either way.) */
    s->free_reader = NO_READER;
    i = s->nreaders;
    while (i-- > 0) {
        reader_t *rd = reader_at(s, i);
        chan_t *c = rd->slot < s->nslots ? slot_at(s, rd->slot) : NULL;

        if (rd->in_use && c != NULL && c->in_use && c->epoch == rd->epoch) {
            rd->next = c->readers;
            c->readers = i;
        }
        else {
            rd->in_use = 0;
            rd->next = s->free_reader;
            s->free_reader = i;
        }
    }
    if (!ring_check(s)) {
        /* The ring itself is torn: its messages are lost.  Record that in
         * each channel so subscribers behind are told about the gap, and
         * keep every later id, in any channel, past all recorded ones. */
        if (newest >= s->floor) {
            s->floor = newest + 1;
        }
        s->head = 0;
        s->tail = 0;
        s->used = 0;
        for (i = 0; i < s->nslots; i++) {
            chan_t *c = slot_at(s, i);

            if (c->in_use && push_msgid_cmp(&c->last_id, &c->last_dropped) > 0) {
                c->last_dropped = c->last_id;
            }
        }
        return;
    }

    /* The ring is sound: requeue its live records, in ring order, which is
     * each channel's publish order. */
    if (s->used != 0) {
        uint64_t pos = s->tail;

        do {
            rec_t *r = rec_at(s, pos);

            /* Only live records have more than len and kind to read: a
             * padding record may be 8 bytes at the very end. */
            if (r->kind == REC_LIVE) {
                chan_t *c = slot_at(s, r->slot);
                push_msgid_t id = rec_id(r), prev = {0, 0};

                if (c->in_use && c->last != NO_REC) {
                    prev = rec_id(rec_at(s, c->last));
                }
                /* Ids must rise along a channel's queue; a record that
                 * breaks that cannot be trusted and is dropped. */
                if (!c->in_use || push_msgid_cmp(&id, &prev) <= 0) {
                    r->kind = REC_DEAD;
                }
                else {
                    r->next = NO_REC;
                    if (c->last != NO_REC) {
                        rec_at(s, c->last)->next = pos;
                    }
                    else {
                        c->first = pos;
                    }
                    c->last = pos;
                    c->count++;
                    s->messages++;
                    /* The holder may have died between queueing the
                     * message and recording its id. */
                    if (push_msgid_cmp(&id, &c->last_id) > 0) {
                        c->last_id = id;
                    }
                    if (r->pos > c->pos) {
                        c->pos = r->pos;
                    }
                }
            }
            pos += r->len;
            if (pos == s->ring_size) {
                pos = 0;
            }
        } while (pos != s->head);
    }
}

/* ------------------------------------------------------------------ */
/* Locking                                                             */

static void store_lock(push_shm_t *s)
{
    int rc = pthread_mutex_lock(&s->lock);

    if (rc == EOWNERDEAD) {
        pthread_mutex_consistent(&s->lock);
        s->recoveries++;
        if (s->dirty) {
            store_repair(s);
        }
    }
    else if (rc != 0) {
        /* Only a corrupted region gets here (we always mark the mutex
         * consistent, so ENOTRECOVERABLE cannot happen); carrying on
         * without the lock would corrupt it further. */
        abort();
    }
    s->dirty = 1;
    /* The mark must be in memory before any change it covers. */
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
}

static void store_unlock(push_shm_t *s)
{
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    s->dirty = 0;
    pthread_mutex_unlock(&s->lock);
}

/* ------------------------------------------------------------------ */
/* Public API                                                          */

push_shm_t *push_shm_format(void *mem, size_t size, int64_t now)
{
    push_shm_t *s = mem;
    pthread_mutexattr_t attr;
    geometry_t g;
    uint32_t i;
    int rc;

    /* Only 8-byte alignment is asked for: APR's anonymous shm hands out
     * its base just past an 8-byte size field.  Everything inside is laid
     * out at 64-byte offsets from the base. */
    if (mem == NULL || size < PUSH_SHM_MIN_SIZE
        || ((uintptr_t)mem & 7) != 0 || geometry(size, &g) != 0) {
        return NULL;
    }
    /* The ring is left as it is: nothing reads it before it is written,
     * and not touching it spares faulting in the whole region now. */
    memset(s, 0, (size_t)g.ring_off);

    if (pthread_mutexattr_init(&attr) != 0) {
        return NULL;
    }
    rc = pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
    if (rc == 0) {
        rc = pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
    }
    if (rc == 0) {
        rc = pthread_mutex_init(&s->lock, &attr);
    }
    pthread_mutexattr_destroy(&attr);
    if (rc != 0) {
        return NULL;
    }

    s->size = size;
    s->nslots = g.nslots;
    s->nbuckets = g.nbuckets;
    s->buckets_off = g.buckets_off;
    s->slots_off = g.slots_off;
    s->nreaders = g.nreaders;
    s->readers_off = g.readers_off;
    s->ring_off = g.ring_off;
    s->ring_size = g.ring_size;
    s->created = now;
    /* The previous store in this place may have issued ids in this very
     * second, and we cannot know how many: start at the next one.  (Two
     * re-creations within one second could still overlap; a restart that
     * keeps the region attaches instead of formatting.) */
    s->floor = now + 1;

    memset(buckets(s), 0xff, (size_t)g.nbuckets * sizeof(uint32_t));
    for (i = 0; i < g.nslots; i++) {
        slot_at(s, i)->hnext = i + 1 < g.nslots ? i + 1 : NO_SLOT;
    }
    s->free_slot = 0;
    for (i = 0; i < g.nreaders; i++) {
        reader_at(s, i)->next = i + 1 < g.nreaders ? i + 1 : NO_READER;
    }
    s->free_reader = 0;

    /* Last, so an attach racing with us never sees a half-made store. */
    s->layout = STORE_LAYOUT;
    __atomic_store_n(&s->magic, STORE_MAGIC, __ATOMIC_RELEASE);
    return s;
}

push_shm_t *push_shm_attach(void *mem, size_t size)
{
    push_shm_t *s = mem;
    geometry_t g;

    if (mem == NULL || size < PUSH_SHM_MIN_SIZE
        || ((uintptr_t)mem & 7) != 0 || geometry(size, &g) != 0) {
        return NULL;
    }
    if (__atomic_load_n(&s->magic, __ATOMIC_ACQUIRE) != STORE_MAGIC
        || s->layout != STORE_LAYOUT || s->size != size
        || s->nslots != g.nslots || s->nbuckets != g.nbuckets
        || s->buckets_off != g.buckets_off || s->slots_off != g.slots_off
        || s->nreaders != g.nreaders || s->readers_off != g.readers_off
        || s->ring_off != g.ring_off || s->ring_size != g.ring_size) {
        return NULL;
    }
    return s;
}

/* 1 when a call names a store and a channel id it can hold. */
static int chan_arg_ok(const push_shm_t *s, const char *chan, size_t len)
{
    return s != NULL && chan != NULL && len != 0
           && len <= PUSH_CHANNEL_ID_MAX;
}

/* Checks a message before the lock is taken: PUSH_OK and the ring bytes
 * it needs, or why it can never be stored. */
static push_status_e publish_check(push_shm_t *s, const char *chan,
                                   size_t chan_len,
                                   const push_message_t *msg,
                                   const push_limits_t *limits,
                                   uint64_t *need)
{
    if (!chan_arg_ok(s, chan, chan_len) || msg == NULL || limits == NULL
        || limits->buffer_length == 0
        || msg->content_type_len > 255 || msg->event_len > 255
        || (msg->body == NULL && msg->body_len != 0)
        || (msg->content_type == NULL && msg->content_type_len != 0)
        || (msg->event == NULL && msg->event_len != 0)) {
        return PUSH_BAD_ARG;
    }
    /* Decided before taking the lock, so a message that can never fit
     * does not evict anything on its way to failing. */
    *need = rec_size(msg->body_len, msg->content_type_len, msg->event_len);
    if (*need == 0 || *need > s->ring_size) {
        return PUSH_TOO_BIG;
    }
    return PUSH_OK;
}

/* With the lock held: the next id of channel c (slot i) at `now`: never
 * behind the clock, the channel or the store floor, so ids keep
 * increasing when the clock steps back or the slot was reused.  A full
 * second of tags moves on to the next second. */
static push_msgid_t next_id(push_shm_t *s, const chan_t *c, int64_t now)
{
    push_msgid_t nid;

    nid.time = now;
    if (nid.time < c->last_id.time) {
        nid.time = c->last_id.time;
    }
    if (nid.time < s->floor) {
        nid.time = s->floor;
    }
    nid.tag = 0;
    if (nid.time == c->last_id.time) {
        if (c->last_id.tag == UINT32_MAX) {
            nid.time++;
        }
        else {
            nid.tag = c->last_id.tag + 1;
        }
    }
    return nid;
}

/* With the lock held: appends msg to channel c (slot i) as message nid,
 * which is after the channel's last id, making room first.  Returns
 * whether some process waits on the channel. */
static int append(push_shm_t *s, chan_t *c, uint32_t i,
                  const push_message_t *msg, const push_limits_t *limits,
                  uint64_t need, push_msgid_t nid, int64_t now)
{
    uint64_t off;
    rec_t *r;
    char *p;

    /* Room for the new message within the channel's buffer first, then in
     * the ring; both drop the oldest. */
    c->keep = limits->buffer_length;
    while (c->count >= limits->buffer_length
           && !(c->readers != NO_READER
                && chan_held(s, c, rec_at(s, c->first)))) {
        chan_drop_first(s, c);
    }
    CRASH_POINT(1);
    off = ring_reserve(s, need, now);

    r = rec_at(s, off);
    r->len = (uint32_t)need;
    r->slot = i;
    r->body_len = (uint32_t)msg->body_len;
    r->id_time = nid.time;
    r->id_tag = nid.tag;
    r->ct_len = (uint16_t)msg->content_type_len;
    r->ev_len = (uint16_t)msg->event_len;
    r->expires = limits->timeout != 0 ? now + (int64_t)limits->timeout : 0;
    r->next = NO_REC;
    r->pos = c->pos + need;
    p = (char *)(r + 1);
    if (msg->body_len != 0) {
        memcpy(p, msg->body, msg->body_len);
    }
    p += msg->body_len;
    if (msg->content_type_len != 0) {
        memcpy(p, msg->content_type, msg->content_type_len);
    }
    p += msg->content_type_len;
    if (msg->event_len != 0) {
        memcpy(p, msg->event, msg->event_len);
    }
    r->kind = REC_LIVE;
    /* The record is whole before the ring claims it: recovery trusts
     * anything between tail and head. */
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    s->head = off + need;
    if (s->head == s->ring_size) {
        s->head = 0;
    }
    s->used += need;
    CRASH_POINT(2);

    if (c->last != NO_REC) {
        rec_at(s, c->last)->next = off;
    }
    else {
        c->first = off;
    }
    c->last = off;
    c->count++;
    s->messages++;
    CRASH_POINT(3);
    c->last_id = nid;
    c->pos += need;
    s->published++;
    /* A hold this message puts past its bound lets go now. */
    if (c->readers != NO_READER) {
        chan_trim(s, c);
    }

    ring_reclaim_dead(s);
    __atomic_add_fetch(&c->version, 1, __ATOMIC_SEQ_CST);
    /* Read under the lock, after the message is in: a process that
     * starts watching later looks in the store after counting itself
     * (push_shm_watch), and so finds the message. */
    return __atomic_load_n(&c->watchers, __ATOMIC_SEQ_CST) != 0;
}

/* Publishes with the store's next id (id NULL) or with *given. */
static push_status_e publish(push_shm_t *s, const char *chan,
                             size_t chan_len, const push_message_t *msg,
                             const push_limits_t *limits, int64_t now,
                             const push_msgid_t *given, push_msgid_t *id,
                             push_channel_info_t *info)
{
    push_status_e st;
    push_msgid_t nid;
    uint64_t need;
    uint32_t i;
    int wake;
    chan_t *c;

    if ((st = publish_check(s, chan, chan_len, msg, limits, &need))
        != PUSH_OK) {
        return st;
    }
    store_lock(s);
    i = chan_lookup(s, chan, chan_len, 1, now);
    if (i == NO_SLOT) {
        store_unlock(s);
        return PUSH_NO_CHANNEL_SLOT;
    }
    c = slot_at(s, i);
    c->last_used = now;
    chan_expire(s, c, now);
    if (given != NULL && push_msgid_cmp(given, &c->last_id) <= 0) {
        store_unlock(s);
        return PUSH_DUPLICATE;
    }
    nid = given != NULL ? *given : next_id(s, c, now);
    wake = append(s, c, i, msg, limits, need, nid, now);
    if (id != NULL) {
        *id = nid;
    }
    chan_fill_info(s, c, info);
    store_unlock(s);

    if (wake) {
        bump_and_wake(s);
    }
    return PUSH_OK;
}

push_status_e push_shm_publish(push_shm_t *s, const char *chan,
                               size_t chan_len, const push_message_t *msg,
                               const push_limits_t *limits, int64_t now,
                               push_msgid_t *id, push_channel_info_t *info)
{
    return publish(s, chan, chan_len, msg, limits, now, NULL, id, info);
}

push_status_e push_shm_publish_id(push_shm_t *s, const char *chan,
                                  size_t chan_len, const push_message_t *msg,
                                  const push_limits_t *limits, int64_t now,
                                  push_channel_info_t *info)
{
    if (msg == NULL) {
        return PUSH_BAD_ARG;
    }
    return publish(s, chan, chan_len, msg, limits, now, &msg->id, NULL,
                   info);
}

/* With the lock held: the channel as clients see it, expired messages
 * dropped, or NULL.  An empty channel without subscribers is only a slot
 * waiting to be reused: to clients it does not exist. */
static chan_t *chan_visible(push_shm_t *s, const char *chan,
                            size_t chan_len, int64_t now)
{
    uint32_t i = chan_lookup(s, chan, chan_len, 0, now);
    chan_t *c;

    if (i == NO_SLOT) {
        return NULL;
    }
    c = slot_at(s, i);
    chan_expire(s, c, now);
    c->last_used = now;
    if (c->count == 0 && chan_subscribers(c) == 0) {
        ring_reclaim_dead(s);
        return NULL;
    }
    return c;
}

push_status_e push_shm_info(push_shm_t *s, const char *chan,
                            size_t chan_len, int64_t now,
                            push_channel_info_t *info)
{
    chan_t *c;

    if (!chan_arg_ok(s, chan, chan_len)) {
        return PUSH_BAD_ARG;
    }
    store_lock(s);
    if ((c = chan_visible(s, chan, chan_len, now)) != NULL) {
        chan_fill_info(s, c, info);
        ring_reclaim_dead(s);
    }
    store_unlock(s);
    return c ? PUSH_OK : PUSH_NOT_FOUND;
}

push_status_e push_shm_delete(push_shm_t *s, const char *chan,
                              size_t chan_len, int64_t now,
                              push_channel_info_t *info)
{
    chan_t *c;

    if (!chan_arg_ok(s, chan, chan_len)) {
        return PUSH_BAD_ARG;
    }
    store_lock(s);
    if ((c = chan_visible(s, chan, chan_len, now)) == NULL) {
        store_unlock(s);
        return PUSH_NOT_FOUND;
    }
    chan_fill_info(s, c, info);

    while (c->first != NO_REC) {
        chan_drop_first(s, c);
    }
    s->subscribers -= c->subscribers;
    c->subscribers = 0;
    chan_drop_readers(s, c);
    /* The slot stays this channel's (its last_id keeps later ids
     * increasing); it is simply empty and so reclaimable. */
    __atomic_add_fetch(&c->epoch, 1, __ATOMIC_SEQ_CST);
    __atomic_add_fetch(&c->version, 1, __ATOMIC_SEQ_CST);
    ring_reclaim_dead(s);
    store_unlock(s);

    bump_and_wake(s);
    return PUSH_OK;
}

push_status_e push_shm_subscribe(push_shm_t *s, const char *chan,
                                 size_t chan_len, int64_t now,
                                 push_store_ref_t *ref,
                                 push_channel_info_t *info)
{
    uint32_t i;
    chan_t *c;

    if (!chan_arg_ok(s, chan, chan_len) || ref == NULL) {
        return PUSH_BAD_ARG;
    }
    store_lock(s);
    i = chan_lookup(s, chan, chan_len, 1, now);
    if (i == NO_SLOT) {
        store_unlock(s);
        return PUSH_NO_CHANNEL_SLOT;
    }
    c = slot_at(s, i);
    chan_expire(s, c, now);
    c->last_used = now;
    c->subscribers++;
    s->subscribers++;
    ref->chan = i;
    ref->gen = c->epoch;
    ref->reader = NO_READER;
    ref->reader_gen = 0;
    chan_fill_info(s, c, info);
    ring_reclaim_dead(s);
    store_unlock(s);
    return PUSH_OK;
}

/* With the lock held: ends ref's hold, if it has one. */
static void unhold(push_shm_t *s, push_store_ref_t *ref)
{
    if (ref_reader(s, ref) != NULL) {
        chan_t *c = slot_at(s, ref->chan);

        reader_unlink(s, c, ref->reader);
        chan_trim(s, c);
    }
    ref->reader = NO_READER;
}

void push_shm_unsubscribe(push_shm_t *s, push_store_ref_t *ref)
{
    chan_t *c;

    if (s == NULL || ref == NULL || ref->chan >= s->nslots) {
        return;
    }
    store_lock(s);
    unhold(s, ref);
    c = slot_at(s, ref->chan);
    /* After a delete (or a reuse of the slot) the count this subscription
     * added was already zeroed: taking it off again would steal someone
     * else's. */
    if (c->in_use && c->epoch == ref->gen && c->subscribers > 0) {
        c->subscribers--;
        s->subscribers--;
    }
    store_unlock(s);
}

/* With the lock held: ref's channel, or NULL when it is gone. */
static chan_t *ref_chan(push_shm_t *s, const push_store_ref_t *ref)
{
    chan_t *c;

    if (ref->chan >= s->nslots) {
        return NULL;
    }
    c = slot_at(s, ref->chan);
    return c->in_use && c->epoch == ref->gen ? c : NULL;
}

push_status_e push_shm_hold(push_shm_t *s, push_store_ref_t *ref,
                            const push_msgid_t *after, uint64_t bound,
                            uint64_t *pos)
{
    reader_t *rd;
    uint32_t i;
    chan_t *c;

    if (s == NULL || ref == NULL) {
        return PUSH_BAD_ARG;
    }
    store_lock(s);
    if ((c = ref_chan(s, ref)) == NULL) {
        store_unlock(s);
        return PUSH_GONE;
    }
    if ((rd = ref_reader(s, ref)) == NULL) {
        if ((i = reader_take(s)) == NO_READER) {
            store_unlock(s);
            return PUSH_NO_READER;
        }
        rd = reader_at(s, i);
        rd->in_use = 1;
        rd->slot = ref->chan;
        rd->epoch = ref->gen;
        rd->next = c->readers;
        c->readers = i;
        ref->reader = i;
        ref->reader_gen = rd->gen;
    }
    rd->pid = (int32_t)getpid();
    rd->bound = bound;
    rd->pos = c->pos;
    if (after != NULL) {
        uint64_t off = c->first;

        while (off != NO_REC) {
            rec_t *r = rec_at(s, off);
            push_msgid_t id = rec_id(r);

            if (push_msgid_cmp(&id, after) > 0) {
                rd->pos = r->pos - r->len;
                break;
            }
            off = r->next;
        }
    }
    if (pos != NULL) {
        *pos = rd->pos;
    }
    store_unlock(s);
    return PUSH_OK;
}

void push_shm_hold_at(push_shm_t *s, const push_store_ref_t *ref,
                      uint64_t pos, uint64_t bound)
{
    reader_t *rd;
    chan_t *c;

    if (s == NULL || ref == NULL || ref->reader == NO_READER) {
        return;
    }
    store_lock(s);
    if ((c = ref_chan(s, ref)) != NULL && (rd = ref_reader(s, ref)) != NULL) {
        int up = pos > rd->pos;

        rd->pos = pos;
        rd->bound = bound;
        if (up) {
            chan_trim(s, c);
            ring_reclaim_dead(s);
        }
    }
    store_unlock(s);
}

void push_shm_unhold(push_shm_t *s, push_store_ref_t *ref)
{
    if (s == NULL || ref == NULL || ref->reader == NO_READER) {
        return;
    }
    store_lock(s);
    unhold(s, ref);
    ring_reclaim_dead(s);
    store_unlock(s);
}

push_status_e push_shm_next(push_shm_t *s, const push_store_ref_t *ref,
                            const push_msgid_t *cursor, int64_t now,
                            push_copy_fn copy, void *copy_ctx,
                            push_message_t *msg, int *gap,
                            push_msgid_t *gap_id)
{
    push_status_e rv = PUSH_NONE;
    uint64_t off;
    uint32_t version;
    int newest, moved = 0;
    chan_t *c;

    if (gap != NULL) {
        *gap = 0;
    }
    if (s == NULL || ref == NULL || msg == NULL) {
        return PUSH_BAD_ARG;
    }
    if (ref->chan >= s->nslots) {
        return PUSH_GONE;
    }
    store_lock(s);
    c = slot_at(s, ref->chan);
    if (!c->in_use || c->epoch != ref->gen) {
        store_unlock(s);
        return PUSH_GONE;
    }
    chan_expire(s, c, now);
    c->last_used = now;

    off = c->first;
    if (cursor != NULL) {
        push_msgid_t born_mark;

        /* A subscriber that is caught up, the common case, costs no walk. */
        if (push_msgid_cmp(cursor, &c->last_id) >= 0) {
            off = NO_REC;
        }
        while (off != NO_REC) {
            push_msgid_t id = rec_id(rec_at(s, off));

            if (push_msgid_cmp(&id, cursor) > 0) {
                break;
            }
            off = rec_at(s, off)->next;
        }

        /* Gaps.  Anything this channel dropped after the cursor is lost
         * for good.  And a non-zero cursor from before the channel existed
         * (a previous store, or an earlier channel of this name whose slot
         * was reused) may have missed anything: every id this channel ever
         * issued is at or after {born, 0}, so report the gap as the newest
         * id that cannot be one of ours.  A subscriber that adopts gap_id
         * as its cursor stops being told again. */
        born_mark.time = c->born - 1;
        born_mark.tag = UINT32_MAX;
        if (push_msgid_cmp(cursor, &c->last_dropped) < 0) {
            if (gap != NULL) {
                *gap = 1;
            }
            if (gap_id != NULL) {
                *gap_id = c->last_dropped;
            }
        }
        else if (!msgid_is_zero(cursor)
                 && push_msgid_cmp(cursor, &born_mark) < 0) {
            if (gap != NULL) {
                *gap = 1;
            }
            if (gap_id != NULL) {
                *gap_id = born_mark;
            }
        }
    }

    /* Everything up to the cursor is taken: a hold moves up to it. */
    if (cursor != NULL && ref->reader != NO_READER) {
        reader_t *rd = ref_reader(s, ref);

        if (rd != NULL) {
            rec_t *r = off != NO_REC ? rec_at(s, off) : NULL;

            rd->pos = r ? r->pos - r->len : c->pos;
            moved = 1;
        }
    }

    /* What a waiter may skip next time: while the version stays, nothing
     * after this message (or after the cursor, when none) exists. */
    version = __atomic_load_n(&c->version, __ATOMIC_ACQUIRE);
    newest = off == NO_REC || rec_at(s, off)->next == NO_REC;
    if (off != NO_REC) {
        rec_t *r = rec_at(s, off);
        push_msgid_t id = rec_id(r);
        const char *data = (const char *)(r + 1);
        size_t total = (size_t)r->body_len + r->ct_len + r->ev_len + 3;
        char *p;

        /* One buffer holds body, content type and event, each with its
         * NUL: one call under the lock instead of three.  Without one only
         * the id and the body's length are wanted (the caller may have
         * the message's encoded bytes already). */
        p = copy != NULL ? copy(copy_ctx, &id, total) : NULL;
        rv = PUSH_FOUND;
        if (p == NULL) {
            memset(msg, 0, sizeof(*msg));
            msg->id = id;
            msg->body_len = r->body_len;
        }

        else {
            msg->id = rec_id(r);
            msg->body = p;
            msg->body_len = r->body_len;
            memcpy(p, data, r->body_len);
            p[r->body_len] = '\0';
            data += r->body_len;
            p += r->body_len + 1;
            msg->content_type = p;
            msg->content_type_len = r->ct_len;
            memcpy(p, data, r->ct_len);
            p[r->ct_len] = '\0';
            data += r->ct_len;
            p += r->ct_len + 1;
            msg->event = p;
            msg->event_len = r->ev_len;
            memcpy(p, data, r->ev_len);
            p[r->ev_len] = '\0';
        }
        msg->pos = r->pos;
        msg->chan_pos = c->pos;
    }
    if (moved) {
        /* After the copy: what it found may go now. */
        chan_trim(s, c);
    }
    ring_reclaim_dead(s);
    store_unlock(s);
    if (rv == PUSH_FOUND || rv == PUSH_NONE) {
        msg->version = version;
        msg->newest = newest;
    }
    return rv;
}

uint32_t push_shm_version(push_shm_t *s, uint32_t chan)
{
    if (s == NULL || chan >= s->nslots) {
        return 0;
    }
    return __atomic_load_n(&slot_at(s, chan)->version, __ATOMIC_ACQUIRE);
}

uint32_t push_shm_seq(push_shm_t *s)
{
    return __atomic_load_n(&s->seq, __ATOMIC_ACQUIRE);
}

uint32_t push_shm_wait(push_shm_t *s, uint32_t seen, int timeout_ms)
{
    struct timespec ts, *tsp = NULL;
    uint32_t cur = __atomic_load_n(&s->seq, __ATOMIC_ACQUIRE);

    if (cur != seen) {
        return cur;
    }
    if (timeout_ms >= 0) {
        ts.tv_sec = timeout_ms / 1000;
        ts.tv_nsec = (long)(timeout_ms % 1000) * 1000000L;
        tsp = &ts;
    }
    /* The kernel compares the word with `seen` under its own lock, so a
     * bump between our load and the sleep makes this return EAGAIN at
     * once instead of missing the wake-up.  EINTR, EAGAIN and ETIMEDOUT
     * all just return: callers loop on the word anyway, and retrying on
     * EINTR would need the remaining timeout recomputed. */
    futex_op(&s->seq, FUTEX_WAIT, seen, tsp);
    return __atomic_load_n(&s->seq, __ATOMIC_ACQUIRE);
}

void push_shm_wake_all(push_shm_t *s)
{
    bump_and_wake(s);
}

void push_shm_stats(push_shm_t *s, int64_t now, push_store_stats_t *st)
{
    uint32_t i;

    if (s == NULL || st == NULL) {
        return;
    }
    store_lock(s);
    for (i = 0; i < s->nslots; i++) {
        chan_t *c = slot_at(s, i);

        if (c->in_use && c->first != NO_REC) {
            chan_expire(s, c, now);
        }
    }
    ring_reclaim_dead(s);
    st->channels = s->channels;
    st->channel_slots = s->nslots;
    st->messages = s->messages;
    st->subscribers = s->subscribers;
    st->published = s->published;
    st->evicted = s->evicted;
    st->expired = s->expired;
    st->bytes_used = s->used;
    st->bytes_total = s->size;
    st->created = s->created;
    st->recoveries = s->recoveries;
    store_unlock(s);
}

void push_shm_watch(push_shm_t *s, uint32_t chan, int delta)
{
    if (s != NULL && chan < s->nslots) {
        __atomic_add_fetch(&slot_at(s, chan)->watchers, (uint32_t)delta,
                           __ATOMIC_SEQ_CST);
    }
}

uint32_t push_shm_channels(push_shm_t *s)
{
    return s != NULL ? s->nslots : 0;
}

/* ------------------------------------------------------------------ */
/* The engine table                                                    */

const push_store_engine_t push_shm_engine = {
    "shm",
    push_shm_publish, push_shm_publish_id, push_shm_info, push_shm_delete,
    push_shm_subscribe, push_shm_unsubscribe,
    push_shm_hold, push_shm_hold_at, push_shm_unhold, push_shm_next,
    push_shm_version, push_shm_stats,
    push_shm_channels, push_shm_seq, push_shm_wait, push_shm_watch,
    push_shm_wake_all
};
