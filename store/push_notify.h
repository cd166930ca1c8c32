/* push_notify.h — fans the store's cross-process wake-ups out to the
 * subscribers waiting in this process.
 *
 * One thread per httpd child waits on the store engine's wake source (for
 * the shared-memory engine, a futex in shared memory).  Subscribers never poll shared memory: each waits in
 * poll(2) on the read end of a pipe that belongs to its channel's current
 * "generation".  When the channel changes, the thread closes the
 * generation's write end, which wakes every subscriber of that channel in
 * this process with one syscall, and starts a new generation.  Idle
 * subscribers cost no CPU.
 *
 * Uses pthreads and pipes only (no httpd types); t/unit/test_notify.c
 * tests it alone. */
#ifndef PUSH_NOTIFY_H
#define PUSH_NOTIFY_H

#include "store/push_store.h"

typedef struct push_notify push_notify_t;
typedef struct push_notify_gen push_notify_gen_t;

/* Called by the notifier thread about once a second, with its lock held
 * (it must not call back into the notifier); non-zero means the process
 * is stopping, and every waiter is woken for good. */
typedef int (*push_notify_stop_fn)(void);

/* Starts the notifier thread for this process.  NULL on failure. */
push_notify_t *push_notify_start(const push_store_t *store,
                                 push_notify_stop_fn stop);

/* Wakes every waiter for good (server stopping or restarting). */
void push_notify_shutdown(push_notify_t *n);

/* push_notify_shutdown, then joins the thread and frees everything.  Only
 * once no waiter is left. */
void push_notify_destroy(push_notify_t *n);

/* The process is exiting: ends the thread, so that it runs nothing
 * while the process tears itself down (libraries, the module itself),
 * and waits for it at most `wait_ms`.  Takes no lock and frees nothing:
 * it may run from a signal handler (prefork's stop), whose interrupted
 * code may hold the lock.  0 when the thread has ended. */
int push_notify_quit(push_notify_t *n, int wait_ms);

/* Non-zero once push_notify_shutdown ran or stop() said so. */
int push_notify_stopping(push_notify_t *n);

/* Registers interest in a channel (a subscription's ref.chan).  Returns
 * the generation to wait on, or NULL when the process is stopping (or out
 * of descriptors).  Register BEFORE looking in the store: a change after
 * the look is then sure to wake the generation. */
push_notify_gen_t *push_notify_watch(push_notify_t *n, uint32_t chan);

/* The descriptor to poll for POLLIN/POLLHUP: it becomes readable (EOF)
 * when the channel changed or the process is stopping. */
int push_notify_fd(const push_notify_gen_t *g);

/* After a wake-up: the generation to wait on next, in one step (the
 * same one when it has not fired).  NULL, with the registration dropped,
 * when the process is stopping (or out of descriptors).  As with watch,
 * rewatch BEFORE looking in the store again. */
push_notify_gen_t *push_notify_rewatch(push_notify_t *n, uint32_t chan,
                                       push_notify_gen_t *old);

/* Drops a registration taken with push_notify_watch. */
void push_notify_unwatch(push_notify_t *n, uint32_t chan,
                         push_notify_gen_t *g);

#endif
