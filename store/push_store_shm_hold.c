/* push_store_shm_hold.c — the shared-memory engine's holds (see
 * push_store.h, hold): reader records in the region, one list per
 * channel, that keep a connected subscriber's messages from being trimmed
 * or expired while it is within its bound. */
#include <errno.h>
#include <signal.h>
#include <unistd.h>

#include "store/push_store_shm_region.h"

/* ------------------------------------------------------------------ */
/* Holds                                                               */

/* A hold whose owner died holds nothing (a crashed child, or one that
 * ended without letting go). */
int shm_pid_alive(int32_t pid)
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
void shm_chan_drop_readers(push_shm_t *s, chan_t *c)
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
int shm_chan_held(push_shm_t *s, chan_t *c, const rec_t *r)
{
    uint32_t *link = &c->readers;

    while (*link != NO_READER) {
        uint32_t i = *link;
        reader_t *rd = reader_at(s, i);

        if (rd->pos < r->pos && c->pos - rd->pos <= rd->bound) {
            if (shm_pid_alive(rd->pid)) {
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
reader_t *shm_ref_reader(push_shm_t *s, const push_store_ref_t *ref)
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

                if (!shm_pid_alive(reader_at(s, j)->pid)) {
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

/* ------------------------------------------------------------------ */
/* A channel's queue: dropping from its front, as holds allow         */

/* Unlinks the channel's oldest message and marks it dead.  The caller
 * counts it (evicted, expired, or nothing for trims and deletes). */
void shm_chan_drop_first(push_shm_t *s, chan_t *c)
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

/* Only the head is checked: messages of one channel can carry different
 * timeouts (they come from the publishing location's config), and a
 * younger message expiring first just waits behind the older one. */
void shm_chan_expire(push_shm_t *s, chan_t *c, int64_t now)
{
    while (c->first != NO_REC) {
        rec_t *r = rec_at(s, c->first);

        if (r->expires == 0 || r->expires > now
            || (c->readers != NO_READER && shm_chan_held(s, c, r))) {
            break;
        }
        shm_chan_drop_first(s, c);
        s->expired++;
    }
}

/* Drops what is past the channel's buffer length and not held. */
void shm_chan_trim(push_shm_t *s, chan_t *c)
{
    while (c->first != NO_REC && c->count > c->keep
           && !shm_chan_held(s, c, rec_at(s, c->first))) {
        shm_chan_drop_first(s, c);
    }
}

/* With the lock held: ends ref's hold, if it has one. */
void shm_unhold(push_shm_t *s, push_store_ref_t *ref)
{
    if (shm_ref_reader(s, ref) != NULL) {
        chan_t *c = slot_at(s, ref->chan);

        reader_unlink(s, c, ref->reader);
        shm_chan_trim(s, c);
    }
    ref->reader = NO_READER;
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
    shm_lock(s);
    if ((c = ref_chan(s, ref)) == NULL) {
        shm_unlock(s);
        return PUSH_GONE;
    }
    if ((rd = shm_ref_reader(s, ref)) == NULL) {
        if ((i = reader_take(s)) == NO_READER) {
            shm_unlock(s);
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
    rd->pace = PUSH_NO_PACE;
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
    shm_unlock(s);
    return PUSH_OK;
}

void push_shm_hold_at(push_shm_t *s, const push_store_ref_t *ref,
                      uint64_t pos, uint64_t bound, uint64_t pace)
{
    reader_t *rd;
    chan_t *c;

    if (s == NULL || ref == NULL || ref->reader == NO_READER) {
        return;
    }
    shm_lock(s);
    if ((c = ref_chan(s, ref)) != NULL && (rd = shm_ref_reader(s, ref)) != NULL) {
        int up = pos > rd->pos;

        rd->pos = pos;
        rd->bound = bound;
        rd->pace = pace;
        if (up) {
            shm_chan_trim(s, c);    /* the bytes come back at the next
                                     * operation that reclaims the ring */
        }
    }
    shm_unlock(s);
}

void push_shm_unhold(push_shm_t *s, push_store_ref_t *ref)
{
    if (s == NULL || ref == NULL || ref->reader == NO_READER) {
        return;
    }
    shm_lock(s);
    shm_unhold(s, ref);
    shm_unlock(s);
}
