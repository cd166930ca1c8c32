/* mod_push_workers.c — a few of the MPM's worker threads, borrowed for
 * the stream loop's connections.
 *
 * What runs httpd's hooks and filters for a connection the loop holds (a
 * long poll's answer, the next request) runs on a worker thread of the
 * event MPM, reached with ap_mpm_register_timed_callback.  At most `max`
 * are borrowed at once: enough to keep the cores busy, few enough that a
 * hook that blocks does not take the MPM's threads from its other
 * connections.  A worker that runs out of work waits a little for more
 * before it goes back: taking a thread from the MPM costs more than
 * keeping it a moment. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include "httpd.h"
#include "http_config.h"
#include "ap_mpm.h"
#include "mpm_common.h"
#include "scoreboard.h"

#include "mod_push.h"
#include "mod_push_workers.h"

struct push_workers {
    pthread_mutex_t lock;           /* the queue, the counts, handles */
    pthread_cond_t  more;           /* work for an idle worker */
    push_work_t    *head, *tail;    /* the queue */
    int             running;        /* callbacks registered or running */
    int             idle;           /* of those, waiting for work */
    int             max;
    int             linger_ms;
    int             quit;
    int           (*stopping)(void *baton);
    void           *baton;
    apr_pool_t     *pchild;         /* scoreboard handles */
};

push_workers_t *push_workers_create(apr_pool_t *pchild, int max,
                                    int linger_ms,
                                    int (*stopping)(void *), void *baton)
{
    push_workers_t *ws = apr_pcalloc(pchild, sizeof(*ws));
    pthread_condattr_t cattr;

    ws->pchild = pchild;
    ws->max = max;
    ws->linger_ms = linger_ms;
    ws->stopping = stopping;
    ws->baton = baton;
    if (pthread_mutex_init(&ws->lock, NULL) != 0
        || pthread_condattr_init(&cattr) != 0
        || pthread_condattr_setclock(&cattr, CLOCK_MONOTONIC) != 0
        || pthread_cond_init(&ws->more, &cattr) != 0) {
        return NULL;
    }
    return ws;
}

/* The scoreboard entry of the worker thread running this, so what it
 * does for a held connection shows (and counts) under its own name;
 * NULL when it cannot be found. */
static ap_sb_handle_t *worker_sbh(push_workers_t *ws)
{
    static __thread ap_sb_handle_t *mine;
    apr_proc_t me;
    int child, i, threads = 0;
    pthread_t self = pthread_self();

    if (mine) {
        return mine;
    }
    me.pid = getpid();
    if ((child = ap_find_child_by_pid(&me)) < 0
        || ap_mpm_query(AP_MPMQ_HARD_LIMIT_THREADS, &threads) != APR_SUCCESS) {
        return NULL;
    }
    for (i = 0; i < threads; i++) {
        worker_score *w = ap_get_scoreboard_worker_from_indexes(child, i);

        if (w && pthread_equal(w->tid, self)) {
            pthread_mutex_lock(&ws->lock);
            ap_create_sb_handle(&mine, ws->pchild, child, i);
            pthread_mutex_unlock(&ws->lock);
            break;
        }
    }
    return mine;
}

/* The next job of the queue, waiting a little for one; NULL when the
 * worker should go back to the MPM.  Called locked. */
static push_work_t *work_next(push_workers_t *ws)
{
    push_work_t *w;
    int waited = 0;

    while (!(w = ws->head)) {
        struct timespec until;

        if (waited || ws->quit || ws->stopping(ws->baton)) {
            return NULL;
        }
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_nsec += ws->linger_ms * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        ws->idle++;
        waited = pthread_cond_timedwait(&ws->more, &ws->lock, &until)
                 == ETIMEDOUT;
        ws->idle--;
    }
    ws->head = w->next;
    if (!ws->head) {
        ws->tail = NULL;
    }
    w->next = NULL;
    return w;
}

/* A timed callback of the MPM: runs jobs until the queue stays empty. */
static void worker_drain(void *baton)
{
    push_workers_t *ws = baton;
    ap_sb_handle_t *sbh = worker_sbh(ws);

    for (;;) {
        push_work_t *w;

        pthread_mutex_lock(&ws->lock);
        if (!(w = work_next(ws))) {
            ws->running--;
        }
        pthread_mutex_unlock(&ws->lock);
        if (!w) {
            break;
        }
        w->run(w, sbh);
    }
}

void push_workers_add(push_workers_t *ws, push_work_t *w)
{
    w->next = NULL;
    pthread_mutex_lock(&ws->lock);
    if (ws->tail) {
        ws->tail->next = w;
    }
    else {
        ws->head = w;
    }
    ws->tail = w;
    if (ws->idle) {
        pthread_cond_signal(&ws->more);
    }
    pthread_mutex_unlock(&ws->lock);
}

void push_workers_start(push_workers_t *ws)
{
    int want = 0;
    push_work_t *w;

    pthread_mutex_lock(&ws->lock);
    for (w = ws->head; w && ws->running + want < ws->max; w = w->next) {
        want++;
    }
    ws->running += want;
    pthread_mutex_unlock(&ws->lock);
    while (want-- > 0) {
        if (ap_mpm_register_timed_callback(0, worker_drain, ws)
            != APR_SUCCESS) {
            pthread_mutex_lock(&ws->lock);
            ws->running--;
            pthread_mutex_unlock(&ws->lock);
        }
    }
}

void push_workers_quit(push_workers_t *ws)
{
    pthread_mutex_lock(&ws->lock);
    ws->quit = 1;
    pthread_cond_broadcast(&ws->more);
    pthread_mutex_unlock(&ws->lock);
}
