/* push_store_shm.c — the shared-memory store engine (see push_store_shm.h).
 *
 * Region layout, every part 64-byte aligned:
 *
 *   struct push_store     header: lock, counters, ring cursors, geometry
 *   uint32_t[nbuckets]    channel hash buckets (slot index or NO_SLOT)
 *   chan_t[nslots]        channel slab, about 1/8 of the region
 *   reader_t[nreaders]    holds of connected subscribers
 *   longid_t[nlong]       ids longer than a slot holds (an eighth of the
 *                         slots may have one)
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
 * hash chains, free lists, holds, counters): push_store_shm_lock.c. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/futex.h>
#include <sys/syscall.h>

#include "store/push_store_shm_region.h"

void (*push_shm_test_crash_hook)(int where);

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
    g->nlong = (uint32_t)(nslots / 8 + 4);
    g->long_off = ALIGN64(g->readers_off
                          + (uint64_t)g->nreaders * sizeof(reader_t));
    g->ring_off = ALIGN64(g->long_off
                          + (uint64_t)g->nlong * sizeof(longid_t));
    if (g->ring_off + RING_MIN > size) {
        return -1;
    }
    g->ring_size = (size - g->ring_off) & ~(uint64_t)7;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Waking                                                              */

static long futex_op(uint32_t *word, int op, uint32_t val,
                     const struct timespec *ts)
{
    /* Not FUTEX_PRIVATE_FLAG: the word is shared between processes. */
    return syscall(SYS_futex, word, op, val, ts, NULL, 0);
}

void shm_bump_and_wake(push_shm_t *s)
{
    __atomic_add_fetch(&s->seq, 1, __ATOMIC_SEQ_CST);
    futex_op(&s->seq, FUTEX_WAKE, INT_MAX, NULL);
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
            shm_chan_drop_first(s, c);
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
    s->popped += len;
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
    s->nlong = g.nlong;
    s->long_off = g.long_off;
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
        slot_at(s, i)->long_ix = NO_SLOT;
    }
    s->free_slot = 0;
    for (i = 0; i < g.nreaders; i++) {
        reader_at(s, i)->next = i + 1 < g.nreaders ? i + 1 : NO_READER;
    }
    s->free_reader = 0;
    for (i = 0; i < g.nlong; i++) {
        longid_at(s, i)->slot = NO_SLOT;
        longid_at(s, i)->next = i + 1 < g.nlong ? i + 1 : NO_SLOT;
    }
    s->free_long = 0;

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
        || s->nlong != g.nlong || s->long_off != g.long_off
        || s->ring_off != g.ring_off || s->ring_size != g.ring_size) {
        return NULL;
    }
    return s;
}

/* 1 when a call names a store and a channel id it can hold. */
int shm_chan_arg_ok(const push_shm_t *s, const char *chan, size_t len)
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
    if (!shm_chan_arg_ok(s, chan, chan_len) || msg == NULL || limits == NULL
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
 * behind the clock, the channel, the store floor or the newest time the
 * store issued, so ids keep increasing when the clock steps back or the
 * slot was reused, and a later publish never has an older time than an
 * earlier one on another channel (a publisher's `now` may be read
 * before a slow upload).  A full
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
    if (nid.time < s->last_time) {
        nid.time = s->last_time;
    }
    nid.tag = 0;
    if (nid.time == c->last_id.time) {
        nid = push_msgid_next(c->last_id);
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
    while (c->first != NO_REC && c->count >= limits->buffer_length
           && !(c->readers != NO_READER
                && shm_chan_held(s, c, rec_at(s, c->first)))) {
        shm_chan_drop_first(s, c);
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
    /* A hold this message puts past its bound lets go now; with no
     * history (buffer length 0), what nobody holds goes at once. */
    if (c->readers != NO_READER || c->keep == 0) {
        shm_chan_trim(s, c);
    }

    ring_reclaim_dead(s);
    __atomic_add_fetch(&c->version, 1, __ATOMIC_SEQ_CST);
    /* Read under the lock, after the message is in: a process that
     * starts watching later looks in the store after counting itself
     * (push_shm_watch), and so finds the message. */
    return __atomic_load_n(&c->watchers, __ATOMIC_SEQ_CST) != 0;
}

/* Publishes with the store's next id (id NULL) or with *given, which
 * must come after *prev, when given, and nothing else. */
static push_status_e publish(push_shm_t *s, const char *chan,
                             size_t chan_len, const push_message_t *msg,
                             const push_limits_t *limits, int64_t now,
                             const push_msgid_t *given,
                             const push_msgid_t *prev, uint64_t origin,
                             push_msgid_t *id, push_channel_info_t *info)
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
    shm_lock(s);
    i = shm_chan_lookup(s, chan, chan_len, 1, now);
    if (i == NO_SLOT) {
        shm_unlock(s);
        return PUSH_NO_CHANNEL_SLOT;
    }
    c = slot_at(s, i);
    c->last_used = now;
    shm_chan_expire(s, c, now);
    /* Checked before "had already": an id of another epoch may be one
     * the copy has for another message. */
    if (origin != 0 && c->origin != 0 && c->origin != origin) {
        shm_unlock(s);
        return PUSH_OUT_OF_ORDER;
    }
    if (given != NULL && push_msgid_cmp(given, &c->last_id) <= 0) {
        shm_chan_fill_info(s, c, info);
        shm_unlock(s);
        return PUSH_DUPLICATE;
    }
    if (prev != NULL && push_msgid_cmp(prev, &c->last_id) != 0) {
        shm_unlock(s);
        return PUSH_OUT_OF_ORDER;
    }
    if (given != NULL) {
        /* A backplane's copy: which ids are its channel's is the
         * backplane's to say (lost), not this store's age. */
        c->born = 0;
    }
    if (origin != 0) {
        c->origin = origin;
    }
    nid = given != NULL ? *given : next_id(s, c, now);
    wake = append(s, c, i, msg, limits, need, nid, now);
    if (nid.time > s->last_time) {
        s->last_time = nid.time;
    }
    if (id != NULL) {
        *id = nid;
    }
    shm_chan_fill_info(s, c, info);
    shm_unlock(s);

    if (wake) {
        shm_bump_and_wake(s);
    }
    return PUSH_OK;
}

push_status_e push_shm_publish(push_shm_t *s, const char *chan,
                               size_t chan_len, const push_message_t *msg,
                               const push_limits_t *limits, int64_t now,
                               push_msgid_t *id, push_channel_info_t *info)
{
    return publish(s, chan, chan_len, msg, limits, now, NULL, NULL, 0, id,
                   info);
}

push_status_e push_shm_publish_id(push_shm_t *s, const char *chan,
                                  size_t chan_len, const push_message_t *msg,
                                  const push_msgid_t *prev, uint64_t origin,
                                  const push_limits_t *limits, int64_t now,
                                  push_channel_info_t *info)
{
    if (msg == NULL) {
        return PUSH_BAD_ARG;
    }
    return publish(s, chan, chan_len, msg, limits, now, &msg->id, prev,
                   origin, NULL, info);
}

/* With the lock held: the channel as clients see it, expired messages
 * dropped, or NULL.  An empty channel without subscribers is only a slot
 * waiting to be reused: to clients it does not exist. */
static chan_t *chan_visible(push_shm_t *s, const char *chan,
                            size_t chan_len, int64_t now)
{
    uint32_t i = shm_chan_lookup(s, chan, chan_len, 0, now);
    chan_t *c;

    if (i == NO_SLOT) {
        return NULL;
    }
    c = slot_at(s, i);
    shm_chan_expire(s, c, now);
    c->last_used = now;
    if (c->count == 0 && c->subscribers == 0) {
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

    if (!shm_chan_arg_ok(s, chan, chan_len)) {
        return PUSH_BAD_ARG;
    }
    shm_lock(s);
    if ((c = chan_visible(s, chan, chan_len, now)) != NULL) {
        shm_chan_fill_info(s, c, info);
        ring_reclaim_dead(s);
    }
    shm_unlock(s);
    return c ? PUSH_OK : PUSH_NOT_FOUND;
}

push_status_e push_shm_delete(push_shm_t *s, const char *chan,
                              size_t chan_len, int64_t now,
                              push_channel_info_t *info)
{
    chan_t *c;

    if (!shm_chan_arg_ok(s, chan, chan_len)) {
        return PUSH_BAD_ARG;
    }
    shm_lock(s);
    if ((c = chan_visible(s, chan, chan_len, now)) == NULL) {
        shm_unlock(s);
        return PUSH_NOT_FOUND;
    }
    shm_chan_fill_info(s, c, info);

    while (c->first != NO_REC) {
        shm_chan_drop_first(s, c);
    }
    if (c->subscribers) {
        s->subscribers -= c->subscribers;
        c->subscribers = 0;
        s->sub_seq++;
    }
    shm_chan_drop_readers(s, c);
    /* The slot stays this channel's (its last_id keeps later ids
     * increasing); it is simply empty and so reclaimable. */
    __atomic_add_fetch(&c->epoch, 1, __ATOMIC_SEQ_CST);
    __atomic_add_fetch(&c->version, 1, __ATOMIC_SEQ_CST);
    ring_reclaim_dead(s);
    shm_unlock(s);

    shm_bump_and_wake(s);
    return PUSH_OK;
}

push_status_e push_shm_subscribe(push_shm_t *s, const char *chan,
                                 size_t chan_len, int64_t now,
                                 push_store_ref_t *ref,
                                 push_channel_info_t *info)
{
    uint32_t i;
    chan_t *c;

    if (!shm_chan_arg_ok(s, chan, chan_len) || ref == NULL) {
        return PUSH_BAD_ARG;
    }
    shm_lock(s);
    i = shm_chan_lookup(s, chan, chan_len, 1, now);
    if (i == NO_SLOT) {
        shm_unlock(s);
        return PUSH_NO_CHANNEL_SLOT;
    }
    c = slot_at(s, i);
    shm_chan_expire(s, c, now);
    c->last_used = now;
    c->last_seen = now;
    c->subscribers++;
    s->subscribers++;
    s->sub_seq++;
    ref->chan = i;
    ref->gen = c->epoch;
    ref->reader = NO_READER;
    ref->reader_gen = 0;
    ref->at = UINT64_MAX;
    shm_chan_fill_info(s, c, info);
    ring_reclaim_dead(s);
    shm_unlock(s);
    return PUSH_OK;
}

void push_shm_unsubscribe(push_shm_t *s, push_store_ref_t *ref)
{
    chan_t *c;

    if (s == NULL || ref == NULL || ref->chan >= s->nslots) {
        return;
    }
    shm_lock(s);
    shm_unhold(s, ref);
    c = slot_at(s, ref->chan);
    /* After a delete (or a reuse of the slot) the count this subscription
     * added was already zeroed: taking it off again would steal someone
     * else's. */
    if (c->in_use && c->epoch == ref->gen && c->subscribers > 0) {
        c->subscribers--;
        s->subscribers--;
        s->sub_seq++;
    }
    shm_unlock(s);
}

int push_shm_behind(push_shm_t *s, const char *chan, size_t chan_len)
{
    int behind = 0;
    uint32_t i, r;

    if (s == NULL || chan == NULL || chan_len == 0
        || chan_len > PUSH_CHANNEL_ID_MAX) {
        return 0;
    }
    shm_lock(s);
    i = shm_chan_lookup(s, chan, chan_len, 0, 0);
    if (i != NO_SLOT) {
        chan_t *c = slot_at(s, i);

        for (r = c->readers; r != NO_READER && !behind;
             r = reader_at(s, r)->next) {
            const reader_t *rd = reader_at(s, r);

            behind = rd->pace != PUSH_NO_PACE && c->pos > rd->pace
                     && c->pos - rd->pace > rd->bound / 2
                     && shm_pid_alive(rd->pid);
        }
    }
    shm_unlock(s);
    return behind;
}

/* A record's place in the never-wrapping count of push_store_inst.popped,
 * and back (NO_REC when the place is no longer in the ring: popped, its
 * bytes maybe reused, so nothing there may be read). */
static uint64_t ring_place(const push_shm_t *s, uint64_t off)
{
    return s->popped + (off >= s->tail ? off - s->tail
                                       : s->ring_size - s->tail + off);
}

static uint64_t ring_at_place(const push_shm_t *s, uint64_t place)
{
    uint64_t k, off;

    if (place == UINT64_MAX || place < s->popped
        || (k = place - s->popped) >= s->used) {
        return NO_REC;
    }
    off = s->tail + k;
    return off >= s->ring_size ? off - s->ring_size : off;
}

/* The first message of c after *cursor: from where the last look from
 * this cursor ended when that record is still the channel's (one step),
 * else a walk from the oldest. */
static uint64_t chan_after(push_shm_t *s, const chan_t *c,
                           const push_store_ref_t *ref,
                           const push_msgid_t *cursor)
{
    uint64_t off = ring_at_place(s, ref->at);

    if (off != NO_REC && push_msgid_cmp(&ref->at_id, cursor) == 0) {
        rec_t *r = rec_at(s, off);
        push_msgid_t id = rec_id(r);

        if (r->kind == REC_LIVE && r->slot == ref->chan
            && push_msgid_cmp(&id, cursor) == 0) {
            return r->next;
        }
    }
    for (off = c->first; off != NO_REC; off = rec_at(s, off)->next) {
        push_msgid_t id = rec_id(rec_at(s, off));

        if (push_msgid_cmp(&id, cursor) > 0) {
            break;
        }
    }
    return off;
}

push_status_e push_shm_next(push_shm_t *s, push_store_ref_t *ref,
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
    shm_lock(s);
    c = slot_at(s, ref->chan);
    if (!c->in_use || c->epoch != ref->gen) {
        shm_unlock(s);
        return PUSH_GONE;
    }
    shm_chan_expire(s, c, now);
    c->last_used = now;

    off = c->first;
    if (cursor != NULL) {
        push_msgid_t born_mark;

        /* A subscriber that is caught up, the common case, costs no walk,
         * nor does one that takes its messages in order. */
        off = push_msgid_cmp(cursor, &c->last_id) >= 0
              ? NO_REC : chan_after(s, c, ref, cursor);

        /* Gaps.  Anything this channel dropped after the cursor is lost
         * for good.  And a non-zero cursor from before the channel existed
         * (a previous store, or an earlier channel of this name whose slot
         * was reused) may have missed anything: every id this channel ever
         * issued is at or after {born, 0}, so report the gap as the newest
         * id that cannot be one of ours.  A subscriber that adopts gap_id
         * as its cursor stops being told again. */
        born_mark = push_msgid_prev((push_msgid_t){c->born, 0});
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
        reader_t *rd = shm_ref_reader(s, ref);

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
        ref->at = ring_place(s, off);
        ref->at_id = id;
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
        /* Records are appended in publish order, under the one lock. */
        msg->seq = ref->at;
    }
    if (moved) {
        /* After the copy: what it found may go now. */
        shm_chan_trim(s, c);
    }
    ring_reclaim_dead(s);
    shm_unlock(s);
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
    shm_bump_and_wake(s);
}

void push_shm_stats(push_shm_t *s, int64_t now, push_store_stats_t *st)
{
    uint32_t i;

    if (s == NULL || st == NULL) {
        return;
    }
    shm_lock(s);
    for (i = 0; i < s->nslots; i++) {
        chan_t *c = slot_at(s, i);

        if (c->in_use && c->first != NO_REC) {
            shm_chan_expire(s, c, now);
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
    st->bytes_ring = s->ring_size;
    st->created = s->created;
    st->recoveries = s->recoveries;
    shm_unlock(s);
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
    push_shm_publish, push_shm_publish_id, push_shm_lost, push_shm_info,
    push_shm_delete,
    push_shm_subscribe, push_shm_unsubscribe,
    push_shm_hold, push_shm_hold_at, push_shm_unhold, push_shm_behind,
    push_shm_next,
    push_shm_version, push_shm_stats,
    push_shm_channels, push_shm_interest, push_shm_sub_seq,
    push_shm_mirror_live, push_shm_mirror_mark, push_shm_mirrored,
    push_shm_mirror_epoch,
    push_shm_seq, push_shm_wait,
    push_shm_watch, push_shm_wake_all
};
