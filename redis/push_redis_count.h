/* push_redis_count.h — how many subscribers a channel has on every
 * server, for a publisher's 201/202 and a channel's info.
 *
 * Each server's bridge keeps its count of each channel it follows in
 * the hash <prefix>{c:<id>}:n (the channel's hash tag: one slot with its
 * other keys), field <server> (a name of that Apache server, unique
 * among those sharing the Redis), value "<count> <until>", where until
 * is the unix second after which the count is no longer believed: a
 * server that vanished without a word (killed -9, cut off) stops being
 * counted within PUSH_REDIS_COUNT_TTL.  The bridge writes a count when
 * it changes and again every PUSH_REDIS_COUNT_REFRESH_MS; a count of 0
 * removes the field.  A reader adds up the fields still believed, but
 * its own server's (which it knows better, from its own store).
 *
 * until is the writer's clock and "now" the reader's (Redis' TIME in
 * the publish script): clocks apart by less than the TTL less the
 * refresh (20 s) count right.  Pure C over a push_redis_conn_t. */
#ifndef PUSH_REDIS_COUNT_H
#define PUSH_REDIS_COUNT_H

#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>

#include "redis/push_redis_conn.h"

#define PUSH_REDIS_COUNT_TTL        30      /* seconds */
#define PUSH_REDIS_COUNT_REFRESH_MS 10000

/* Queues on c what sets server's count of the channel whose count key
 * is key (len bytes), good until now + PUSH_REDIS_COUNT_TTL; a count of
 * 0 removes it.  The number of replies that will come (the caller reads
 * them: push_redis_drain), or -1 out of memory. */
int push_redis_count_send(push_redis_conn_t *c, const char *key, size_t len,
                          const char *server, unsigned long count,
                          int64_t now);

/* The sum of an HGETALL reply's counts believed at now, but server's
 * (NULL: none left out).  Fields that are not counts are left out. */
long long push_redis_count_sum(const redisReply *hash, const char *server,
                               int64_t now);

/* The channel's subscribers on the other servers: 0 and *others, or -1
 * with the reason in err. */
int push_redis_count_others(push_redis_conn_t *c, const char *key,
                            size_t len, const char *server, int64_t now,
                            int timeout_ms, long long *others, char *err,
                            size_t errlen);

#endif
