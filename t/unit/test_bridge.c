/* test_bridge.c — two servers' stores fed from one real redis-server by
 * their bridges (redis/push_bridge.c, redis/push_mirror.c): a channel
 * is followed once it has a subscriber and caught up from before; every
 * message reaches both copies once, in Redis' order, with Redis' ids,
 * small ones from the notice and large ones from the stream; a killed
 * pub/sub connection and a paused Redis (open but dead) cost nothing;
 * what Redis trimmed before a copy followed is a gap there; a delete
 * in Redis deletes both copies; a channel left by everyone is dropped
 * after the linger; a channel Redis lost and made again, whose new
 * epoch issues ids a copy has, is a gap there.  Each bridge tells Redis its store's subscriber
 * count of the channels it follows, which another server's publish
 * adds up; a count from a server gone quiet is not believed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "redis/push_bridge.h"
#include "redis/push_mirror.h"
#include "redis/push_redis_chan.h"
#include "store/push_store_shm.h"
#include "check.h"
#include "redis_server.h"

#define STORE_BYTES (4u << 20)

static push_redis_url_t server;

typedef struct {
    void            *mem;
    push_shm_t      *shm;
    push_store_t     store;
    push_bridge_t   *bridge;
    push_store_ref_t sub;
    push_msgid_t     cursor;     /* the subscriber's */
} copy_t;

static void quiet(void *ctx, int level, const char *msg)
{
    (void)ctx;
    if (getenv("TEST_VERBOSE") || level == 0) {
        fprintf(stderr, "bridge (%d): %s\n", level, msg);
    }
}

static void copy_open(copy_t *c, const char *chan, const char *name)
{
    memset(c, 0, sizeof(*c));
    c->mem = mmap(NULL, STORE_BYTES, PROT_READ | PROT_WRITE,
                  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    c->shm = push_shm_format(c->mem, STORE_BYTES, time(NULL));
    if (!c->shm) {
        fprintf(stderr, "no store\n");
        exit(2);
    }
    c->store.engine = &push_shm_engine;
    c->store.inst = (push_store_inst_t *)c->shm;
    c->bridge = push_bridge_create(&c->store, &server, 1, "push:", name,
                                   400, quiet, NULL);
    push_bridge_tune(c->bridge, 300, 200, 60000);
    if (chan) {
        CHECK(push_shm_subscribe(c->shm, chan, strlen(chan), time(NULL),
                                 &c->sub, NULL) == PUSH_OK);
    }
}

static void copy_close(copy_t *c)
{
    push_bridge_destroy(c->bridge);
    munmap(c->mem, STORE_BYTES);
}

static char copy_buf[1 << 16];

static void *to_buf(void *ctx, const push_msgid_t *id, size_t size)
{
    (void)ctx;
    (void)id;
    return size <= sizeof(copy_buf) ? copy_buf : NULL;
}

/* The subscriber's next message in the copy (body into out), 1; 0 none;
 * with *gap set when a gap came first. */
static int take(copy_t *c, push_message_t *m, int *gap)
{
    push_msgid_t gap_id;
    push_status_e st = push_shm_next(c->shm, &c->sub, &c->cursor,
                                     time(NULL), to_buf, NULL, m, gap,
                                     &gap_id);

    if (st != PUSH_FOUND) {
        return 0;
    }
    c->cursor = m->id;
    return 1;
}

/* Steps both bridges until cond (or 5 s). */
#define STEP_UNTIL(a, b, cond)                                             \
    do {                                                                   \
        long long until_ = push_redis_now_ms() + 5000;                     \
        while (!(cond) && push_redis_now_ms() < until_) {                  \
            push_bridge_step((a)->bridge, 10);                             \
            if ((b) != NULL) {                                             \
                push_bridge_step(((copy_t *)(b))->bridge, 10);             \
            }                                                              \
        }                                                                  \
    } while (0)

static push_bridge_stats_t stats(const copy_t *c)
{
    push_bridge_stats_t st;

    push_bridge_stats(c->bridge, &st);
    return st;
}

static push_redis_published_t publish(push_redis_conn_t *c,
                                      const char *chan, const char *body,
                                      size_t len, uint32_t keep)
{
    push_redis_keys_t k;
    push_redis_msg_t m;
    push_redis_published_t p;
    char err[200];

    memset(&m, 0, sizeof(m));
    m.body = body;
    m.body_len = len;
    m.content_type = "text/plain";
    m.content_type_len = 10;
    push_redis_keys(&k, "push:", chan, strlen(chan));
    memset(&p, 0, sizeof(p));
    if (push_redis_publish(c, &k, NULL, NULL, &m, keep, 0, 2000, &p, err,
                           sizeof(err)) != 0) {
        fprintf(stderr, "publish: %s\n", err);
    }
    push_redis_keys_free(&k);
    return p;
}

static void command(push_redis_conn_t *c, int argc, const char **argv)
{
    redisReply *r = push_redis_call(c, argc, argv, NULL, 2000);

    CHECK(r && r->type != REDIS_REPLY_ERROR);
    if (r) {
        freeReplyObject(r);
    }
}

static void test_fan_out(void)
{
    push_redis_conn_t *pub = redis_conn(&server), *admin = redis_conn(&server);
    push_redis_published_t p[20];
    copy_t a, b;
    push_message_t m;
    char big[6000];
    int i, gap, got_a = 0, got_b = 0, order_a = 1, order_b = 1;

    /* Published before either server followed the channel. */
    p[0] = publish(pub, "room", "before", 6, 100);
    copy_open(&a, "room", "server-a");
    copy_open(&b, "room", "server-b");
    STEP_UNTIL(&a, &b, stats(&a).followed == 1 && stats(&b).followed == 1
                       && stats(&a).caught_up >= 1
                       && stats(&b).caught_up >= 1);
    CHECK_EQ(stats(&a).followed, 1);
    CHECK_EQ(stats(&b).followed, 1);
    /* Followed and caught up: the store says a subscriber need not sync;
     * a channel nobody follows, or a word not renewed, says it must. */
    CHECK_EQ(push_shm_mirrored(a.shm, "room", 4, push_redis_now_ms()), 1);
    CHECK_EQ(push_shm_mirrored(a.shm, "other", 5, push_redis_now_ms()), 0);
    CHECK_EQ(push_shm_mirrored(a.shm, "room", 4, push_redis_now_ms() + 60000),
             0);
    CHECK(take(&a, &m, &gap) && push_msgid_cmp(&m.id, &p[0].id) == 0
          && m.body_len == 6 && memcmp(m.body, "before", 6) == 0);
    CHECK(take(&b, &m, &gap) && push_msgid_cmp(&m.id, &p[0].id) == 0);

    /* Then live: small ones from the notice, a large one from the
     * stream, all in order on both. */
    memset(big, 'B', sizeof(big));
    for (i = 1; i < 20; i++) {
        char body[16];

        if (i == 10) {
            p[i] = publish(pub, "room", big, sizeof(big), 100);
            continue;
        }
        snprintf(body, sizeof(body), "m%d", i);
        p[i] = publish(pub, "room", body, strlen(body), 100);
    }
    {
        long long until = push_redis_now_ms() + 5000;

        while ((got_a < 19 || got_b < 19) && push_redis_now_ms() < until) {
            push_bridge_step(a.bridge, 10);
            push_bridge_step(b.bridge, 10);
            while (got_a < 19 && take(&a, &m, &gap)) {
                order_a &= push_msgid_cmp(&m.id, &p[got_a + 1].id) == 0
                           && !gap;
                got_a++;
            }
            while (got_b < 19 && take(&b, &m, &gap)) {
                order_b &= push_msgid_cmp(&m.id, &p[got_b + 1].id) == 0
                           && !gap;
                got_b++;
            }
        }
    }
    CHECK_EQ(got_a, 19);
    CHECK_EQ(got_b, 19);
    CHECK(order_a && order_b);
    /* The nine before the large one from their notices; the large one
     * read from the stream, with what came after it meanwhile. */
    CHECK(stats(&a).applied >= 9);
    CHECK(stats(&a).caught_up >= 2);
    CHECK(!take(&a, &m, &gap) && !take(&b, &m, &gap));   /* once each */

    /* The pub/sub connections killed: what is published meanwhile still
     * comes, once. */
    {
        const char *kill[4] = { "CLIENT", "KILL", "TYPE", "pubsub" };
        push_redis_published_t q;
        unsigned long connects = stats(&a).connects;
        int n = 0;

        command(admin, 4, kill);
        /* The bridge finds its connection gone: no longer vouched. */
        STEP_UNTIL(&a, NULL, push_shm_mirrored(a.shm, "room", 4,
                                               push_redis_now_ms()) == 0);
        CHECK_EQ(push_shm_mirrored(a.shm, "room", 4, push_redis_now_ms()), 0);
        q = publish(pub, "room", "while away", 10, 100);
        STEP_UNTIL(&a, &b, stats(&a).connects > connects
                           && take(&a, &m, &gap) && ++n);
        CHECK_EQ(n, 1);
        CHECK(n == 1 && push_msgid_cmp(&m.id, &q.id) == 0 && !gap);
        CHECK(stats(&a).connects == connects + 1);
        /* Subscribed again and caught up: vouched for again. */
        STEP_UNTIL(&a, NULL, push_shm_mirrored(a.shm, "room", 4,
                                               push_redis_now_ms()) == 1);
        CHECK_EQ(push_shm_mirrored(a.shm, "room", 4, push_redis_now_ms()), 1);
        STEP_UNTIL(&b, NULL, take(&b, &m, &gap));
        CHECK(push_msgid_cmp(&b.cursor, &q.id) == 0);
    }

    /* Redis paused (the connection open, nothing delivered): the probe
     * finds it dead, and once Redis answers again nothing is missed. */
    {
        const char *pause[3] = { "CLIENT", "PAUSE", "1500" };
        push_redis_published_t q;
        unsigned long dead = stats(&a).dead_probes;

        command(admin, 3, pause);
        STEP_UNTIL(&a, NULL, stats(&a).dead_probes > dead);
        CHECK_EQ(stats(&a).dead_probes, dead + 1);
        q = publish(pub, "room", "after the pause", 15, 100);
        STEP_UNTIL(&a, NULL, take(&a, &m, &gap));
        CHECK(push_msgid_cmp(&a.cursor, &q.id) == 0 && !gap);
    }

    /* Deleted in Redis: deleted in both copies, their subscribers see the
     * channel gone. */
    {
        push_redis_keys_t k;
        long long had = -1;
        char err[200];
        push_msgid_t gap_id;

        push_redis_keys(&k, "push:", "room", 4);
        CHECK_EQ(push_redis_delete(pub, &k, 2000, &had, err, sizeof(err)), 0);
        CHECK(had > 0);
        push_redis_keys_free(&k);
        STEP_UNTIL(&a, &b, stats(&a).deleted == 1 && stats(&b).deleted == 1);
        CHECK_EQ(stats(&a).deleted, 1);
        CHECK_EQ(stats(&b).deleted, 1);
        CHECK(push_shm_next(b.shm, &b.sub, &b.cursor, time(NULL), to_buf,
                            NULL, &m, &gap, &gap_id) == PUSH_GONE);
    }

    /* Everyone leaves: the channel is dropped after the linger. */
    push_shm_unsubscribe(a.shm, &a.sub);
    STEP_UNTIL(&a, NULL, stats(&a).followed == 0);
    CHECK_EQ(stats(&a).followed, 0);
    CHECK_EQ(push_shm_mirrored(a.shm, "room", 4, push_redis_now_ms()), 0);

    copy_close(&a);
    copy_close(&b);
    push_redis_close(pub);
    push_redis_close(admin);
}

static int mirrored(copy_t *c, const char *chan)
{
    return push_shm_mirrored(c->shm, chan, strlen(chan), push_redis_now_ms());
}

/* A catch-up Redis keeps refusing (the channel's stream replaced by a key
 * of another type): the copy is no longer vouched for from the first
 * failure, the catch-up is tried again less and less often (250 ms, then
 * doubling), and once the key is back the copy is caught up and vouched
 * for again. */
static void test_catch_up_failing(void)
{
    push_redis_conn_t *pub = redis_conn(&server);
    push_redis_keys_t k;
    copy_t a;
    unsigned long failures;
    long long until;

    publish(pub, "broken", "one", 3, 100);
    copy_open(&a, "broken", "server-a");
    STEP_UNTIL(&a, NULL, mirrored(&a, "broken") == 1);
    CHECK_EQ(mirrored(&a, "broken"), 1);
    push_redis_keys(&k, "push:", "broken", 6);
    {
        const char *aside[3] = { "RENAME", k.stream, "push:broken-aside" };
        const char *wrong[3] = { "SET", k.stream, "not a stream" };
        const char *notice[3] = { "PUBLISH", k.pubsub, "not a notice" };

        command(pub, 3, aside);
        command(pub, 3, wrong);
        command(pub, 3, notice);     /* the copy must read the stream */
    }
    STEP_UNTIL(&a, NULL, stats(&a).catch_up_failures >= 1);
    CHECK_EQ(stats(&a).catch_up_failures, 1);
    CHECK_EQ(mirrored(&a, "broken"), 0);
    /* Two seconds more: tries 250, 750 and 1750 ms after the first (every
     * 10 ms step would make about 200). */
    until = push_redis_now_ms() + 2000;
    while (push_redis_now_ms() < until) {
        push_bridge_step(a.bridge, 10);
    }
    failures = stats(&a).catch_up_failures;
    if (failures < 3 || failures > 5) {
        fprintf(stderr, "catch-up tries in 2 s after the first: %lu, "
                "expected 3 to 5 in all\n", failures);
    }
    CHECK(failures >= 3 && failures <= 5);
    CHECK_EQ(mirrored(&a, "broken"), 0);
    {
        const char *del[2] = { "DEL", k.stream };
        const char *back[3] = { "RENAME", "push:broken-aside", k.stream };

        command(pub, 2, del);
        command(pub, 3, back);
    }
    STEP_UNTIL(&a, NULL, mirrored(&a, "broken") == 1);
    CHECK_EQ(mirrored(&a, "broken"), 1);
    push_redis_keys_free(&k);
    copy_close(&a);
    push_redis_close(pub);
}

/* A copy made after Redis trimmed the channel: the oldest Redis has,
 * after a gap, for a subscriber from the start; a subscriber starting at
 * the newest starts at Redis' last id. */
static void test_trimmed(void)
{
    push_redis_conn_t *pub = redis_conn(&server), *c = redis_conn(&server);
    push_redis_published_t p[10];
    push_channel_info_t info;
    push_message_t m;
    copy_t a;
    char err[200];
    int i, gap = 0;

    for (i = 0; i < 10; i++) {
        char body[16];

        snprintf(body, sizeof(body), "t%d", i);
        p[i] = publish(pub, "short", body, strlen(body), 3);
    }
    copy_open(&a, NULL, "server-a");
    CHECK_EQ(push_mirror_catch_up(&a.store, c, "push:", "short", 5,
                                  time(NULL), 2000, err, sizeof(err)), 0);
    CHECK(push_shm_info(a.shm, "short", 5, time(NULL), &info) == PUSH_OK
          && info.messages == 3 && push_msgid_cmp(&info.last_id, &p[9].id)
                                   == 0);
    CHECK(push_shm_subscribe(a.shm, "short", 5, time(NULL), &a.sub, NULL)
          == PUSH_OK);
    a.cursor = p[0].id;
    CHECK(take(&a, &m, &gap) && gap && push_msgid_cmp(&m.id, &p[7].id) == 0);
    /* Nothing new in Redis: a second catch-up changes nothing. */
    CHECK_EQ(push_mirror_catch_up(&a.store, c, "push:", "short", 5,
                                  time(NULL), 2000, err, sizeof(err)), 0);
    CHECK(push_shm_info(a.shm, "short", 5, time(NULL), &info) == PUSH_OK
          && info.messages == 3);
    /* Redis forgot the channel (restarted without persistence, its meta
     * expired) while this copy kept it: the catch-up finds Redis behind
     * the copy, moves Redis' last id one past the copy's, and records
     * that id as lost here, so the subscriber is told of a gap, and the
     * next message, in the same second, gets an id after it: none the
     * copy has is issued again. */
    {
        const char *del[3] = { "DEL", "push:{c:short}:s", "push:{c:short}:m" };
        redisReply *r = push_redis_call(c, 3, del, NULL, 2000);
        push_redis_published_t again;
        push_msgid_t burnt = p[9].id;

        freeReplyObject(r);
        burnt.tag++;
        CHECK_EQ(push_mirror_catch_up(&a.store, c, "push:", "short", 5,
                                      time(NULL), 2000, err, sizeof(err)), 0);
        CHECK(push_shm_info(a.shm, "short", 5, time(NULL), &info) == PUSH_OK
              && push_msgid_cmp(&info.last_id, &burnt) == 0);
        again = publish(pub, "short", "reborn", 6, 3);
        CHECK(push_msgid_cmp(&again.prev, &burnt) == 0);
        CHECK(push_msgid_cmp(&again.id, &burnt) > 0);
        CHECK_EQ(push_mirror_catch_up(&a.store, c, "push:", "short", 5,
                                      time(NULL), 2000, err, sizeof(err)), 0);
        CHECK(push_shm_info(a.shm, "short", 5, time(NULL), &info) == PUSH_OK
              && push_msgid_cmp(&info.last_id, &again.id) == 0);
        a.cursor = p[9].id;
        gap = 0;
        CHECK(take(&a, &m, &gap) && gap
              && push_msgid_cmp(&m.id, &again.id) == 0);
    }

    /* A failover that lost a tail: Redis' last id is back two messages
     * (and its stream lacks them).  Found the same way; and a publisher
     * whose copy has the lost ones (its floor) gets an id after them. */
    {
        push_redis_published_t q[3], next;
        push_msgid_t lost_last;
        char lt[24], ln[16], id1[48], id2[48];
        const char *back[6] = { "HSET", "push:{c:short}:m", "lt", lt, "ln", ln };
        const char *xdel[4] = { "XDEL", "push:{c:short}:s", id1, id2 };
        push_redis_keys_t k;
        push_redis_msg_t mm;

        for (i = 0; i < 3; i++) {
            q[i] = publish(pub, "short", "tail", 4, 3);
        }
        CHECK_EQ(push_mirror_catch_up(&a.store, c, "push:", "short", 5,
                                      time(NULL), 2000, err, sizeof(err)), 0);
        snprintf(lt, sizeof(lt), "%lld", (long long)q[0].id.time);
        snprintf(ln, sizeof(ln), "%u", q[0].id.tag);
        snprintf(id1, sizeof(id1), "%lld-%u", (long long)q[1].id.time,
                 q[1].id.tag);
        snprintf(id2, sizeof(id2), "%lld-%u", (long long)q[2].id.time,
                 q[2].id.tag);
        command(pub, 4, xdel);
        command(pub, 6, back);

        /* A publisher with a floor, before any catch-up: past it. */
        memset(&mm, 0, sizeof(mm));
        mm.body = "floored";
        mm.body_len = 7;
        push_redis_keys(&k, "push:", "short", 5);
        CHECK_EQ(push_redis_publish(pub, &k, NULL, &q[2].id, &mm, 3, 0, 2000,
                                    &next, err, sizeof(err)), 0);
        push_redis_keys_free(&k);
        CHECK(push_msgid_cmp(&next.id, &q[2].id) > 0);
        CHECK(push_msgid_cmp(&next.prev, &q[2].id) > 0 && next.hole);
        /* The publisher's own copy takes it at once, after the hole. */
        CHECK_EQ(push_mirror_apply(&a.store, "short", 5, &next, &mm,
                                   time(NULL), NULL), 0);
        CHECK(push_shm_info(a.shm, "short", 5, time(NULL), &info) == PUSH_OK
              && push_msgid_cmp(&info.last_id, &next.id) == 0);
        CHECK_EQ(push_mirror_catch_up(&a.store, c, "push:", "short", 5,
                                      time(NULL), 2000, err, sizeof(err)), 0);
        CHECK(push_shm_info(a.shm, "short", 5, time(NULL), &info) == PUSH_OK
              && push_msgid_cmp(&info.last_id, &next.id) == 0);

        /* Without a floor, after the tail is lost again: the copy is
         * ahead of Redis, which the catch-up finds; a gap, then on. */
        snprintf(lt, sizeof(lt), "%lld", (long long)q[0].id.time);
        snprintf(ln, sizeof(ln), "%u", q[0].id.tag);
        command(pub, 6, back);
        lost_last = next.id;
        lost_last.tag++;
        CHECK_EQ(push_mirror_catch_up(&a.store, c, "push:", "short", 5,
                                      time(NULL), 2000, err, sizeof(err)), 0);
        CHECK(push_shm_info(a.shm, "short", 5, time(NULL), &info) == PUSH_OK
              && push_msgid_cmp(&info.last_id, &lost_last) == 0);
        a.cursor = next.id;
        next = publish(pub, "short", "on", 2, 3);
        CHECK(push_msgid_cmp(&next.prev, &lost_last) == 0);
        CHECK_EQ(push_mirror_catch_up(&a.store, c, "push:", "short", 5,
                                      time(NULL), 2000, err, sizeof(err)), 0);
        gap = 0;
        CHECK(take(&a, &m, &gap) && gap
              && push_msgid_cmp(&m.id, &next.id) == 0);
    }
    /* A message Redis took that this store can never hold (larger than
     * all of it): a gap here, and the channel goes on after it. */
    {
        size_t huge_len = STORE_BYTES + 1024;
        char *huge = malloc(huge_len);
        push_redis_published_t h, after;
        push_msgid_t before;

        CHECK(push_shm_info(a.shm, "short", 5, time(NULL), &info) == PUSH_OK);
        before = info.last_id;
        memset(huge, 'H', huge_len);
        h = publish(pub, "short", huge, huge_len, 3);
        free(huge);
        after = publish(pub, "short", "small", 5, 3);
        CHECK(push_msgid_cmp(&after.prev, &h.id) == 0);
        CHECK_EQ(push_mirror_catch_up(&a.store, c, "push:", "short", 5,
                                      time(NULL), 2000, err, sizeof(err)), 0);
        CHECK(push_shm_info(a.shm, "short", 5, time(NULL), &info) == PUSH_OK
              && push_msgid_cmp(&info.last_id, &after.id) == 0);
        a.cursor = before;
        gap = 0;
        CHECK(take(&a, &m, &gap) && gap
              && push_msgid_cmp(&m.id, &after.id) == 0);
    }

    /* A channel Redis never had: nothing, no error. */
    CHECK_EQ(push_mirror_catch_up(&a.store, c, "push:", "nothing", 7,
                                  time(NULL), 2000, err, sizeof(err)), 0);
    push_shm_unsubscribe(a.shm, &a.sub);
    copy_close(&a);
    push_redis_close(pub);
    push_redis_close(c);
}

/* Says what a copy's subscriber took, when it is not what was meant. */
static void expect_take(copy_t *c, const push_msgid_t *id, int want_gap,
                        const char *what)
{
    push_message_t m;
    int gap = 0, got = take(c, &m, &gap);

    CHECK(got && gap == want_gap && push_msgid_cmp(&m.id, id) == 0);
    if (!got || gap != want_gap || push_msgid_cmp(&m.id, id) != 0) {
        fprintf(stderr, "%s: expected %lld:%u%s, got %s%lld:%u%s\n", what,
                (long long)id->time, id->tag, want_gap ? " after a gap" : "",
                got ? "" : "nothing, ", got ? (long long)m.id.time : 0LL,
                got ? m.id.tag : 0u, gap ? " after a gap" : "");
    }
}

/* Redis lost a channel and made it again, and its new epoch issued ids
 * this copy has for other messages (a publisher with no copy, in the
 * same second): the copy's subscribers are told of a gap, never handed
 * the new epoch's messages as if they had missed nothing. */
static void test_epoch(void)
{
    push_redis_conn_t *pub = redis_conn(&server), *c = redis_conn(&server);
    push_redis_published_t e[3], x[5];
    push_channel_info_t info;
    copy_t a;
    char err[200], lt[24], ln[16];
    const char *del[3] = { "DEL", "push:{c:ep}:s", "push:{c:ep}:m" };
    const char *meta[8] = { "HSET", "push:{c:ep}:m", "lt", lt, "ln", ln,
                            "ep", NULL };
    long long ahead = (long long)time(NULL) + 100;
    int i;

    /* Ids in a second of their own (ahead of the clock), so that the new
     * epoch's can be made to land on them. */
    snprintf(lt, sizeof(lt), "%lld", ahead);
    snprintf(ln, sizeof(ln), "0");
    meta[7] = "111";
    command(pub, 8, meta);
    copy_open(&a, "ep", "server-a");
    for (i = 0; i < 3; i++) {
        e[i] = publish(pub, "ep", "old", 3, 10);
    }
    CHECK(e[0].id.time == ahead && e[0].id.tag == 1 && e[0].epoch == 111);
    CHECK_EQ(push_mirror_catch_up(&a.store, c, "push:", "ep", 2, time(NULL),
                                  2000, err, sizeof(err)), 0);
    CHECK(push_shm_info(a.shm, "ep", 2, time(NULL), &info) == PUSH_OK
          && info.origin == 111 && push_msgid_cmp(&info.last_id, &e[2].id)
                                   == 0);
    a.cursor = e[2].id;

    /* Redis forgot it; the channel made again (epoch 222) issues the
     * same ids for other messages, and one more. */
    command(pub, 3, del);
    snprintf(ln, sizeof(ln), "0");
    meta[7] = "222";
    command(pub, 8, meta);
    for (i = 0; i < 4; i++) {
        x[i] = publish(pub, "ep", "new", 3, 10);
    }
    CHECK(push_msgid_cmp(&x[2].id, &e[2].id) == 0 && x[2].epoch == 222);
    /* Its notice is not stored as "had already": catch up. */
    {
        push_redis_msg_t m;

        memset(&m, 0, sizeof(m));
        m.body = "new";
        m.body_len = 3;
        CHECK_EQ(push_mirror_apply(&a.store, "ep", 2, &x[3], &m,
                                   time(NULL), NULL), 1);
    }
    CHECK_EQ(push_mirror_catch_up(&a.store, c, "push:", "ep", 2, time(NULL),
                                  2000, err, sizeof(err)), 0);
    CHECK(push_shm_info(a.shm, "ep", 2, time(NULL), &info) == PUSH_OK
          && info.origin == 222);
    /* The one after the reissued ids had no free id before it: it is the
     * gap; the next comes after it. */
    x[4] = publish(pub, "ep", "after", 5, 10);
    CHECK_EQ(push_mirror_catch_up(&a.store, c, "push:", "ep", 2, time(NULL),
                                  2000, err, sizeof(err)), 0);
    expect_take(&a, &x[4].id, 1, "after the reissued ids");

    /* Forgotten again, and made again (epoch 333) at exactly the copy's
     * last id: Redis is moved one past it, which is the gap. */
    command(pub, 3, del);
    snprintf(ln, sizeof(ln), "%u", x[4].id.tag);
    meta[7] = "333";
    command(pub, 8, meta);
    CHECK_EQ(push_mirror_catch_up(&a.store, c, "push:", "ep", 2, time(NULL),
                                  2000, err, sizeof(err)), 0);
    CHECK(push_shm_info(a.shm, "ep", 2, time(NULL), &info) == PUSH_OK
          && info.origin == 333 && info.last_id.tag == x[4].id.tag + 1);
    x[0] = publish(pub, "ep", "on", 2, 10);
    CHECK(x[0].id.tag == x[4].id.tag + 2);
    CHECK_EQ(push_mirror_catch_up(&a.store, c, "push:", "ep", 2, time(NULL),
                                  2000, err, sizeof(err)), 0);
    expect_take(&a, &x[0].id, 1, "after the epoch at the copy's last id");
    /* And in the same epoch from then on, no gap. */
    x[1] = publish(pub, "ep", "calm", 4, 10);
    CHECK_EQ(push_mirror_catch_up(&a.store, c, "push:", "ep", 2, time(NULL),
                                  2000, err, sizeof(err)), 0);
    expect_take(&a, &x[1].id, 0, "the same epoch");

    push_shm_unsubscribe(a.shm, &a.sub);
    copy_close(&a);
    push_redis_close(pub);
    push_redis_close(c);
}

/* The count of server `name` in the channel's counts hash, -1 none. */
static long long count_of(push_redis_conn_t *c, const char *chan,
                          const char *name)
{
    char key[64];
    const char *argv[3] = { "HGET", key, name };
    redisReply *r;
    long long n = -1;

    snprintf(key, sizeof(key), "push:{c:%s}:n", chan);
    r = push_redis_call(c, 3, argv, NULL, 2000);
    if (r && r->type == REDIS_REPLY_STRING) {
        n = strtoll(r->str, NULL, 10);
    }
    if (r) {
        freeReplyObject(r);
    }
    return n;
}

/* What a publish from `name` says the other servers have. */
static long long others_for(push_redis_conn_t *c, const char *chan,
                            const char *name)
{
    push_redis_keys_t k;
    push_redis_msg_t m;
    push_redis_published_t p;
    char err[200];

    memset(&m, 0, sizeof(m));
    m.body = "x";
    m.body_len = 1;
    push_redis_keys(&k, "push:", chan, strlen(chan));
    memset(&p, 0, sizeof(p));
    p.others = -1;
    if (push_redis_publish(c, &k, name, NULL, &m, 10, 0, 2000, &p, err,
                           sizeof(err)) != 0) {
        fprintf(stderr, "publish: %s\n", err);
    }
    push_redis_keys_free(&k);
    return p.others;
}

static void test_counts(void)
{
    push_redis_conn_t *c = redis_conn(&server);
    push_store_ref_t more[2];
    copy_t a, b;
    char until[64];
    const char *fake[6] = { "HSET", "push:{c:crowd}:n", "quiet", until,
                            "loud", "4 99999999999" };
    const char *drop[4] = { "HDEL", "push:{c:crowd}:n", "quiet", "loud" };

    copy_open(&a, "crowd", "server-a");
    copy_open(&b, "crowd", "server-b");
    CHECK(push_shm_subscribe(b.shm, "crowd", 5, time(NULL), &more[0], NULL)
          == PUSH_OK);
    STEP_UNTIL(&a, &b, count_of(c, "crowd", "server-a") == 1
                       && count_of(c, "crowd", "server-b") == 2);
    CHECK_EQ(count_of(c, "crowd", "server-a"), 1);
    CHECK_EQ(count_of(c, "crowd", "server-b"), 2);
    /* A publisher counts the others, not itself. */
    CHECK_EQ(others_for(c, "crowd", "server-a"), 2);
    CHECK_EQ(others_for(c, "crowd", "server-b"), 1);
    CHECK_EQ(others_for(c, "crowd", NULL), 3);

    /* A count changes: told at the next look. */
    CHECK(push_shm_subscribe(a.shm, "crowd", 5, time(NULL), &more[1], NULL)
          == PUSH_OK);
    STEP_UNTIL(&a, NULL, count_of(c, "crowd", "server-a") == 2);
    CHECK_EQ(count_of(c, "crowd", "server-a"), 2);
    CHECK_EQ(others_for(c, "crowd", "server-b"), 2);

    /* A server gone quiet (its count ran out) is not believed; one that
     * spoke lately is. */
    snprintf(until, sizeof(until), "5 %lld", (long long)time(NULL) - 1);
    command(c, 6, fake);
    CHECK_EQ(others_for(c, "crowd", "server-b"), 6);
    command(c, 4, drop);

    /* Everyone leaves b: its count goes (before the linger ends). */
    push_shm_unsubscribe(b.shm, &b.sub);
    push_shm_unsubscribe(b.shm, &more[0]);
    STEP_UNTIL(&b, NULL, count_of(c, "crowd", "server-b") == -1);
    CHECK_EQ(count_of(c, "crowd", "server-b"), -1);
    CHECK_EQ(others_for(c, "crowd", "server-a"), 0);

    /* A bridge that leaves takes its counts with it. */
    push_bridge_leave(a.bridge);
    CHECK_EQ(count_of(c, "crowd", "server-a"), -1);
    CHECK_EQ(others_for(c, "crowd", "server-b"), 0);

    push_shm_unsubscribe(a.shm, &a.sub);
    push_shm_unsubscribe(a.shm, &more[1]);
    copy_close(&a);
    copy_close(&b);
    push_redis_close(c);
}

int main(void)
{
    redis_start(&server);
    test_counts();
    test_trimmed();
    test_catch_up_failing();
    test_epoch();
    test_fan_out();
    return CHECK_DONE("test_bridge");
}
