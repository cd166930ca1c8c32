/* push_mirror.c — a server's copy of a Redis channel (see push_mirror.h). */
#include <stdio.h>
#include <string.h>

#include "redis/push_mirror.h"

static push_message_t as_message(const push_redis_msg_t *m)
{
    push_message_t msg;

    memset(&msg, 0, sizeof(msg));
    msg.id = m->id;
    msg.body = m->body;
    msg.body_len = m->body_len;
    msg.content_type = m->content_type ? m->content_type : "";
    msg.content_type_len = m->content_type_len;
    msg.event = m->event ? m->event : "";
    msg.event_len = m->event_len;
    return msg;
}

int push_mirror_apply(const push_store_t *store, const char *chan,
                      size_t chan_len, const push_redis_published_t *n,
                      const push_redis_msg_t *m, int64_t now,
                      push_channel_info_t *after)
{
    push_message_t msg = as_message(m);
    push_limits_t lim;
    push_status_e st;

    /* The publisher's own message after a hole Redis left past its floor
     * (Redis went back): no message has that id, so it is a gap here
     * as everywhere, and the message follows it. */
    if (n->hole && push_store_lost(store, chan, chan_len, &n->prev, now)
                   != PUSH_OK) {
        return -1;
    }
    lim.buffer_length = n->keep;
    lim.timeout = n->timeout;
    msg.id = n->id;
    /* With its epoch: a copy of another (whose ids may be this one's for
     * other messages) refuses it, and the catch-up settles that with a
     * gap; "had already" would be a silent loss. */
    st = push_store_publish_id(store, chan, chan_len, &msg, &n->prev,
                               n->epoch, &lim, now, after);
    if (st == PUSH_OK || st == PUSH_DUPLICATE) {
        return 0;
    }
    return st == PUSH_OUT_OF_ORDER ? 1 : -1;
}

static int store_failed(char *err, size_t errlen, push_status_e st)
{
    snprintf(err, errlen, "the store refused a message from Redis (%s)",
             st == PUSH_TOO_BIG ? "too big for the store"
             : st == PUSH_NO_CHANNEL_SLOT ? "no channel slot left"
             : "status");
    return -2;
}

int push_mirror_catch_up(const push_store_t *store, push_redis_conn_t *c,
                         const char *prefix, const char *chan,
                         size_t chan_len, int64_t now, int timeout_ms,
                         char *err, size_t errlen)
{
    push_redis_keys_t k;
    int rounds, rc = 0;

    if (push_redis_keys(&k, prefix, chan, chan_len) != 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    /* Each round reads a batch after the copy's last id; a round that
     * loses a race with the other path (the copy moved meanwhile) just
     * reads again from where the copy is. */
    for (rounds = 0; rounds < 64; rounds++) {
        push_channel_info_t info;
        push_redis_state_t st;
        push_msgid_t last = { 0, 0 };
        push_limits_t lim;
        push_status_e s;
        push_msgid_t gap = { 0, 0 };
        uint64_t origin = 0;
        unsigned i;
        int raced = 0, other_epoch;

        if (push_store_info(store, chan, chan_len, now, &info) == PUSH_OK) {
            last = info.last_id;
            origin = info.origin;
        }
        if (push_redis_read(c, &k, &last, PUSH_MIRROR_BATCH, timeout_ms, &st,
                            err, errlen) != 0) {
            rc = -1;
            break;
        }
        /* Redis lost the channel and made it again since this copy's ids
         * came: what it issued since may reuse ids the copy has for other
         * messages. */
        other_epoch = st.exists && origin != 0 && st.epoch != 0
                      && st.epoch != origin;
        if ((last.time || last.tag)
            && (!st.exists || push_msgid_cmp(&st.last, &last) < 0
                || (other_epoch && push_msgid_cmp(&st.last, &last) == 0))) {
            /* Redis went back past this copy: it lost the channel, or
             * its tail (restarted without persistence, a failover).  Its
             * ids from here on must not be ones the copy has given other
             * messages, and what it lost is a gap. */
            push_msgid_t to;
            uint64_t epoch = 0;
            int raised;

            push_redis_state_free(&st);
            raised = push_redis_floor(c, &k, &last, timeout_ms, &to, &epoch,
                                      err, errlen);
            if (raised < 0) {
                rc = -1;
                break;
            }
            /* The gap made, the copy goes on in Redis' epoch (after what
             * it has, as the floor now is), in one step: another process
             * that read the copy meanwhile sees both or neither.  When
             * one moved the copy on first, the next round reads it. */
            s = !raised ? PUSH_OK
                : epoch != 0
                ? push_store_mirror_epoch(store, chan, chan_len, origin,
                                          epoch, &to, now)
                : push_store_lost(store, chan, chan_len, &to, now);
            if (s != PUSH_OK && s != PUSH_OUT_OF_ORDER) {
                rc = store_failed(err, errlen, s);
                break;
            }
            continue;               /* read again, from the new last */
        }
        if (!st.exists) {
            push_redis_state_free(&st);
            break;                  /* nothing published there (yet) */
        }
        lim.buffer_length = st.keep;
        lim.timeout = st.timeout;
        /* One gap at most, recorded in one step with the epoch below.
         * What Redis issued after our last id but no longer has: */
        if (st.n == 0 && push_msgid_cmp(&st.last, &last) > 0) {
            gap = st.last;
        }
        else if (st.n > 0 && push_msgid_cmp(&st.msgs[0].prev, &last) > 0) {
            gap = st.msgs[0].prev;
        }
        else if (st.n > 0) {
            /* The first one after our last id names a previous id before
             * ours: Redis went back (it lost what the copy has after
             * that), and a gap just before the first new one says so,
             * when there is an id between ours and it to mark.  When it
             * comes from another epoch and names a previous id at or
             * before ours, Redis issued again ids this copy has, for
             * other messages: those are missed here, and when no id is
             * free to mark it the first new one is the gap (lost here,
             * not delivered as if nothing was missed). */
            const push_msgid_t *fp = &st.msgs[0].prev;
            int reissued = other_epoch && (fp->time || fp->tag)
                           && push_msgid_cmp(fp, &last) <= 0;

            if (reissued || push_msgid_cmp(fp, &last) < 0) {
                push_msgid_t before = push_msgid_prev(st.msgs[0].id);

                if (reissued && push_msgid_cmp(&before, &last) <= 0) {
                    before = st.msgs[0].id;
                }
                if (push_msgid_cmp(&before, &last) > 0) {
                    gap = before;
                }
            }
        }
        /* The gap, and the copy's new epoch with it in one step (a copy
         * another process moved on first is read again). */
        if (other_epoch || (origin == 0 && st.epoch != 0)) {
            s = push_store_mirror_epoch(store, chan, chan_len, origin,
                                        st.epoch, gap.time || gap.tag
                                        ? &gap : NULL, now);
        }
        else {
            s = gap.time || gap.tag
                ? push_store_lost(store, chan, chan_len, &gap, now)
                : PUSH_OK;
        }
        if (s == PUSH_OUT_OF_ORDER) {
            push_redis_state_free(&st);
            continue;
        }
        if (s != PUSH_OK && s != PUSH_NOT_FOUND) {
            push_redis_state_free(&st);
            rc = store_failed(err, errlen, s);
            break;
        }
        if (gap.time || gap.tag) {
            last = gap;
        }
        for (i = 0; i < st.n && !raced; i++) {
            push_message_t msg = as_message(&st.msgs[i]);
            /* After the case above, the first follows on from what we
             * have: waiting for its previous one would wait for ever. */
            const push_msgid_t *prev =
                i == 0 && push_msgid_cmp(&st.msgs[0].prev, &last) < 0
                ? NULL : &st.msgs[i].prev;

            if (push_msgid_cmp(&msg.id, &last) <= 0) {
                continue;           /* the gap itself (above) */
            }

            s = push_store_publish_id(store, chan, chan_len, &msg, prev,
                                      st.epoch, &lim, now, NULL);
            if (s == PUSH_TOO_BIG) {
                /* Redis took it, this store never can: a gap here, told
                 * to the subscribers, instead of a channel stuck on it. */
                s = push_store_lost(store, chan, chan_len, &msg.id, now);
            }
            if (s == PUSH_OUT_OF_ORDER) {
                raced = 1;
            }
            else if (s != PUSH_OK && s != PUSH_DUPLICATE) {
                push_redis_state_free(&st);
                rc = store_failed(err, errlen, s);
                goto done;
            }
        }
        i = st.n;
        push_redis_state_free(&st);
        if (!raced && i < PUSH_MIRROR_BATCH) {
            break;
        }
    }
    if (rounds == 64) {
        rc = 1;                     /* more to read: not caught up yet */
    }
done:
    push_redis_keys_free(&k);
    return rc;
}
