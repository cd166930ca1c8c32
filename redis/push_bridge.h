/* push_bridge.h — one server's wake path from Redis: the bridge.
 *
 * One per Apache server (mod_push_redis.c runs it in a process of its
 * own, as mod_cgid runs its daemon), whatever the MPM and however many
 * children.  It holds one pub/sub connection, subscribed to the
 * channels that have subscribers in this server's store (it looks
 * every PUSH_BRIDGE_LOOK_MS; a channel left by all is dropped after
 * PUSH_BRIDGE_LINGER_MS), and puts each message told there into the
 * store (push_mirror.h), which wakes the subscribers as a local publish
 * does.  What a notice did not carry is read through a route to the
 * channel's Redis node (push_redis_route.h).
 *
 * Never a silent wake path:
 *   - each channel it subscribes is caught up from the copy's last id
 *     once the subscription is confirmed, so nothing published before
 *     is missed;
 *   - a message whose previous one the copy lacks is fetched first;
 *   - after any disconnect it connects again (backoff 0.25 s doubling
 *     to 8 s), subscribes everything again and catches each channel up;
 *   - a PING every PUSH_BRIDGE_PROBE_MS on the pub/sub connection must
 *     come back within the timeout, or the connection is taken as dead
 *     (open but not delivering) and made again;
 *   - every PUSH_BRIDGE_REPAIR_MS every followed channel is caught up
 *     anyway.
 * It also tells Redis how many subscribers each followed channel has
 * here, for the other servers' publishers (push_redis_count.h).
 * Pure C over a push_store_t and push_redis_conn_t; the caller owns the
 * process and its signals. */
#ifndef PUSH_BRIDGE_H
#define PUSH_BRIDGE_H

#include <stddef.h>
#include <stdint.h>

#include "redis/push_redis_url.h"
#include "store/push_store.h"

#define PUSH_BRIDGE_LOOK_MS     100
#define PUSH_BRIDGE_LINGER_MS   30000
#define PUSH_BRIDGE_PROBE_MS    5000
#define PUSH_BRIDGE_REPAIR_MS   30000

typedef struct push_bridge push_bridge_t;

/* What the bridge says, for the error log: level 0 error, 1 warning, 2
 * info, 3 debug. */
typedef void (*push_bridge_log_fn)(void *ctx, int level, const char *msg);

/* seeds: PushRedis' URLs (a Redis, or a cluster's seed nodes:
 * push_redis_route.h); server: this server's name among those sharing
 * the Redis, for the subscriber counts (push_redis_count.h). */
push_bridge_t *push_bridge_create(const push_store_t *store,
                                  const push_redis_url_t *seeds,
                                  unsigned nseeds, const char *prefix,
                                  const char *server, int timeout_ms,
                                  push_bridge_log_fn log, void *log_ctx);
void push_bridge_destroy(push_bridge_t *b);

/* Before a bridge that stops for good: its counts taken out of Redis at
 * once (else the other servers count its subscribers until the counts
 * run out). */
void push_bridge_leave(push_bridge_t *b);

/* Does what is due and waits at most wait_ms for Redis. */
void push_bridge_step(push_bridge_t *b, int wait_ms);

/* Counters, for tests and push-status. */
typedef struct {
    unsigned long connects;      /* pub/sub connections made */
    unsigned long followed;      /* channels subscribed now */
    unsigned long applied;       /* messages put in the store from notices */
    unsigned long caught_up;     /* catch-ups run */
    unsigned long catch_up_failures; /* catch-ups that failed */
    unsigned long dead_probes;   /* connections found dead by the probe */
    unsigned long deleted;       /* channels deleted here by a notice */
} push_bridge_stats_t;

void push_bridge_stats(const push_bridge_t *b, push_bridge_stats_t *st);

/* Other intervals than the PUSH_BRIDGE_* ones (tests). */
void push_bridge_tune(push_bridge_t *b, int linger_ms, int probe_ms,
                      int repair_ms);

#endif
