/* push_loop.h — a process's stream loop: one thread with an epoll set that
 * holds connections without a thread each.
 *
 * The loop knows neither transports nor HTTP.  It holds items (a file
 * descriptor with a table of callbacks), and for them:
 *   - watches the descriptor (push_loop_watch);
 *   - keeps one deadline each, in lists by interval, so that arming or
 *     moving a deadline costs O(1) however many items there are;
 *   - follows channels: one wake-up registration per channel (push_notify)
 *     however many items of this process follow it, and on a wake-up
 *     calls each follower's wake;
 *   - holds, for its streaming subscribers, one hold per channel in the
 *     store (push_store.h) at the slowest one's position that is within
 *     its bound, so that none of them loses a message to the channel's
 *     buffer length however far the publishers run ahead;
 *   - takes items handed over from other threads, and finishes ended
 *     items after a grace period.
 * Everything but push_loop_handover and push_loop_stopping runs on the
 * loop's own thread, from the callbacks.  The loop's unit test drives it
 * with a fake transport over a socketpair (t/unit/test_loop.c).
 *
 * Pure C (epoll, eventfd, pthreads). */
#ifndef PUSH_LOOP_H
#define PUSH_LOOP_H

#include <stdint.h>

#include "core/push_sub.h"
#include "store/push_store.h"

typedef struct push_loop      push_loop_t;
typedef struct push_loop_item push_loop_item_t;
typedef struct push_loop_chan push_loop_chan_t;
typedef struct push_loop_timer push_loop_timer_t;

/* An item's deadlines: the timer (keep-alives, write and close waits,
 * long-poll timeouts) and the expiry (PushSubscriberTimeout), each on
 * the loop's lists of items due after the same interval. */
typedef enum {
    PUSH_DL_TIMER = 0,
    PUSH_DL_EXPIRY,
    PUSH_DL_KINDS
} push_loop_dl_e;

typedef struct {
    push_loop_timer_t     *timer;
    struct push_loop_item *prev, *next;
    int64_t                due;
} push_loop_deadline_t;

/* How an item ended. */
typedef enum {
    PUSH_ENDED_NOT = 0,
    PUSH_ENDED_CLIENT,     /* the client went away */
    PUSH_ENDED_SERVER      /* we finished it */
} push_ended_e;

typedef struct {
    /* Handed over (push_loop_handover), on the loop's thread now. */
    void (*adopt)(push_loop_item_t *it);
    /* The descriptor is ready (epoll events). */
    void (*io)(push_loop_item_t *it, uint32_t events);
    /* Its timer's deadline passed. */
    void (*due)(push_loop_item_t *it, int64_t now);
    /* A channel it follows changed. */
    void (*wake)(push_loop_item_t *it);
    /* Its channel can no longer be watched: the process is stopping.  It
     * follows nothing any more. */
    void (*unwatchable)(push_loop_item_t *it);
    /* The loop began a graceful stop (may be NULL): items with a deadline
     * are asked, so that idle ones can end. */
    void (*stopping)(push_loop_item_t *it);
    /* Ended, and its grace is over: free it.  The loop forgets it. */
    void (*finish)(push_loop_item_t *it);
    /* Its expiry passed (may be NULL for items never given one). */
    void (*expired)(push_loop_item_t *it, int64_t now);
} push_loop_ops_t;

struct push_loop_item {
    int                    kind;       /* the loop's epoll tag */
    const push_loop_ops_t *ops;
    push_loop_t           *loop;
    int                    fd;
    int                    in_epoll;
    uint32_t               events;     /* what it is watched for */
    push_ended_e           ended;
    /* Handed over at (push_now()): ended items are finished no sooner
     * than the loop's grace after it. */
    int64_t                since;

    /* The loop's: deadlines, channel and list links. */
    push_loop_deadline_t   dl[PUSH_DL_KINDS];
    push_loop_chan_t      *chan;
    push_loop_item_t      *c_prev, *c_next;
    push_loop_item_t      *next;
    push_loop_item_t      *ready_next;  /* on the loop's ready list */
    int                    ready;

    /* A streaming subscriber, which the channel's hold is for (its pos,
     * chan_pos and bound); NULL for an item that holds nothing. */
    push_sub_t            *sub;

    /* The loop's, for a multiplexed subscriber: an item of its own for
     * each of its other channels, which follows that channel (and joins
     * its hold) for it and passes its wake-ups on. */
    push_loop_item_t      *members;
    push_loop_item_t      *m_next;
    push_loop_item_t      *owner;
};

/* A loop over env's notifier.  grace: how long after its hand-over an
 * ended item is finished at the earliest (microseconds).  turn(baton),
 * when not NULL, runs once per loop iteration before it waits. */
push_loop_t *push_loop_create(const push_env_t *env, int64_t grace,
                              void (*turn)(void *), void *baton);
/* Starts its thread (with every signal blocked); 0 or an errno. */
int  push_loop_start(push_loop_t *l);
/* Tells the loop to end and joins it; then frees it. */
void push_loop_destroy(push_loop_t *l);
/* The process is stopping (async-signal-safe).  graceful: items with a
 * deadline are told (stopping) and channel wake-ups end the rest;
 * otherwise the loop touches nothing any more. */
void push_loop_stopping(push_loop_t *l, int graceful);
int  push_loop_is_stopping(const push_loop_t *l);
/* ... and not gracefully: nothing held is to be touched any more. */
int  push_loop_is_abandoned(const push_loop_t *l);

/* Any thread: gives the item to the loop, which adopts it. */
void push_loop_handover(push_loop_t *l, push_loop_item_t *it);
/* Before the first hand-over: zeroes the item, sets ops, fd and kind. */
void push_loop_item_init(push_loop_item_t *it, const push_loop_ops_t *ops,
                         int fd);

/* Loop thread only. */
/* Watches the descriptor for `events` (EPOLL*), replacing what it was
 * watched for; 0, or -1. */
int  push_loop_watch(push_loop_item_t *it, uint32_t events);
/* Also from the thread that holds an item the loop ignores for now (its
 * owner's callbacks act on nothing), before the descriptor may go to
 * someone else. */
void push_loop_unwatch(push_loop_item_t *it);
/* Its io is called with EPOLLIN on the loop's next turn, without waiting
 * for the descriptor: input that was read from the socket waits above it
 * (a TLS connection's, decrypted in httpd's filters).  Once per turn
 * however often it is asked; an item that ends or stops being watched
 * first is not called. */
void push_loop_ready(push_loop_item_t *it);
/* The item is due `every` from now, after every other one with the same
 * interval; not due when every <= 0. */
void push_loop_timer(push_loop_item_t *it, int64_t every, int64_t now);
/* Moves its deadline one interval from now (it was not idle). */
void push_loop_touch(push_loop_item_t *it, int64_t now);
void push_loop_untimed(push_loop_item_t *it);
/* The same for the item's expiry: ops->expired `every` from now (again
 * from now at each call: a subscriber's timeout restarts with each
 * message); none when every <= 0. */
void push_loop_expiry(push_loop_item_t *it, int64_t every, int64_t now);
void push_loop_unexpire(push_loop_item_t *it);
/* Follows the channels of s (one, or a multiplexed subscriber's each):
 * 0, or -1 (stopping, out of descriptors or memory).  An item with a
 * sub (s) joins each channel's hold, which then covers the sub's
 * position there: the sub's own hold, if it had one, ends. */
int  push_loop_follow(push_loop_item_t *it, push_sub_t *s);
void push_loop_unfollow(push_loop_item_t *it);
/* Its sub's position moved: the channel's hold follows, once per loop
 * turn. */
void push_loop_moved(push_loop_item_t *it);
/* Out of everything; finished (ops->finish) after the grace. */
void push_loop_end(push_loop_item_t *it, push_ended_e how);

#endif
