/* push_loop.c — the stream loop (see push_loop.h). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "core/push_loop.h"

/* epoll tags: the first int of whatever an event points at. */
enum { KIND_WAKE = 1, KIND_CHAN, KIND_ITEM };

/* A channel this process's items follow: one wake-up registration. */
struct push_loop_chan {
    int                kind;          /* KIND_CHAN */
    uint32_t           chan;          /* the followers' ref.chan */
    push_notify_gen_t *gen;
    int                fd;            /* in the epoll set, or -1 */
    push_loop_item_t  *followers;
    push_loop_chan_t  *hnext;         /* hash chain */
    push_loop_chan_t  *next_dead;
    /* The hold for the followers' subs (ref.reader none: no hold yet),
     * where it is, and the turn's list of channels whose subs moved. */
    push_store_ref_t   ref;
    uint64_t           held_pos;
    uint64_t           held_bound;
    uint64_t           held_pace;
    int                moved;
    push_loop_chan_t  *next_moved;
};

/* The items due after the same interval, in due order. */
struct push_loop_timer {
    int64_t            every;
    push_loop_item_t  *head, *tail;
    push_loop_timer_t *next;
};

struct push_loop {
    int                kind;          /* KIND_WAKE */
    const push_env_t  *env;
    int                epfd, wakefd;
    pthread_t          thread;
    int                started;
    pthread_mutex_t    lock;          /* incoming, quit */
    push_loop_item_t  *incoming;      /* handed over, not yet adopted */
    int                quit;
    uint32_t           stopping;      /* the process is stopping */
    uint32_t           abandon;       /* ... at once: touch nothing */
    int                stop_seen;
    int64_t            grace;
    void             (*turn)(void *);
    void              *baton;
    push_loop_timer_t *timers[PUSH_DL_KINDS];
    push_loop_item_t  *reap;          /* ended, to finish */
    push_loop_item_t  *ready;         /* push_loop_ready's, for next turn */
    push_loop_chan_t **buckets;       /* channels by chan */
    uint32_t           nbuckets;      /* a power of two */
    uint32_t           nchans;
    push_loop_chan_t  *dead_chans;    /* freed after the epoll batch */
    push_loop_chan_t  *moved;         /* holds to move this turn */
};

/* ------------------------------------------------------------------ */
/* Deadlines                                                            */

static void dl_unset(push_loop_item_t *it, push_loop_dl_e k)
{
    push_loop_deadline_t *d = &it->dl[k];
    push_loop_timer_t *t = d->timer;

    if (!t) {
        return;
    }
    if (d->prev) d->prev->dl[k].next = d->next; else t->head = d->next;
    if (d->next) d->next->dl[k].prev = d->prev; else t->tail = d->prev;
    d->prev = d->next = NULL;
    d->timer = NULL;
}

static void dl_set(push_loop_item_t *it, push_loop_dl_e k, int64_t every,
                   int64_t now)
{
    push_loop_t *l = it->loop;
    push_loop_deadline_t *d = &it->dl[k];
    push_loop_timer_t *t;

    dl_unset(it, k);
    if (every <= 0) {
        return;
    }
    for (t = l->timers[k]; t && t->every != every; t = t->next)
        ;
    if (!t) {
        if (!(t = calloc(1, sizeof(*t)))) {
            return;
        }
        t->every = every;
        t->next = l->timers[k];
        l->timers[k] = t;
    }
    d->timer = t;
    d->due = now + every;
    d->prev = t->tail;
    d->next = NULL;
    if (t->tail) t->tail->dl[k].next = it; else t->head = it;
    t->tail = it;
}

void push_loop_untimed(push_loop_item_t *it)
{
    dl_unset(it, PUSH_DL_TIMER);
}

void push_loop_timer(push_loop_item_t *it, int64_t every, int64_t now)
{
    dl_set(it, PUSH_DL_TIMER, every, now);
}

void push_loop_touch(push_loop_item_t *it, int64_t now)
{
    if (it->dl[PUSH_DL_TIMER].timer) {
        dl_set(it, PUSH_DL_TIMER, it->dl[PUSH_DL_TIMER].timer->every, now);
    }
}

void push_loop_expiry(push_loop_item_t *it, int64_t every, int64_t now)
{
    dl_set(it, PUSH_DL_EXPIRY, every, now);
}

void push_loop_unexpire(push_loop_item_t *it)
{
    dl_unset(it, PUSH_DL_EXPIRY);
}

/* Runs what is due; the time until the next deadline, or -1. */
static int64_t timers_due(push_loop_t *l, int64_t now)
{
    int64_t wait = -1;
    int k;

    for (k = 0; k < PUSH_DL_KINDS; k++) {
        push_loop_timer_t *t;

        for (t = l->timers[k]; t; t = t->next) {
            push_loop_item_t *it;

            /* The callback takes it off this list or puts it at the end,
             * later. */
            while ((it = t->head) != NULL && it->dl[k].due <= now) {
                if (k == PUSH_DL_TIMER) {
                    it->ops->due(it, now);
                }
                else if (it->ops->expired) {
                    it->ops->expired(it, now);
                }
                if (t->head == it && it->dl[k].due <= now) {
                    dl_unset(it, (push_loop_dl_e)k);   /* not re-armed */
                }
            }
            if (it && (wait < 0 || it->dl[k].due - now < wait)) {
                wait = it->dl[k].due - now;
            }
        }
    }
    return wait;
}

/* ------------------------------------------------------------------ */
/* The descriptor                                                       */

static int epoll_set(push_loop_t *l, int op, int fd, uint32_t events,
                     void *tag)
{
    struct epoll_event ev;

    memset(&ev, 0, sizeof(ev));
    ev.events = events;
    ev.data.ptr = tag;
    return epoll_ctl(l->epfd, op, fd, &ev);
}

int push_loop_watch(push_loop_item_t *it, uint32_t events)
{
    int rv = epoll_set(it->loop, it->in_epoll ? EPOLL_CTL_MOD : EPOLL_CTL_ADD,
                       it->fd, events, it);

    if (rv == 0) {
        it->in_epoll = 1;
        it->events = events;
    }
    return rv;
}

void push_loop_unwatch(push_loop_item_t *it)
{
    if (it->in_epoll) {
        epoll_ctl(it->loop->epfd, EPOLL_CTL_DEL, it->fd, NULL);
        it->in_epoll = 0;
        it->events = 0;
    }
}

void push_loop_ready(push_loop_item_t *it)
{
    push_loop_t *l = it->loop;

    if (!it->ready && !it->ended) {
        it->ready = 1;
        it->ready_next = l->ready;
        l->ready = it;
    }
}

static void ready_drop(push_loop_item_t *it)
{
    push_loop_item_t **pp = &it->loop->ready;

    if (!it->ready) {
        return;
    }
    while (*pp && *pp != it) {
        pp = &(*pp)->ready_next;
    }
    /* Not found: it is in the batch ready_run is going through, which
     * skips it (ended) and unlinks it itself. */
    if (*pp) {
        *pp = it->ready_next;
        it->ready = 0;
        it->ready_next = NULL;
    }
}

/* The items asked for by push_loop_ready before this turn; any they ask
 * for now wait for the next. */
static void ready_run(push_loop_t *l)
{
    push_loop_item_t *it = l->ready;

    l->ready = NULL;
    while (it && !push_loop_is_abandoned(l)) {
        push_loop_item_t *next = it->ready_next;

        it->ready = 0;
        it->ready_next = NULL;
        if (!it->ended && it->in_epoll) {
            it->ops->io(it, EPOLLIN);
        }
        it = next;
    }
}

/* ------------------------------------------------------------------ */
/* Channels: one wake-up registration each                              */

static push_loop_chan_t **chan_link(push_loop_t *l, uint32_t chan)
{
    /* Fibonacci hashing: channel numbers are often small and dense. */
    uint32_t h = (chan * 2654435769u) & (l->nbuckets - 1);
    push_loop_chan_t **pp = &l->buckets[h];

    while (*pp && (*pp)->chan != chan) {
        pp = &(*pp)->hnext;
    }
    return pp;
}

/* Twice the buckets once there are more channels than buckets. */
static void chans_grow(push_loop_t *l)
{
    uint32_t i, old = l->nbuckets;
    push_loop_chan_t **was = l->buckets;
    push_loop_chan_t **b = calloc((size_t)old * 2, sizeof(*b));

    if (!b) {
        return;     /* longer chains, still correct */
    }
    l->buckets = b;
    l->nbuckets = old * 2;
    for (i = 0; i < old; i++) {
        push_loop_chan_t *ch, *next;

        for (ch = was[i]; ch; ch = next) {
            push_loop_chan_t **pp = chan_link(l, ch->chan);

            next = ch->hnext;
            ch->hnext = *pp;
            *pp = ch;
        }
    }
    free(was);
}

/* ------------------------------------------------------------------ */
/* Holds                                                                */

/* Moves the channel's hold to its slowest follower that is within its
 * bound (one further behind is let go: it is told of its gap when it
 * catches up), and ends it when no follower wants one.  Its pace is the
 * slowest of those whose sockets take what they are sent: how far this
 * loop could have gone, whatever its clients do. */
static void chan_hold(push_loop_t *l, push_loop_chan_t *ch)
{
    const push_store_t *store = &l->env->store;
    uint64_t newest = 0, low = UINT64_MAX, pace = PUSH_NO_PACE, bound = 0;
    push_loop_item_t *it;
    int any = 0;

    for (it = ch->followers; it; it = it->c_next) {
        if (it->sub && it->sub->bound) {
            any = 1;
            if (it->sub->chan_pos > newest) newest = it->sub->chan_pos;
            if (it->sub->pos > newest) newest = it->sub->pos;
            if (it->sub->bound > bound) bound = it->sub->bound;
        }
    }
    if (!any) {
        push_store_unhold(store, &ch->ref);
        return;
    }
    for (it = ch->followers; it; it = it->c_next) {
        push_sub_t *s = it->sub;

        if (s && s->bound && newest - s->pos <= s->bound) {
            if (s->pos < low) {
                low = s->pos;
            }
            if (s->pos < pace && !s->sink->pending(s->sink)) {
                pace = s->pos;
            }
        }
    }
    if (low == UINT64_MAX) {
        low = newest;
    }
    if (ch->ref.reader == PUSH_NO_READER_ID) {
        if (push_store_hold(store, &ch->ref, NULL, bound, NULL) != PUSH_OK) {
            return;     /* the followers keep their own holds */
        }
        ch->held_pos = UINT64_MAX;
    }
    if (low != ch->held_pos || bound != ch->held_bound
        || pace != ch->held_pace) {
        push_store_hold_at(store, &ch->ref, low, bound, pace);
        ch->held_pos = low;
        ch->held_bound = bound;
        ch->held_pace = pace;
    }
}

/* The channel's hold is to be moved at the end of this turn. */
static void chan_moved(push_loop_t *l, push_loop_chan_t *ch)
{
    if (!ch->moved) {
        ch->moved = 1;
        ch->next_moved = l->moved;
        l->moved = ch;
    }
}

void push_loop_moved(push_loop_item_t *it)
{
    push_loop_item_t *m;

    if (it->chan && it->sub) {
        chan_moved(it->loop, it->chan);
    }
    for (m = it->members; m; m = m->m_next) {
        if (m->chan && m->sub) {
            chan_moved(m->loop, m->chan);
        }
    }
}

/* Once per turn: the holds of the channels whose followers moved. */
static void holds_move(push_loop_t *l)
{
    while (l->moved) {
        push_loop_chan_t *ch = l->moved;

        l->moved = ch->next_moved;
        ch->moved = 0;
        if (ch->gen) {        /* not released in this batch */
            chan_hold(l, ch);
        }
    }
}

static void chan_release(push_loop_t *l, push_loop_chan_t *ch)
{
    push_loop_chan_t **pp = chan_link(l, ch->chan);

    if (ch->fd >= 0) {
        epoll_ctl(l->epfd, EPOLL_CTL_DEL, ch->fd, NULL);
        ch->fd = -1;
    }
    push_env_unwatch(l->env, ch->chan, ch->gen);
    ch->gen = NULL;
    push_store_unhold(&l->env->store, &ch->ref);
    if (*pp == ch) {
        *pp = ch->hnext;
    }
    l->nchans--;
    /* An event for it may still be in this epoll batch. */
    ch->next_dead = l->dead_chans;
    l->dead_chans = ch;
}

static push_loop_chan_t *chan_get(push_loop_t *l, uint32_t chan)
{
    push_loop_chan_t **pp = chan_link(l, chan), *ch;

    if (*pp) {
        return *pp;
    }
    if (!(ch = calloc(1, sizeof(*ch)))) {
        return NULL;
    }
    ch->kind = KIND_CHAN;
    ch->chan = chan;
    ch->fd = -1;
    ch->ref.reader = PUSH_NO_READER_ID;
    /* Registered before any follower looks in the store: a publish after
     * the look is sure to fire it. */
    if (!(ch->gen = push_env_watch(l->env, chan))) {
        free(ch);
        return NULL;
    }
    ch->fd = push_notify_fd(ch->gen);
    if (epoll_set(l, EPOLL_CTL_ADD, ch->fd, EPOLLIN, ch) != 0) {
        push_env_unwatch(l->env, chan, ch->gen);
        free(ch);
        return NULL;
    }
    *pp = ch;
    if (++l->nchans > l->nbuckets) {
        chans_grow(l);
    }
    return ch;
}

static int follow_one(push_loop_item_t *it, const push_store_ref_t *ref)
{
    push_loop_t *l = it->loop;
    push_loop_chan_t *ch;

    if (it->chan || __atomic_load_n(&l->abandon, __ATOMIC_ACQUIRE)
        || !(ch = chan_get(l, ref->chan))) {
        return -1;
    }
    it->chan = ch;
    it->c_prev = NULL;
    it->c_next = ch->followers;
    if (ch->followers) {
        ch->followers->c_prev = it;
    }
    ch->followers = it;
    if (it->sub && it->sub->bound) {
        const push_store_t *store = &l->env->store;

        if (ch->ref.gen != ref->gen || ch->ref.chan != ref->chan) {
            /* A channel deleted and made again under the same number:
             * the hold is for the new one. */
            push_store_unhold(store, &ch->ref);
            ch->ref.chan = ref->chan;
            ch->ref.gen = ref->gen;
            ch->ref.reader = PUSH_NO_READER_ID;
        }
        /* The channel's hold covers the sub before the sub's own ends.
         * A follower at or past where the channel holds, and within the
         * hold's bound of it (the store keeps nothing for a hold further
         * behind than that), is covered as the hold stands: looking over every follower for each one
         * that joins would cost the loop a pass over thousands for
         * each of thousands. */
        if (ch->ref.reader != PUSH_NO_READER_ID
            && it->sub->pos >= ch->held_pos
            && it->sub->pos - ch->held_pos <= ch->held_bound
            && it->sub->bound <= ch->held_bound) {
            if (it->sub->pos < ch->held_pace) {
                chan_moved(l, ch);  /* the pace, at the turn's end */
            }
        }
        else {
            chan_hold(l, ch);
        }
        if (ch->ref.reader != PUSH_NO_READER_ID) {
            push_store_unhold(store, &it->sub->ref);
        }
    }
    return 0;
}

static void unfollow_one(push_loop_item_t *it)
{
    push_loop_chan_t *ch = it->chan;

    if (!ch) {
        return;
    }
    if (it->c_prev) it->c_prev->c_next = it->c_next;
    else ch->followers = it->c_next;
    if (it->c_next) it->c_next->c_prev = it->c_prev;
    it->chan = NULL;
    it->c_prev = it->c_next = NULL;
    if (!ch->followers) {
        chan_release(it->loop, ch);
    }
    else if (it->sub) {
        chan_moved(it->loop, ch);   /* it may have been the slowest */
    }
}

/* A multiplexed subscriber's other channels: each member item passes
 * what its channel says on to the subscriber's own item. */
static void member_wake(push_loop_item_t *m)
{
    m->owner->ops->wake(m->owner);
}

static void member_unwatchable(push_loop_item_t *m)
{
    push_loop_item_t *owner = m->owner;

    /* It follows nothing any more, as a subscriber told so expects (m is
     * freed here). */
    push_loop_unfollow(owner);
    owner->ops->unwatchable(owner);
}

static const push_loop_ops_t member_ops = {
    NULL, NULL, NULL, member_wake, member_unwatchable, NULL, NULL, NULL
};

int push_loop_follow(push_loop_item_t *it, push_sub_t *s)
{
    unsigned i;

    if (follow_one(it, &s->ref) != 0) {
        return -1;
    }
    for (i = 1; i <= s->nmore; i++) {
        push_sub_t *sub = push_sub_member(s, i);
        push_loop_item_t *m = calloc(1, sizeof(*m));

        if (!m) {
            push_loop_unfollow(it);
            return -1;
        }
        m->kind = KIND_ITEM;
        m->ops = &member_ops;
        m->loop = it->loop;
        m->fd = -1;
        m->owner = it;
        if (it->sub) {
            /* Its hold counts this channel's position, with the
             * subscriber's sink telling whether its client keeps up. */
            sub->sink = it->sub->sink;
            m->sub = sub;
        }
        m->m_next = it->members;
        it->members = m;
        if (follow_one(m, &sub->ref) != 0) {
            push_loop_unfollow(it);
            return -1;
        }
    }
    return 0;
}

void push_loop_unfollow(push_loop_item_t *it)
{
    unfollow_one(it);
    while (it->members) {
        push_loop_item_t *m = it->members;

        it->members = m->m_next;
        unfollow_one(m);
        free(m);
    }
}

static void chan_fired(push_loop_t *l, push_loop_chan_t *ch)
{
    push_loop_item_t *it, *next;

    /* Out of the set before the generation may be closed. */
    epoll_ctl(l->epfd, EPOLL_CTL_DEL, ch->fd, NULL);
    ch->fd = -1;
    ch->gen = push_env_rewatch(l->env, ch->chan, ch->gen);
    if (!ch->gen) {
        /* The process is stopping: the followers' clients come back (with
         * their cursors) to a live process and lose nothing.  Each one
         * leaves; the last one releases the channel. */
        for (it = ch->followers; it; it = next) {
            next = it->c_next;
            push_loop_unfollow(it);
            it->ops->unwatchable(it);
        }
        return;
    }
    ch->fd = push_notify_fd(ch->gen);
    epoll_set(l, EPOLL_CTL_ADD, ch->fd, EPOLLIN, ch);
    for (it = ch->followers; it; it = next) {
        next = it->c_next;   /* it may leave */
        it->ops->wake(it);
    }
}

/* ------------------------------------------------------------------ */
/* Items                                                                */

void push_loop_item_init(push_loop_item_t *it, const push_loop_ops_t *ops,
                         int fd)
{
    memset(it, 0, sizeof(*it));
    it->kind = KIND_ITEM;
    it->ops = ops;
    it->fd = fd;
}

void push_loop_handover(push_loop_t *l, push_loop_item_t *it)
{
    uint64_t one = 1;
    int first;

    it->loop = l;
    pthread_mutex_lock(&l->lock);
    first = !l->incoming;
    it->next = l->incoming;
    l->incoming = it;
    pthread_mutex_unlock(&l->lock);
    /* One wake-up for a batch: the loop takes the whole list. */
    if (first && write(l->wakefd, &one, sizeof(one)) < 0) {
        /* an eventfd is never full here */
    }
}

void push_loop_end(push_loop_item_t *it, push_ended_e how)
{
    push_loop_t *l = it->loop;

    if (it->ended) {
        return;
    }
    it->ended = how;
    ready_drop(it);
    push_loop_unfollow(it);
    push_loop_untimed(it);
    push_loop_unexpire(it);
    push_loop_unwatch(it);
    it->next = l->reap;
    l->reap = it;
}

/* Finishes the ended items handed over long enough ago; the time until
 * the next one may be finished, or -1. */
static int64_t reap(push_loop_t *l, int64_t now)
{
    push_loop_item_t **pp = &l->reap, *it;
    int64_t wait = -1;

    /* Abandoned (the process stops at once), the MPM is tearing down
     * what finishing a connection calls into: the rest stays as is. */
    while ((it = *pp) != NULL && !push_loop_is_abandoned(l)) {
        if (now - it->since >= l->grace) {
            *pp = it->next;
            it->ops->finish(it);
        }
        else {
            int64_t left = it->since + l->grace - now;

            if (wait < 0 || left < wait) {
                wait = left;
            }
            pp = &it->next;
        }
    }
    return wait;
}

static void adopt_incoming(push_loop_t *l)
{
    push_loop_item_t *it, *next;
    uint64_t count;

    if (read(l->wakefd, &count, sizeof(count)) < 0 && errno != EAGAIN) {
        return;
    }
    pthread_mutex_lock(&l->lock);
    it = l->incoming;
    l->incoming = NULL;
    pthread_mutex_unlock(&l->lock);
    for (; it && !push_loop_is_abandoned(l); it = next) {
        next = it->next;
        it->next = NULL;
        it->ops->adopt(it);
    }
}

/* The process began a graceful stop: every item with a deadline is told
 * (what waits between requests closes, as the MPM closes its kept-alive
 * connections). */
static void stop_timed(push_loop_t *l)
{
    push_loop_timer_t *t;

    for (t = l->timers[PUSH_DL_TIMER]; t; t = t->next) {
        push_loop_item_t *it, *next;

        for (it = t->head; it; it = next) {
            next = it->dl[PUSH_DL_TIMER].next;
            if (it->ops->stopping) {
                it->ops->stopping(it);
            }
        }
    }
}

/* ------------------------------------------------------------------ */
/* The thread                                                           */

static int quitting(push_loop_t *l)
{
    int quit;

    pthread_mutex_lock(&l->lock);
    quit = l->quit;
    pthread_mutex_unlock(&l->lock);
    return quit;
}

static void *loop_main(void *arg)
{
    push_loop_t *l = arg;
    struct epoll_event evs[256];

    for (;;) {
        int64_t now = push_now(), wait, w2;
        int i, n, timeout_ms;

        if (__atomic_load_n(&l->abandon, __ATOMIC_ACQUIRE)) {
            /* Only the quit from push_loop_destroy is awaited now. */
            struct pollfd pfd = { l->wakefd, POLLIN, 0 };
            uint64_t count;

            if (quitting(l)) {
                break;
            }
            if (poll(&pfd, 1, 100) > 0
                && read(l->wakefd, &count, sizeof(count)) < 0) {
                /* EAGAIN: another wake-up took it */
            }
            continue;
        }
        if (__atomic_load_n(&l->stopping, __ATOMIC_ACQUIRE)
            && !l->stop_seen) {
            l->stop_seen = 1;
            stop_timed(l);
        }
        wait = timers_due(l, now);
        w2 = reap(l, now);
        if (w2 >= 0 && (wait < 0 || w2 < wait)) {
            wait = w2;
        }
        if (l->turn) {
            l->turn(l->baton);
        }
        if (quitting(l)) {
            break;
        }
        timeout_ms = l->ready ? 0
                     : wait < 0 ? -1 : (int)((wait + 999) / 1000);
        n = epoll_wait(l->epfd, evs, 256, timeout_ms);
        /* A stop at once is heeded between any two items. */
        for (i = 0; i < n && !push_loop_is_abandoned(l); i++) {
            int kind = *(int *)evs[i].data.ptr;

            if (kind == KIND_WAKE) {
                adopt_incoming(l);
            }
            else if (kind == KIND_CHAN) {
                push_loop_chan_t *ch = evs[i].data.ptr;

                if (ch->gen) {   /* not released earlier in this batch */
                    chan_fired(l, ch);
                }
            }
            else {
                push_loop_item_t *it = evs[i].data.ptr;

                /* An item unwatched earlier in this batch (ended, or
                 * handed to another thread) is not acted on. */
                if (!it->ended && it->in_epoll) {
                    it->ops->io(it, evs[i].events);
                }
            }
        }
        ready_run(l);
        holds_move(l);
        while (l->dead_chans) {
            push_loop_chan_t *ch = l->dead_chans;

            l->dead_chans = ch->next_dead;
            free(ch);
        }
    }
    return NULL;
}

push_loop_t *push_loop_create(const push_env_t *env, int64_t grace,
                              void (*turn)(void *), void *baton)
{
    push_loop_t *l = calloc(1, sizeof(*l));

    if (!l) {
        return NULL;
    }
    l->kind = KIND_WAKE;
    l->env = env;
    l->grace = grace;
    l->turn = turn;
    l->baton = baton;
    l->nbuckets = 1024;
    l->buckets = calloc(l->nbuckets, sizeof(*l->buckets));
    l->epfd = epoll_create1(EPOLL_CLOEXEC);
    l->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (!l->buckets || l->epfd < 0 || l->wakefd < 0
        || pthread_mutex_init(&l->lock, NULL) != 0
        || epoll_set(l, EPOLL_CTL_ADD, l->wakefd, EPOLLIN, l) != 0) {
        if (l->epfd >= 0) close(l->epfd);
        if (l->wakefd >= 0) close(l->wakefd);
        free(l->buckets);
        free(l);
        return NULL;
    }
    return l;
}

int push_loop_start(push_loop_t *l)
{
    sigset_t all, old;
    int rv;

    /* Signals must reach the process's own threads, not this one. */
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    rv = pthread_create(&l->thread, NULL, loop_main, l);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    l->started = rv == 0;
    return rv;
}

void push_loop_stopping(push_loop_t *l, int graceful)
{
    uint64_t one = 1;

    if (!graceful) {
        __atomic_store_n(&l->abandon, 1, __ATOMIC_RELEASE);
    }
    __atomic_store_n(&l->stopping, 1, __ATOMIC_RELEASE);
    if (write(l->wakefd, &one, sizeof(one)) < 0) {
        /* nothing to do */
    }
}

int push_loop_is_stopping(const push_loop_t *l)
{
    return __atomic_load_n(&l->stopping, __ATOMIC_ACQUIRE) != 0;
}

int push_loop_is_abandoned(const push_loop_t *l)
{
    return __atomic_load_n(&l->abandon, __ATOMIC_ACQUIRE) != 0;
}

void push_loop_destroy(push_loop_t *l)
{
    uint64_t one = 1;
    push_loop_timer_t *t, *next;
    uint32_t i;
    int k;

    pthread_mutex_lock(&l->lock);
    l->quit = 1;
    pthread_mutex_unlock(&l->lock);
    if (write(l->wakefd, &one, sizeof(one)) < 0) {
        /* nothing to do */
    }
    if (l->started) {
        pthread_join(l->thread, NULL);
    }
    /* Items still held belong to their owners (the process is going);
     * the loop's own parts are freed, and its channels' registrations
     * dropped, so that the store stops waking this process for them. */
    for (i = 0; i < l->nbuckets; i++) {
        push_loop_chan_t *ch, *hnext;

        for (ch = l->buckets[i]; ch; ch = hnext) {
            hnext = ch->hnext;
            push_env_unwatch(l->env, ch->chan, ch->gen);
            push_store_unhold(&l->env->store, &ch->ref);
            free(ch);
        }
    }
    for (k = 0; k < PUSH_DL_KINDS; k++) {
        for (t = l->timers[k]; t; t = next) {
            next = t->next;
            free(t);
        }
    }
    while (l->dead_chans) {
        push_loop_chan_t *ch = l->dead_chans;

        l->dead_chans = ch->next_dead;
        free(ch);
    }
    close(l->epfd);
    close(l->wakefd);
    free(l->buckets);
    pthread_mutex_destroy(&l->lock);
    free(l);
}
