/* push_store_shm_mirror.c — what the shared-memory engine does for a
 * backplane that keeps a copy of its channels here (push_store.h: lost,
 * interest; publish_id is the engine's publish with a given id). */
#include "store/push_store_shm.h"
#include "store/push_store_shm_region.h"

/* With the lock held: what the copy lacks up to *upto is lost. */
static void lost_locked(push_shm_t *s, chan_t *c, const push_msgid_t *upto,
                        int64_t now)
{
    c->last_used = now;
    c->born = 0;
    /* A copy that has its messages up to *upto lacks none of them: the
     * caller read the copy before another process stored them. */
    if (push_msgid_cmp(upto, &c->last_id) > 0) {
        c->last_dropped = *upto;
        c->last_id = *upto;
        if (upto->time > s->last_time) {
            s->last_time = upto->time;
        }
    }
    __atomic_add_fetch(&c->version, 1, __ATOMIC_SEQ_CST);
}

push_status_e push_shm_lost(push_shm_t *s, const char *chan,
                            size_t chan_len, const push_msgid_t *upto,
                            int64_t now)
{
    uint32_t i;

    if (s == NULL || upto == NULL || !shm_chan_arg_ok(s, chan, chan_len)) {
        return PUSH_BAD_ARG;
    }
    shm_lock(s);
    i = shm_chan_lookup(s, chan, chan_len, 1, now);
    if (i == NO_SLOT) {
        shm_unlock(s);
        return PUSH_NO_CHANNEL_SLOT;
    }
    lost_locked(s, slot_at(s, i), upto, now);
    shm_unlock(s);
    shm_bump_and_wake(s);
    return PUSH_OK;
}

push_status_e push_shm_mirror_epoch(push_shm_t *s, const char *chan,
                                    size_t chan_len, uint64_t from,
                                    uint64_t to, const push_msgid_t *gap,
                                    int64_t now)
{
    uint32_t i;
    chan_t *c;

    if (s == NULL || !shm_chan_arg_ok(s, chan, chan_len)) {
        return PUSH_BAD_ARG;
    }
    shm_lock(s);
    i = shm_chan_lookup(s, chan, chan_len, gap != NULL, now);
    if (i == NO_SLOT) {
        shm_unlock(s);
        return gap ? PUSH_NO_CHANNEL_SLOT : PUSH_NOT_FOUND;
    }
    c = slot_at(s, i);
    if (c->origin != from) {
        shm_unlock(s);
        return PUSH_OUT_OF_ORDER;
    }
    c->origin = to;
    if (gap) {
        lost_locked(s, c, gap, now);
    }
    shm_unlock(s);
    if (gap) {
        shm_bump_and_wake(s);
    }
    return PUSH_OK;
}

void push_shm_mirror_live(push_shm_t *s, uint32_t gen, int64_t until_ms)
{
    if (s == NULL) {
        return;
    }
    /* Read without the lock (mirrored): the generation goes first when
     * it ends (0), last when one begins, and the reader reads it on both
     * sides of the deadline. */
    if (gen == 0) {
        __atomic_store_n(&s->mirror_gen, 0, __ATOMIC_RELEASE);
        __atomic_store_n(&s->mirror_until, until_ms, __ATOMIC_RELEASE);
        return;
    }
    __atomic_store_n(&s->mirror_until, until_ms, __ATOMIC_RELEASE);
    __atomic_store_n(&s->mirror_gen, gen, __ATOMIC_RELEASE);
}

void push_shm_mirror_mark(push_shm_t *s, const char *chan, size_t chan_len,
                          uint32_t gen)
{
    uint32_t i;

    if (s == NULL || !shm_chan_arg_ok(s, chan, chan_len)) {
        return;
    }
    shm_lock(s);
    if ((i = shm_chan_lookup(s, chan, chan_len, 0, 0)) != NO_SLOT) {
        slot_at(s, i)->mirror_gen = gen;
    }
    shm_unlock(s);
}

int push_shm_mirrored(push_shm_t *s, const char *chan, size_t chan_len,
                      int64_t now_ms)
{
    uint32_t gen, i;
    int yes = 0;

    /* The generation read on both sides of the deadline: a backplane
     * that lost its connection and made another meanwhile (generations
     * are not reused, but for a 32-bit hash's chance) is seen, not half of each. */
    if (s == NULL || !shm_chan_arg_ok(s, chan, chan_len)
        || (gen = __atomic_load_n(&s->mirror_gen, __ATOMIC_ACQUIRE)) == 0
        || now_ms >= __atomic_load_n(&s->mirror_until, __ATOMIC_ACQUIRE)
        || __atomic_load_n(&s->mirror_gen, __ATOMIC_ACQUIRE) != gen) {
        return 0;
    }
    shm_lock(s);
    if ((i = shm_chan_lookup(s, chan, chan_len, 0, 0)) != NO_SLOT) {
        yes = slot_at(s, i)->mirror_gen == gen;
    }
    shm_unlock(s);
    return yes;
}

uint32_t push_shm_sub_seq(push_shm_t *s)
{
    return s != NULL ? __atomic_load_n(&s->sub_seq, __ATOMIC_ACQUIRE) : 0;
}

void push_shm_interest(push_shm_t *s,
                       void (*fn)(void *ctx, const char *chan,
                                  size_t chan_len, uint32_t subscribers),
                       void *ctx)
{
    uint32_t i;

    if (s == NULL) {
        return;
    }
    shm_lock(s);
    for (i = 0; i < s->nslots; i++) {
        chan_t *c = slot_at(s, i);

        if (c->in_use && c->subscribers != 0) {
            fn(ctx, chan_id(s, c), c->id_len, c->subscribers);
        }
    }
    shm_unlock(s);
}
