/* mod_push_workers.h — a few of the MPM's worker threads, borrowed for
 * the stream loop's connections (mod_push_workers.c), after mod_http2's
 * h2_workers. */
#ifndef MOD_PUSH_WORKERS_H
#define MOD_PUSH_WORKERS_H

#include "httpd.h"
#include "scoreboard.h"

typedef struct push_workers push_workers_t;
typedef struct push_work push_work_t;
struct push_work {
    void        (*run)(push_work_t *w, ap_sb_handle_t *sbh);
    push_work_t  *next;
};

/* At most max of the MPM's threads at once, each waiting linger_ms for
 * more work before it goes back, unless stopping(baton).  NULL when
 * out of resources. */
push_workers_t *push_workers_create(apr_pool_t *pchild, int max,
                                    int linger_ms,
                                    int (*stopping)(void *), void *baton);
/* Any thread: queues w (run on a worker with that thread's scoreboard
 * handle). */
void push_workers_add(push_workers_t *ws, push_work_t *w);
/* Borrows enough threads for the queue. */
void push_workers_start(push_workers_t *ws);
/* No more work is taken; idle workers go back. */
void push_workers_quit(push_workers_t *ws);

#endif
