/* push_redis_count.c — subscriber counts across servers (see
 * push_redis_count.h). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "redis/push_redis_count.h"

int push_redis_count_send(push_redis_conn_t *c, const char *key, size_t len,
                          const char *server, unsigned long count,
                          int64_t now)
{
    char value[48], ttl[16];

    if (count == 0) {
        const char *argv[3] = { "HDEL", key, server };
        size_t lens[3] = { 4, len, strlen(server) };

        return push_redis_send(c, 3, argv, lens) == 0 ? 1 : -1;
    }
    snprintf(value, sizeof(value), "%lu %" PRId64, count,
             now + PUSH_REDIS_COUNT_TTL);
    /* The key outlives its newest field by a little, so a channel every
     * server left without a word goes away too. */
    snprintf(ttl, sizeof(ttl), "%d", PUSH_REDIS_COUNT_TTL * 2);
    {
        const char *set[4] = { "HSET", key, server, value };
        size_t set_l[4] = { 4, len, strlen(server), strlen(value) };
        const char *exp[3] = { "EXPIRE", key, ttl };
        size_t exp_l[3] = { 6, len, strlen(ttl) };

        if (push_redis_send(c, 4, set, set_l) != 0
            || push_redis_send(c, 3, exp, exp_l) != 0) {
            return -1;
        }
    }
    return 2;
}

/* "<count> <until>" into its two numbers; -1 when it is not that. */
static int count_value(const redisReply *v, long long *count,
                       long long *until)
{
    char buf[48], *end;

    if (v->type != REDIS_REPLY_STRING || v->len == 0
        || v->len >= sizeof(buf)) {
        return -1;
    }
    memcpy(buf, v->str, v->len);
    buf[v->len] = '\0';
    if (buf[0] < '0' || buf[0] > '9') {
        return -1;
    }
    *count = strtoll(buf, &end, 10);
    if (*end != ' ' || end[1] < '0' || end[1] > '9') {
        return -1;
    }
    *until = strtoll(end + 1, &end, 10);
    return *end || *count < 0 ? -1 : 0;
}

long long push_redis_count_sum(const redisReply *hash, const char *server,
                               int64_t now)
{
    size_t i, sl = server ? strlen(server) : 0;
    long long sum = 0;

    if (hash->type != REDIS_REPLY_ARRAY) {
        return 0;
    }
    for (i = 0; i + 1 < hash->elements; i += 2) {
        const redisReply *f = hash->element[i];
        long long count, until;

        if (f->type != REDIS_REPLY_STRING
            || (server && f->len == sl && memcmp(f->str, server, sl) == 0)
            || count_value(hash->element[i + 1], &count, &until) != 0
            || until < now || count > INT32_MAX) {
            continue;
        }
        sum += count;
    }
    return sum;
}

int push_redis_count_others(push_redis_conn_t *c, const char *key,
                            size_t len, const char *server, int64_t now,
                            int timeout_ms, long long *others, char *err,
                            size_t errlen)
{
    const char *argv[2] = { "HGETALL", key };
    size_t lens[2] = { 7, len };
    redisReply *r = push_redis_call(c, 2, argv, lens, timeout_ms);

    if (!r || r->type != REDIS_REPLY_ARRAY) {
        snprintf(err, errlen, "subscriber counts: %s",
                 !r ? (push_redis_broken(c) ? push_redis_broken(c)
                                            : "no reply")
                    : r->type == REDIS_REPLY_ERROR ? r->str
                                                   : "an unexpected reply");
        if (r) {
            freeReplyObject(r);
        }
        return -1;
    }
    *others = push_redis_count_sum(r, server, now);
    freeReplyObject(r);
    return 0;
}
