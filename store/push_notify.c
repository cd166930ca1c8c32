/* push_notify.c — per-process fan-out of store wake-ups (see the header). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "store/push_notify.h"

struct push_notify_gen {
    int      rfd;
    int      wfd;        /* -1 once fired */
    unsigned refs;
};

typedef struct {
    push_notify_gen_t *gen;     /* NULL until a waiter needs one */
    uint32_t           seen_version;
    unsigned           waiters;
    uint32_t           active_pos;  /* index in n->active while waiters > 0 */
} local_channel_t;

struct push_notify {
    push_store_t        store;      /* the wake source */
    push_notify_stop_fn stop;
    pthread_t           thread;
    pthread_mutex_t     lock;
    int                 stopping;
    int                 exiting;    /* atomic: the thread is to end */
    int                 joined;     /* ... and has */
    uint32_t            nchans;
    local_channel_t    *channels;   /* one per channel number */
    uint32_t           *active;     /* channels that have local waiters */
    uint32_t            nactive;
    uint32_t            seen_seq;   /* read before any waiter can register */
};

static push_notify_gen_t *gen_create(void)
{
    int fds[2];
    push_notify_gen_t *g = malloc(sizeof(*g));

    if (!g) {
        return NULL;
    }
    if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) {
        free(g);
        return NULL;
    }
    g->rfd = fds[0];
    g->wfd = fds[1];
    g->refs = 0;
    return g;
}

/* Closing the write end is the broadcast: every poller of rfd sees EOF. */
static void gen_fire(push_notify_gen_t *g)
{
    if (g->wfd >= 0) {
        close(g->wfd);
        g->wfd = -1;
    }
    if (g->refs == 0) {
        close(g->rfd);
        free(g);
    }
}

static void fire_channel(push_notify_t *n, local_channel_t *lc)
{
    (void)n;
    if (lc->gen) {
        gen_fire(lc->gen);
        lc->gen = NULL;
    }
}

static void *notifier_main(void *arg)
{
    push_notify_t *n = arg;
    uint32_t seen = n->seen_seq;

    for (;;) {
        /* The timeout only bounds how late a stop is noticed; delivery
         * never depends on it. */
        uint32_t cur = n->store.engine->wait(n->store.inst, seen, 1000);
        uint32_t i;

        /* Before the lock: push_notify_quit may have interrupted its
         * holder, which then never lets go. */
        if (__atomic_load_n(&n->exiting, __ATOMIC_ACQUIRE)) {
            break;
        }
        pthread_mutex_lock(&n->lock);
        if (!n->stopping && n->stop && n->stop()) {
            n->stopping = 1;
        }
        if (n->stopping) {
            for (i = 0; i < n->nactive; i++) {
                fire_channel(n, &n->channels[n->active[i]]);
            }
        }
        else {
            /* Versions are compared on every wake-up, the periodic one
             * included, so even a lost futex wake costs at most a second. */
            for (i = 0; i < n->nactive; i++) {
                local_channel_t *lc = &n->channels[n->active[i]];
                uint32_t v = push_store_version(&n->store, n->active[i]);
                if (v != lc->seen_version) {
                    lc->seen_version = v;
                    fire_channel(n, lc);
                }
            }
        }
        pthread_mutex_unlock(&n->lock);
        seen = cur;
    }
    return NULL;
}

push_notify_t *push_notify_start(const push_store_t *store,
                                 push_notify_stop_fn stop)
{
    push_notify_t *n = calloc(1, sizeof(*n));
    sigset_t all, old;
    int rv;

    if (!n) {
        return NULL;
    }
    n->store = *store;
    n->stop = stop;
    n->seen_seq = store->engine->seq(store->inst);
    n->nchans = store->engine->channels(store->inst);
    n->channels = calloc(n->nchans, sizeof(*n->channels));
    n->active = calloc(n->nchans, sizeof(*n->active));
    if (!n->channels || !n->active
        || pthread_mutex_init(&n->lock, NULL) != 0) {
        free(n->channels);
        free(n->active);
        free(n);
        return NULL;
    }
    /* httpd's signals (graceful restart, stop) must reach the MPM's own
     * threads, never this one. */
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    rv = pthread_create(&n->thread, NULL, notifier_main, n);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rv != 0) {
        pthread_mutex_destroy(&n->lock);
        free(n->channels);
        free(n->active);
        free(n);
        return NULL;
    }
    return n;
}

void push_notify_shutdown(push_notify_t *n)
{
    uint32_t i;

    pthread_mutex_lock(&n->lock);
    n->stopping = 1;
    for (i = 0; i < n->nactive; i++) {
        fire_channel(n, &n->channels[n->active[i]]);
    }
    pthread_mutex_unlock(&n->lock);
}

/* Ends the thread: 0 once it has, within `wait_ms`. */
static int thread_end(push_notify_t *n, int wait_ms)
{
    struct timespec until;
    int rv;

    if (n->joined) {
        return 0;
    }
    __atomic_store_n(&n->exiting, 1, __ATOMIC_RELEASE);
    /* Wakes every process's notifier once; the others just look again. */
    n->store.engine->wake_all(n->store.inst);
    if (wait_ms < 0) {
        rv = pthread_join(n->thread, NULL);
    }
    else {
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += wait_ms / 1000;
        until.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        rv = pthread_timedjoin_np(n->thread, NULL, &until);
    }
    n->joined = rv == 0;
    return rv;
}

int push_notify_quit(push_notify_t *n, int wait_ms)
{
    return thread_end(n, wait_ms);
}

void push_notify_destroy(push_notify_t *n)
{
    push_notify_shutdown(n);
    thread_end(n, -1);
    pthread_mutex_destroy(&n->lock);
    free(n->channels);
    free(n->active);
    free(n);
}

int push_notify_stopping(push_notify_t *n)
{
    int s;

    pthread_mutex_lock(&n->lock);
    s = n->stopping;
    pthread_mutex_unlock(&n->lock);
    return s;
}

push_notify_gen_t *push_notify_watch(push_notify_t *n, uint32_t chan)
{
    local_channel_t *lc;
    push_notify_gen_t *g = NULL;

    if (chan >= n->nchans) {
        return NULL;
    }
    pthread_mutex_lock(&n->lock);
    if (n->stopping) {
        goto out;
    }
    lc = &n->channels[chan];
    if (!lc->gen && !(lc->gen = gen_create())) {
        goto out;
    }
    if (lc->waiters++ == 0) {
        /* Counted before the caller looks in the store, so a publish
         * after that look is sure to wake this process. */
        n->store.engine->watch(n->store.inst, chan, 1);
        /* Versions seen from now on are compared against this one. */
        lc->seen_version = push_store_version(&n->store, chan);
        lc->active_pos = n->nactive;
        n->active[n->nactive++] = chan;
    }
    g = lc->gen;
    g->refs++;
out:
    pthread_mutex_unlock(&n->lock);
    return g;
}

int push_notify_fd(const push_notify_gen_t *g)
{
    return g->rfd;
}

push_notify_gen_t *push_notify_rewatch(push_notify_t *n, uint32_t chan,
                                       push_notify_gen_t *old)
{
    local_channel_t *lc;
    push_notify_gen_t *g;

    if (chan >= n->nchans) {
        return NULL;
    }
    lc = &n->channels[chan];
    pthread_mutex_lock(&n->lock);
    if (old->wfd >= 0) {
        /* Not fired (a timeout, a ping): the same one still serves. */
        pthread_mutex_unlock(&n->lock);
        return old;
    }
    if (n->stopping || (!lc->gen && !(lc->gen = gen_create()))) {
        pthread_mutex_unlock(&n->lock);
        push_notify_unwatch(n, chan, old);
        return NULL;
    }
    /* One lock round trip: this waiter stays counted on the channel and
     * moves from the fired generation to the current one. */
    g = lc->gen;
    g->refs++;
    if (--old->refs == 0) {
        close(old->rfd);
        free(old);
    }
    pthread_mutex_unlock(&n->lock);
    return g;
}

void push_notify_unwatch(push_notify_t *n, uint32_t chan,
                         push_notify_gen_t *g)
{
    local_channel_t *lc;

    if (chan >= n->nchans) {
        return;
    }
    lc = &n->channels[chan];
    pthread_mutex_lock(&n->lock);
    if (--g->refs == 0 && g->wfd < 0) {
        close(g->rfd);
        free(g);
    }
    if (--lc->waiters == 0) {
        uint32_t moved = n->active[--n->nactive];

        n->store.engine->watch(n->store.inst, chan, -1);
        n->active[lc->active_pos] = moved;
        n->channels[moved].active_pos = lc->active_pos;
        if (lc->gen) {
            /* No waiter holds it (refs is 0): just drop it. */
            close(lc->gen->wfd);
            close(lc->gen->rfd);
            free(lc->gen);
            lc->gen = NULL;
        }
    }
    pthread_mutex_unlock(&n->lock);
}
