/* push_store_shm_chan.c — the shared-memory engine's channels: the slab
 * of channel records, their hash, and the reuse of the least recently
 * used empty one when the slab is full. */
#include "store/push_store_shm_region.h"

/* ------------------------------------------------------------------ */
/* Channels                                                            */

void shm_chan_fill_info(push_shm_t *s, const chan_t *c,
                        push_channel_info_t *info)
{
    if (info == NULL) {
        return;
    }
    info->messages = c->count;
    info->subscribers = c->subscribers;
    info->last_id = c->last_id;
    info->last_seen = c->last_seen;
    info->version = __atomic_load_n(&c->version, __ATOMIC_ACQUIRE);
    info->keep = c->keep;
    info->origin = c->origin;
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
            && memcmp(chan_id(s, c), id, len) == 0) {
            return i;
        }
        i = c->hnext;
    }
    return NO_SLOT;
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
 * subscribers (with a long id, when `long_id`: one whose record a new
 * long id can take); NO_SLOT when there is none.  Linear in the slot
 * count, but it runs only when a new channel finds the slab (or the
 * long-id table) full. */
static uint32_t chan_reclaim(push_shm_t *s, int64_t now, int long_id)
{
    uint32_t i, best = NO_SLOT;
    chan_t *c;

    for (i = 0; i < s->nslots; i++) {
        c = slot_at(s, i);
        if (!c->in_use || c->subscribers != 0
            || (long_id && c->long_ix == NO_SLOT)) {
            continue;
        }
        shm_chan_expire(s, c, now);
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
    shm_chan_drop_readers(s, c);
    c->in_use = 0;
    if (c->long_ix != NO_SLOT) {
        longid_t *l = longid_at(s, c->long_ix);

        CRASH_POINT(6);     /* the channel gone, its record not freed */
        l->slot = NO_SLOT;
        l->next = s->free_long;
        s->free_long = c->long_ix;
        c->long_ix = NO_SLOT;
    }
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
    uint32_t i, *bucket;
    chan_t *c;

    if (len > SHM_ID_INLINE && s->free_long == NO_SLOT) {
        /* Every long-id record is in use: an empty channel with a long
         * id makes way (its slot too), or nothing does. */
        if (chan_reclaim(s, now, 1) == NO_SLOT) {
            return NO_SLOT;
        }
    }
    else if (s->free_slot == NO_SLOT
             || (s->max_channels && s->channels >= s->max_channels)) {
        /* The slab, or the limit, is full: an empty channel makes way. */
        if (chan_reclaim(s, now, 0) == NO_SLOT) {
            return NO_SLOT;
        }
    }
    i = s->free_slot;
    c = slot_at(s, i);
    if (len > SHM_ID_INLINE) {
        longid_t *l;

        c->long_ix = s->free_long;
        l = longid_at(s, c->long_ix);
        s->free_long = l->next;
        l->slot = i;
        memcpy(l->id, id, len);
        CRASH_POINT(5);     /* the record taken, the channel not made */
    }
    else {
        c->long_ix = NO_SLOT;
        memcpy(c->id, id, len);
    }
    s->free_slot = c->hnext;

    c->id_len = (uint32_t)len;
    c->hash = hash;
    c->first = NO_REC;
    c->last = NO_REC;
    c->count = 0;
    c->subscribers = 0;
    c->mirror_gen = 0;
    c->origin = 0;
    c->last_id.time = 0;
    c->last_id.tag = 0;
    c->last_dropped = c->last_id;
    c->born = s->floor;
    c->last_used = now;
    c->last_seen = 0;
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

uint32_t shm_chan_lookup(push_shm_t *s, const char *id, size_t len,
                         int create, int64_t now)
{
    uint32_t hash = chan_hash(id, len);
    uint32_t i = chan_find(s, id, len, hash);

    if (i == NO_SLOT && create) {
        i = chan_create(s, id, len, hash, now);
    }
    return i;
}

void push_shm_set_max_channels(push_shm_t *s, uint32_t max)
{
    if (s != NULL) {
        shm_lock(s);
        s->max_channels = max < s->nslots ? max : 0;
        shm_unlock(s);
    }
}
