/* push_store_shm_lock.c — the shared-memory engine's lock, and crash
 * recovery: a locker that inherits the lock from a dead holder
 * (EOWNERDEAD) with `dirty` set trusts only what cannot be half-written,
 * the record headers in the ring and the in-use channel records, and
 * rebuilds everything derived from them (see push_store_shm.c). */
#include <errno.h>
#include <stdlib.h>

#include "store/push_store_shm_region.h"

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

/* Whether channel slot i's id is where it says: in the slot when short,
 * else in a long-id record that names the slot back. */
static int long_id_ok(push_shm_t *s, const chan_t *c, uint32_t i)
{
    if (c->long_ix == NO_SLOT) {
        return c->id_len <= SHM_ID_INLINE;
    }
    return c->id_len > SHM_ID_INLINE && c->long_ix < s->nlong
           && longid_at(s, c->long_ix)->slot == i;
}

/* Rebuilds everything derived after a lock holder died mid-change. */
static void shm_repair(push_shm_t *s)
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
        if (c->in_use && (c->id_len == 0 || c->id_len > PUSH_CHANNEL_ID_MAX
                          || !long_id_ok(s, c, i))) {
            c->in_use = 0;
        }
        if (!c->in_use) {
            c->hnext = s->free_slot;
            s->free_slot = i;
            continue;
        }
        c->hash = chan_hash(chan_id(s, c), c->id_len);
        c->hnext = b[c->hash & (s->nbuckets - 1)];
        b[c->hash & (s->nbuckets - 1)] = i;
        c->first = NO_REC;
        c->last = NO_REC;
        c->count = 0;
        c->readers = NO_READER;
        s->subscribers += c->subscribers;
        s->channels++;
    }
    s->sub_seq++;
    /* Long ids: a record is its channel's when that channel, in use,
     * names it; the rest is free. */
    s->free_long = NO_SLOT;
    i = s->nlong;
    while (i-- > 0) {
        longid_t *l = longid_at(s, i);
        chan_t *c = l->slot < s->nslots ? slot_at(s, l->slot) : NULL;

        if (!c || !c->in_use || c->long_ix != i) {
            l->slot = NO_SLOT;
            l->next = s->free_long;
            s->free_long = i;
        }
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
        /* No place remembered before may name a record from now on. */
        s->popped += s->ring_size;
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

void shm_lock(push_shm_t *s)
{
    int rc = pthread_mutex_lock(&s->lock);

    if (rc == EOWNERDEAD) {
        pthread_mutex_consistent(&s->lock);
        s->recoveries++;
        if (s->dirty) {
            shm_repair(s);
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

void shm_unlock(push_shm_t *s)
{
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    s->dirty = 0;
    pthread_mutex_unlock(&s->lock);
}
