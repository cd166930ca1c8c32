/* push_sub.c — a subscriber and its one delivery step (see push_sub.h). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/push_sub.h"

int64_t push_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void push_sub_count(const push_sub_t *s, int delta)
{
    push_counters_subscriber(s->env->counters, s->t->id, delta);
}

void push_sub_release(push_sub_t *s)
{
    unsigned i;

    if (!s->channel) {
        return;     /* a publisher's WebSocket: nothing was subscribed */
    }
    push_sub_count(s, -1);
    for (i = 0; i <= s->nmore; i++) {
        push_sub_t *m = push_sub_member(s, i);

        push_store_unsubscribe(&s->env->store, &m->ref);
        if (s->env->left) {
            s->env->left(m);
        }
    }
}

static int member_hold(push_sub_t *s, uint64_t bound)
{
    /* No cursor: it starts at the oldest buffered, all of which it
     * holds. */
    push_msgid_t zero = {0, 0};
    uint64_t pos = 0;
    push_status_e st;

    s->bound = bound;
    st = push_store_hold(&s->env->store, &s->ref,
                         s->has_cursor ? &s->cursor : &zero, bound, &pos);
    s->pos = s->chan_pos = pos;
    return st == PUSH_OK ? 0 : -1;
}

int push_sub_hold(push_sub_t *s, uint64_t bound)
{
    int rc = 0;
    unsigned i;

    for (i = 0; i <= s->nmore; i++) {
        rc |= member_hold(push_sub_member(s, i), bound);
    }
    return rc;
}

void push_sub_took(push_sub_t *s, const push_message_t *msg)
{
    push_sub_t *m = push_sub_member(s, s->active);

    m->cursor = msg->id;
    m->has_cursor = 1;
    m->pos = msg->pos;
    m->chan_pos = msg->chan_pos;
}

/* A multiplexed subscriber's multi-id: every channel's cursor, with
 * channel `active` at *at when at is not NULL. */
static size_t mux_id(const push_sub_t *s, unsigned active,
                     const push_msgid_t *at, char *buf)
{
    push_msgid_t cursors[PUSH_MUX_MAX];
    int has[PUSH_MUX_MAX];
    unsigned i;

    for (i = 0; i <= s->nmore; i++) {
        const push_sub_t *m = i ? s->more[i - 1] : s;

        cursors[i] = m->cursor;
        has[i] = m->has_cursor;
    }
    if (at) {
        cursors[active] = *at;
        has[active] = 1;
    }
    return push_mux_id_format(cursors, has, s->nmore + 1, active, buf);
}

size_t push_sub_where(const push_sub_t *s, char *buf)
{
    push_msgid_t none = {0, 0};

    return s->nmore ? mux_id(s, 0, NULL, buf)
                    : push_msgid_format(s->has_cursor ? &s->cursor : &none,
                                        buf);
}

size_t push_sub_id_text(const push_sub_t *s, const push_msgid_t *id,
                        char *buf)
{
    return s->nmore ? mux_id(s, s->active, id, buf)
                    : push_msgid_format(id, buf);
}

/* ------------------------------------------------------------------ */
/* Wake-ups                                                             */

static int env_stopping(const push_env_t *e)
{
    if (e->stopping && e->stopping()) {
        push_notify_shutdown(e->notify);
        return 1;
    }
    return 0;
}

push_notify_gen_t *push_env_watch(const push_env_t *e, uint32_t chan)
{
    env_stopping(e);
    return push_notify_watch(e->notify, chan);
}

push_notify_gen_t *push_env_rewatch(const push_env_t *e, uint32_t chan,
                                    push_notify_gen_t *gen)
{
    env_stopping(e);
    return push_notify_rewatch(e->notify, chan, gen);
}

void push_env_unwatch(const push_env_t *e, uint32_t chan,
                      push_notify_gen_t *gen)
{
    if (gen) {
        push_notify_unwatch(e->notify, chan, gen);
    }
}

/* ------------------------------------------------------------------ */
/* Looking and delivering                                               */

/* Where a look starts from, as a hint names it. */
static push_msgid_t look_from(const push_sub_t *s)
{
    push_msgid_t none = {0, 0};

    return s->has_cursor ? s->cursor : none;
}

void push_sub_hint(push_sub_t *s, uint32_t version, const push_msgid_t *after)
{
    s->hint_valid = 1;
    s->hint_version = version;
    s->hint_after = *after;
}

static push_status_e member_look(push_sub_t *s, int64_t now,
                                 push_copy_fn copy, void *copy_ctx,
                                 push_message_t *msg, int *gap,
                                 push_msgid_t *gap_id)
{
    push_msgid_t from = look_from(s);
    push_status_e st;

    if (gap) {
        *gap = 0;
    }
    if (s->hint_valid && push_msgid_cmp(&from, &s->hint_after) == 0
        && push_store_version(&s->env->store, s->ref.chan)
           == s->hint_version) {
        /* Nothing published or deleted since a look from here found no
         * more: no need to take the store's lock. */
        return PUSH_NONE;
    }
    st = push_store_next(&s->env->store, &s->ref,
                         s->has_cursor ? &s->cursor : NULL, now / 1000000,
                         copy, copy_ctx, msg, gap, gap_id);
    s->hint_valid = 0;
    if ((st == PUSH_NONE
         || (st == PUSH_FOUND && s->ref.reader == PUSH_NO_READER_ID))
        && msg->newest) {
        /* Nothing after what this look found (or after the cursor).  A
         * subscriber with a hold of its own is not spared the look after
         * the message it found: that look is what moves its hold past
         * the message, so that the message can go. */
        push_sub_hint(s, msg->version, st == PUSH_FOUND ? &msg->id : &from);
    }
    return st;
}

/* A look at channel i of a multiplexed subscriber for the place of its
 * next message only (no copy). */
static push_status_e mux_probe(push_sub_t *s, unsigned i, int64_t now,
                               uint64_t *seq)
{
    push_message_t probe;
    push_status_e st = member_look(push_sub_member(s, i), now, NULL, NULL,
                                   &probe, NULL, NULL);

    *seq = probe.seq;
    if (st == PUSH_GONE) {
        s->active = i;
    }
    return st;
}

/* Which of a multiplexed subscriber's channels has the message published
 * first (its index; -1: none has one; -2 after setting s->active to a
 * deleted one).  Each look takes the store's lock on its own, so a
 * channel found empty before the chosen one was looked at may have had
 * an earlier message published in between.  That message was published
 * before the chosen one, so one more look at those channels, after all
 * the others, sees it, and anything earlier still with it. */
static int mux_first(push_sub_t *s, int64_t now)
{
    unsigned char empty[PUSH_MUX_MAX];
    uint64_t first = UINT64_MAX, seq;
    unsigned i, chosen;
    int best = -1;

    for (i = 0; i <= s->nmore; i++) {
        push_status_e st = mux_probe(s, i, now, &seq);

        if (st == PUSH_GONE) {
            return -2;
        }
        empty[i] = st != PUSH_FOUND;
        if (!empty[i] && (best < 0 || seq < first)) {
            first = seq;
            best = (int)i;
        }
    }
    if (best < 0) {
        return -1;
    }
    for (i = 0, chosen = (unsigned)best; i < chosen; i++) {
        push_status_e st;

        if (!empty[i]) {
            continue;
        }
        st = mux_probe(s, i, now, &seq);
        if (st == PUSH_GONE) {
            return -2;
        }
        if (st == PUSH_FOUND && seq < first) {
            first = seq;
            best = (int)i;
        }
    }
    return best;
}

push_status_e push_sub_look(push_sub_t *s, int64_t now, push_copy_fn copy,
                            void *copy_ctx, push_message_t *msg, int *gap,
                            push_msgid_t *gap_id)
{
    int tries;

    if (!s->channel) {
        memset(msg, 0, sizeof(*msg));
        return PUSH_NONE;   /* it follows no channel */
    }
    if (!s->nmore) {
        s->active = 0;
        return member_look(s, now, copy, copy_ctx, msg, gap, gap_id);
    }
    if (gap) {
        *gap = 0;
    }
    memset(msg, 0, sizeof(*msg));
    for (tries = 0; tries < 4; tries++) {
        int best = mux_first(s, now);
        push_status_e st;

        if (best == -2) {
            return PUSH_GONE;
        }
        if (best < 0) {
            return PUSH_NONE;
        }
        s->active = (unsigned)best;
        st = member_look(push_sub_member(s, s->active), now, copy, copy_ctx,
                         msg, gap, gap_id);
        if (st != PUSH_NONE) {
            return st;
        }
        /* It went between the looks (expired, evicted): choose again. */
    }
    return PUSH_NONE;
}

/* One delivery's look: the encoding from the cache when this process has
 * it, else a copy of the message to build it from. */
typedef struct {
    push_frame_cache_t *frames;
    push_frame_key_t    key;
    push_frame_t       *frame;   /* found in the cache */
    void               *copy;    /* or the message's copy (malloc) */
} deliver_look;

/* Under the store's lock: one look at the cache, never a wait. */
static void *want(void *ctx, const push_msgid_t *id, size_t size)
{
    deliver_look *d = ctx;

    d->key.id = *id;
    if (d->frames && (d->frame = push_frame_cache_get(d->frames, &d->key))) {
        return NULL;
    }
    return d->copy = malloc(size);
}

/* The encoding of msg (copied in d): the one another thread of this
 * process built meanwhile, or built here and cached for the others. */
static push_frame_t *encoding(push_sub_t *s, deliver_look *d,
                              const push_message_t *msg)
{
    push_frame_t *f;
    int must_build = 1;

    if (d->frames) {
        /* Waits while another thread builds it: N subscribers woken at
         * once cost one build. */
        f = push_frame_cache_acquire(d->frames, &d->key, &must_build);
        if (f) {
            push_counters_encoding(s->env->counters, 1);
            return f;
        }
    }
    f = s->t->encode(s, msg);
    if (!f) {
        if (d->frames) {
            push_frame_cache_abandon(d->frames, &d->key);
        }
        return NULL;
    }
    push_counters_encoding(s->env->counters, 0);
    return d->frames ? push_frame_cache_put(d->frames, &d->key, f) : f;
}

/* What a batch may take: one write (one syscall, one flush) for up to
 * this many messages or bytes, so a subscriber behind by many messages
 * catches up in few writes. */
#define DELIVER_BATCH       32
#define DELIVER_BATCH_BYTES (64 * 1024)
_Static_assert(DELIVER_BATCH + 1 <= PUSH_SINK_MAX_IOV,
               "a batch and its notice fit one sink write");

/* The encoding of the message d's look found (NULL: out of memory). */
static push_frame_t *looked_frame(push_sub_t *s, deliver_look *d,
                                  const push_message_t *msg)
{
    push_frame_t *f;

    if (d->frame) {
        push_counters_encoding(s->env->counters, 1);
        return d->frame;
    }
    if (!d->copy) {
        return NULL;        /* no memory for the copy */
    }
    f = encoding(s, d, msg);
    free(d->copy);
    return f;
}

static void look_release(deliver_look *d)
{
    if (d->frame) {
        push_frame_release(d->frames, d->frame);
    }
    free(d->copy);
}

push_deliver_e push_sub_deliver(push_sub_t *s, int64_t now)
{
    push_sink_t *k = s->sink;

    while (!k->gone && !k->pending(k)) {
        push_frame_t *frames[DELIVER_BATCH];
        struct iovec v[DELIVER_BATCH + 1];
        char notice[PUSH_NOTICE_MAX];
        push_deliver_e end = PUSH_DELIVER_BLOCKED;   /* BLOCKED: go on */
        size_t bytes = 0;
        int nf = 0, nv = 0, noticed = 0, i;

        int batch = s->t->flags & PUSH_T_ONE_A_WRITE ? 1 : DELIVER_BATCH;

        while (nf < batch && bytes < DELIVER_BATCH_BYTES) {
            deliver_look d;
            push_message_t msg;
            push_msgid_t gap_id;
            push_status_e st;
            push_frame_t *f;
            size_t nlen = 0;
            int gap = 0;

            memset(&d, 0, sizeof(d));
            /* A multiplexed subscriber's ids are its own: its encodings
             * are not shared. */
            d.frames = s->nmore ? NULL : s->env->frames;
            d.key.chan = s->ref.chan;
            d.key.gen = s->ref.gen;
            d.key.variant = s->t->variant(s);
            st = push_sub_look(s, now, want, &d, &msg, &gap, &gap_id);
            if (st != PUSH_FOUND) {
                s->live |= st != PUSH_GONE;
                end = st == PUSH_GONE ? PUSH_DELIVER_GONE : PUSH_DELIVER_IDLE;
                break;
            }
            if (gap && noticed) {
                look_release(&d);   /* one notice a write: the next one */
                break;
            }
            if (gap && s->t->gap_notice) {
                nlen = s->t->gap_notice(s, &gap_id, notice, sizeof(notice));
            }
            if (gap && nlen == PUSH_NOTICE_END && nf > 0) {
                look_release(&d);   /* what came before goes out first */
                break;
            }
            if (gap) {
                push_counters_gap(s->env->counters);
                if (s->env->gap) {
                    s->env->gap(s, &gap_id);
                }
                if (nlen == PUSH_NOTICE_END) {
                    /* Nothing more is written: the client resumes from
                     * the cursor it has, and is told of the gap there. */
                    look_release(&d);
                    return PUSH_DELIVER_GAP;
                }
                noticed = 1;
            }
            s->live = 1;
            if (!(f = looked_frame(s, &d, &msg))) {
                end = PUSH_DELIVER_FAILED;
                break;
            }
            if (nlen > 0) {
                /* Said before the message, in the same write, so it is
                 * said once even when the socket is full. */
                v[nv].iov_base = notice;
                v[nv++].iov_len = nlen;
            }
            v[nv].iov_base = f->data;
            v[nv++].iov_len = f->len;
            frames[nf++] = f;
            bytes += f->len;
            push_sub_took(s, &msg);
            s->delivered++;
        }
        if (nv > 0) {
            push_sink_rc rc = push_sink_write(k, v, nv);

            for (i = 0; i < nf; i++) {
                push_frame_release(s->env->frames, frames[i]);
            }
            if (rc == PUSH_SINK_GONE) {
                return PUSH_DELIVER_CLOSED;
            }
        }
        if (end != PUSH_DELIVER_BLOCKED) {
            return end;
        }
    }
    return k->gone ? PUSH_DELIVER_CLOSED : PUSH_DELIVER_BLOCKED;
}

int push_sub_read(push_sub_t *s, push_source_t *src, int *got)
{
    unsigned char buf[16384];
    size_t taken = 0;

    *got = 0;
    for (;;) {
        long n;

        if (taken >= PUSH_READ_BUDGET) {
            return PUSH_INPUT_MORE;
        }
        n = src->read(src, buf, sizeof(buf));

        if (n == PUSH_SOURCE_AGAIN) {
            return 0;
        }
        if (n <= 0) {
            return PUSH_INPUT_CLOSED;
        }
        *got = 1;
        taken += (size_t)n;
        if (s->t->on_input(s, buf, (size_t)n)) {
            return PUSH_INPUT_END;
        }
        if (s->sink && s->sink->gone) {
            return PUSH_INPUT_CLOSED;
        }
    }
}
