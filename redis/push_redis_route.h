/* push_redis_route.h — which Redis a channel lives on, and a connection
 * to it: the one server of a plain Redis, or in a Redis Cluster the node
 * that serves the channel's hash slot.
 *
 * A route starts from its seeds (PushRedis's URLs, credentials from the
 * first).  At first use it asks a seed for CLUSTER SLOTS: a Redis
 * without cluster support (or one that refuses the command) is plain,
 * when it is the only seed; a cluster's map of slots to masters is kept
 * and read again after a MOVED, a node that cannot be reached, or a
 * slot nobody serves.  The routes of a process to the same seeds share
 * what they learned of the cluster's nodes (a map names the masters and
 * their replicas): a route made when the seeds are down asks those.
 * Every key of a channel carries the hash tag
 * {c:<id>}, so one channel is one slot, one node, and its scripts run
 * there whole.  A connection per node, made when needed and made again
 * when it broke.
 *
 * push_redis_route_do runs one operation on a channel's node and
 * follows the cluster's redirections: MOVED (the slot lives elsewhere
 * now), ASK (this once, elsewhere, after ASKING, while the slot moves)
 * and TRYAGAIN (the slot is being moved and the channel's keys are
 * split, or new: again after 50 ms), up to PUSH_REDIS_ROUTE_TRIES
 * tries.  A connection that broke
 * is not tried again in the same call (the operation may have run: a
 * publish must not run twice); the next call finds the node anew.
 *
 * Pub/sub needs no route: a cluster forwards every PUBLISH to every
 * node, so a subscriber may use any node (push_redis_route_url).
 * A route is not thread-safe (one owner); what routes share is under a
 * lock of its own.  Pure C. */
#ifndef PUSH_REDIS_ROUTE_H
#define PUSH_REDIS_ROUTE_H

#include <stddef.h>
#include <stdint.h>

#include "redis/push_redis_conn.h"
#include "redis/push_redis_url.h"

#define PUSH_REDIS_ROUTE_TRIES 4

typedef struct push_redis_route push_redis_route_t;

/* The cluster hash slot of a key (CRC16 of its {hash tag}, or of the
 * whole key when it has none), 0 to 16383. */
unsigned push_redis_key_slot(const char *key, size_t len);

push_redis_route_t *push_redis_route_create(const push_redis_url_t *seeds,
                                            unsigned nseeds, int timeout_ms);
void push_redis_route_free(push_redis_route_t *r);

/* 1 once the route found a cluster, 0 a plain Redis or not known yet. */
int push_redis_route_cluster(const push_redis_route_t *r);

/* An operation on the connection to a channel's node: 0 done, -1
 * failed (with the reason in err; a redirection's error reply is a
 * failure the route then follows). */
typedef int (*push_redis_op_fn)(push_redis_conn_t *c, void *arg, char *err,
                                size_t errlen);

/* Runs op on the node of the slot of `key` (any of the channel's keys),
 * following redirections: op's result, or -1 with err (no node reached,
 * the slot unserved, a redirection too many, or op's own failure). */
int push_redis_route_do(push_redis_route_t *r, const char *key, size_t len,
                        push_redis_op_fn op, void *arg, char *err,
                        size_t errlen);

/* The connection to the node of key's slot (a plain Redis: the one), for
 * a caller that pipelines several commands there; NULL with err.  After
 * using it, push_redis_route_after says whether a redirection came back
 * (1: send again; after MOVED the map is read again at the next use). */
push_redis_conn_t *push_redis_route_conn(push_redis_route_t *r,
                                         const char *key, size_t len,
                                         char *err, size_t errlen);
int push_redis_route_after(push_redis_route_t *r, push_redis_conn_t *c);

/* The address of the `n`-th node to try for a connection that any node
 * will do (a pub/sub one): the cluster's known nodes in turn, else the
 * seeds. */
void push_redis_route_url(push_redis_route_t *r, unsigned n,
                          push_redis_url_t *u);

#endif
