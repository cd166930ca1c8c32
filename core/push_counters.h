/* push_counters.h — server-wide counters that belong to no store engine:
 * subscribers by transport, and the encodings built and reused.  They sit
 * in a small shared-memory table of their own, so the store's layout does
 * not depend on the list of transports (adding one keeps the buffered
 * messages across a graceful restart).  Atomics only; pure C. */
#ifndef PUSH_COUNTERS_H
#define PUSH_COUNTERS_H

#include <stddef.h>
#include <stdint.h>

#include "core/push_transport.h"

#define PUSH_COUNTERS_MAGIC  0x43505355u   /* "USPC" */
#define PUSH_COUNTERS_LAYOUT 3u

/* Limits, each said at warn once per server start (push_counters_first). */
#define PUSH_LIMIT_CHANNELS  0x1u   /* PushMaxChannels, the store's slots */
#define PUSH_LIMIT_ADMISSION 0x2u   /* subscribers refused with 503 */
#define PUSH_LIMIT_STALLED   0x4u   /* a stream closed: Timeout, unread */
#define PUSH_LIMIT_BACKLOG   0x8u   /* a connected subscriber missed some */

typedef struct {
    uint32_t magic;
    uint32_t layout;
    uint32_t subscribers[PUSH_TRANSPORTS_MAX];   /* by transport id */
    uint64_t encoded;          /* encodings (events, frames) built ... */
    uint64_t encoded_reused;   /* ... and deliveries that reused one */
    uint64_t gaps;             /* subscribers told they missed messages */
    uint32_t warned;           /* PUSH_LIMIT_* said since the start */
} push_counters_t;

/* The table at mem (kept across restarts) when it is one, else a fresh
 * one laid over it; NULL when size is too small. */
static inline push_counters_t *push_counters_attach(void *mem, size_t size)
{
    push_counters_t *c = mem;

    if (!mem || size < sizeof(*c)) {
        return NULL;
    }
    if (__atomic_load_n(&c->magic, __ATOMIC_ACQUIRE) != PUSH_COUNTERS_MAGIC
        || c->layout != PUSH_COUNTERS_LAYOUT) {
        c->layout = PUSH_COUNTERS_LAYOUT;
        for (size_t i = 0; i < PUSH_TRANSPORTS_MAX; i++) {
            c->subscribers[i] = 0;
        }
        c->encoded = 0;
        c->encoded_reused = 0;
        c->gaps = 0;
        c->warned = 0;
        __atomic_store_n(&c->magic, PUSH_COUNTERS_MAGIC, __ATOMIC_RELEASE);
    }
    return c;
}

static inline void push_counters_subscriber(push_counters_t *c, unsigned id,
                                            int delta)
{
    if (c && id < PUSH_TRANSPORTS_MAX) {
        __atomic_add_fetch(&c->subscribers[id], (uint32_t)delta,
                           __ATOMIC_RELAXED);
    }
}

static inline void push_counters_gap(push_counters_t *c)
{
    if (c) {
        __atomic_add_fetch(&c->gaps, 1, __ATOMIC_RELAXED);
    }
}

/* 1 for the first caller since the server started with this limit bit;
 * 1 also without a table (nothing to remember it in). */
static inline int push_counters_first(push_counters_t *c, uint32_t bit)
{
    return !c || !(__atomic_fetch_or(&c->warned, bit, __ATOMIC_RELAXED)
                   & bit);
}

static inline void push_counters_encoding(push_counters_t *c, int reused)
{
    if (c) {
        __atomic_add_fetch(reused ? &c->encoded_reused : &c->encoded, 1,
                           __ATOMIC_RELAXED);
    }
}

#endif
