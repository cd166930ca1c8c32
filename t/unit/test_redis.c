/* test_redis.c — the backplane's Redis layer against a real
 * redis-server (started here, private port and directory): PushRedis's
 * URL grammar, connections with deadlines (refused, silent, AUTH,
 * SELECT), and a channel in Redis (redis/push_redis_chan.c): ids in one
 * order from concurrent publishers, the previous id in each notice,
 * trimming by length and age, reading back, the epoch, and the publish
 * script surviving SCRIPT FLUSH. */
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "redis/push_redis_chan.h"
#include "redis/push_redis_conn.h"
#include "redis/push_redis_url.h"
#include "check.h"
#include "redis_server.h"

static push_redis_url_t server;

static void test_url(void)
{
    push_redis_url_t u;
    const char *why = NULL;

    CHECK_EQ(push_redis_url_parse("redis://127.0.0.1", &u, &why), 0);
    CHECK(strcmp(u.host, "127.0.0.1") == 0 && u.port == 6379 && u.db == 0
          && !u.has_password && !u.user[0]);
    CHECK_EQ(push_redis_url_parse("redis://cache-1.example.org:7001/3", &u,
                                  &why), 0);
    CHECK(strcmp(u.host, "cache-1.example.org") == 0 && u.port == 7001
          && u.db == 3);
    CHECK_EQ(push_redis_url_parse("redis://:s%40cret@h:1/", &u, &why), 0);
    CHECK(u.has_password && strcmp(u.password, "s@cret") == 0 && !u.user[0]
          && u.port == 1 && u.db == 0);
    CHECK_EQ(push_redis_url_parse("redis://app:pw:x@[::1]:6380", &u, &why),
             0);
    CHECK(strcmp(u.user, "app") == 0 && strcmp(u.password, "pw:x") == 0
          && strcmp(u.host, "::1") == 0 && u.port == 6380);
    CHECK_EQ(push_redis_url_parse("redis://:@h", &u, &why), 0);
    CHECK(u.has_password && !u.password[0]);
    CHECK(!u.tls);
    /* rediss://: the same, over TLS. */
    CHECK_EQ(push_redis_url_parse("rediss://app:pw@cache.example:6380/1", &u,
                                  &why), 0);
    CHECK(u.tls && strcmp(u.host, "cache.example") == 0 && u.port == 6380
          && u.db == 1 && strcmp(u.user, "app") == 0 && !u.tls_ctx);
    CHECK_EQ(push_redis_url_parse("redisss://h", &u, &why), -1);
    CHECK_EQ(push_redis_url_parse("rediss:/h", &u, &why), -1);

    why = NULL;
    CHECK_EQ(push_redis_url_parse("http://h", &u, &why), -1);
    CHECK(why && strstr(why, "redis://"));
    CHECK_EQ(push_redis_url_parse("redis://", &u, &why), -1);
    CHECK_EQ(push_redis_url_parse("redis://h:0", &u, &why), -1);
    CHECK(strstr(why, "port"));
    CHECK_EQ(push_redis_url_parse("redis://h:65536", &u, &why), -1);
    CHECK_EQ(push_redis_url_parse("redis://h:12x", &u, &why), -1);
    CHECK_EQ(push_redis_url_parse("redis://h:", &u, &why), -1);
    CHECK_EQ(push_redis_url_parse("redis://h/x", &u, &why), -1);
    CHECK(strstr(why, "database"));
    CHECK_EQ(push_redis_url_parse("redis://h/99999999999", &u, &why), -1);
    CHECK_EQ(push_redis_url_parse("redis://h?db=1", &u, &why), -1);
    CHECK_EQ(push_redis_url_parse("redis://user@h", &u, &why), -1);
    CHECK(strstr(why, "colon"));
    CHECK_EQ(push_redis_url_parse("redis://:a%0@h", &u, &why), -1);
    CHECK_EQ(push_redis_url_parse("redis://:a%00b@h", &u, &why), -1);
    CHECK_EQ(push_redis_url_parse("redis://h o", &u, &why), -1);
    CHECK_EQ(push_redis_url_parse("redis://[::1", &u, &why), -1);
    CHECK_EQ(push_redis_url_parse("redis://[::1]x", &u, &why), -1);
    CHECK_EQ(push_redis_url_parse("redis://[zz]", &u, &why), -1);
}

static redisReply *cmd(push_redis_conn_t *c, int argc, const char **argv)
{
    return push_redis_call(c, argc, argv, NULL, 2000);
}

static void test_connect(void)
{
    push_redis_url_t u = server;
    const char *ping[1] = { "PING" };
    char err[160];
    long long t0;
    push_redis_conn_t *c;
    redisReply *r;
    struct sockaddr_in a;
    socklen_t len = sizeof(a);
    int fd;

    /* Refused: at once, saying so. */
    u.port = redis_free_port();
    t0 = push_redis_now_ms();
    CHECK(push_redis_connect(&u, 2000, err, sizeof(err)) == NULL);
    CHECK(strstr(err, "refused") != NULL);
    CHECK(push_redis_now_ms() - t0 < 1000);

    /* Silent (the kernel accepts, nobody answers): the call gives up at
     * its timeout, and the connection is broken for good. */
    fd = socket(AF_INET, SOCK_STREAM, 0);
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK(bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0);
    CHECK(listen(fd, 4) == 0);
    CHECK(getsockname(fd, (struct sockaddr *)&a, &len) == 0);
    u.port = ntohs(a.sin_port);
    c = push_redis_connect(&u, 2000, err, sizeof(err));
    CHECK(c != NULL);
    if (c) {
        long long took;

        t0 = push_redis_now_ms();
        r = push_redis_call(c, 1, ping, NULL, 300);
        took = push_redis_now_ms() - t0;
        CHECK(r == NULL);
        CHECK(took >= 290 && took < 2000);
        CHECK(push_redis_broken(c) && strstr(push_redis_broken(c),
                                              "timed out"));
        CHECK(push_redis_call(c, 1, ping, NULL, 300) == NULL);
        push_redis_close(c);
    }
    close(fd);

    /* Sound. */
    c = redis_conn(&server);
    r = cmd(c, 1, ping);
    CHECK(r && r->type == REDIS_REPLY_STATUS && strcmp(r->str, "PONG") == 0);
    freeReplyObject(r);
    CHECK(push_redis_broken(c) == NULL);
    CHECK(push_redis_idle_ok(c) == 1);

    /* Closed by the server while idle (as a Redis restart closes every
     * connection): seen before the next use, which is not wasted. */
    {
        const char *id[2] = { "CLIENT", "ID" };
        push_redis_conn_t *admin = redis_conn(&server);
        char num[32];
        const char *kill[4] = { "CLIENT", "KILL", "ID", num };
        int tries;

        r = cmd(c, 2, id);
        CHECK(r && r->type == REDIS_REPLY_INTEGER);
        snprintf(num, sizeof(num), "%lld", r ? r->integer : -1LL);
        freeReplyObject(r);
        r = cmd(admin, 4, kill);
        CHECK(r && r->type == REDIS_REPLY_INTEGER && r->integer == 1);
        freeReplyObject(r);
        for (tries = 0; tries < 100 && push_redis_idle_ok(c); tries++) {
            usleep(10000);
        }
        CHECK(push_redis_idle_ok(c) == 0);
        CHECK(push_redis_broken(c)
              && strstr(push_redis_broken(c), "closed") != NULL);
        CHECK(push_redis_idle_ok(admin) == 1);
        push_redis_close(admin);
    }
    push_redis_close(c);
}

static void test_auth_select(void)
{
    const char *set_pw[4] = { "CONFIG", "SET", "requirepass", "t0ps3cret" };
    const char *clear_pw[4] = { "CONFIG", "SET", "requirepass", "" };
    const char *set_k[3] = { "SET", "push-test-db", "three" };
    const char *get_k[2] = { "GET", "push-test-db" };
    push_redis_conn_t *admin = redis_conn(&server), *c;
    push_redis_url_t u = server;
    char err[160];
    redisReply *r;

    r = cmd(admin, 4, set_pw);
    CHECK(r && r->type == REDIS_REPLY_STATUS);
    freeReplyObject(r);

    /* Without the password: connected, every command refused. */
    c = push_redis_connect(&server, 2000, err, sizeof(err));
    CHECK(c != NULL);
    if (c) {
        const char *ping[1] = { "PING" };

        r = cmd(c, 1, ping);
        CHECK(r && r->type == REDIS_REPLY_ERROR
              && strncmp(r->str, "NOAUTH", 6) == 0);
        freeReplyObject(r);
        push_redis_close(c);
    }
    u.has_password = 1;
    snprintf(u.password, sizeof(u.password), "wrong");
    CHECK(push_redis_connect(&u, 2000, err, sizeof(err)) == NULL);
    CHECK(strstr(err, "AUTH refused") != NULL);

    snprintf(u.password, sizeof(u.password), "t0ps3cret");
    u.db = 3;
    c = push_redis_connect(&u, 2000, err, sizeof(err));
    CHECK(c != NULL);
    if (c) {
        r = cmd(c, 3, set_k);
        CHECK(r && r->type == REDIS_REPLY_STATUS);
        freeReplyObject(r);
        push_redis_close(c);
    }
    u.db = 0;
    c = push_redis_connect(&u, 2000, err, sizeof(err));
    CHECK(c != NULL);
    if (c) {
        r = cmd(c, 2, get_k);
        CHECK(r && r->type == REDIS_REPLY_NIL);   /* it went to db 3 */
        freeReplyObject(r);
        r = cmd(c, 4, clear_pw);
        CHECK(r && r->type == REDIS_REPLY_STATUS);
        freeReplyObject(r);
        push_redis_close(c);
    }
    push_redis_close(admin);
}

static push_redis_msg_t text(const char *body, const char *ct,
                             const char *ev)
{
    push_redis_msg_t m;

    memset(&m, 0, sizeof(m));
    m.body = body;
    m.body_len = strlen(body);
    m.content_type = ct;
    m.content_type_len = strlen(ct);
    m.event = ev;
    m.event_len = strlen(ev);
    return m;
}

static int same(const char *a, size_t alen, const char *b)
{
    return a && alen == strlen(b) && memcmp(a, b, alen) == 0;
}

/* The next pub/sub push on c within 2 s (NULL on none). */
static redisReply *push_on(push_redis_conn_t *c)
{
    long long until = push_redis_now_ms() + 2000;
    redisReply *r;

    while (push_redis_next(c, &r) == 0) {
        if (push_redis_now_ms() > until) {
            return NULL;
        }
        usleep(2000);
        if (push_redis_feed(c) != 0) {
            return NULL;
        }
    }
    return r;
}

static void test_publish(void)
{
    push_redis_conn_t *c = redis_conn(&server), *sub = redis_conn(&server);
    push_redis_keys_t k;
    push_redis_published_t p[6], n;
    push_redis_msg_t m;
    push_redis_state_t st;
    redisReply *r;
    char err[160], big[PUSH_REDIS_INLINE_MAX + 2];   /* one over */
    const char *ch = "room:7/a b%";
    unsigned i;
    int inl;

    CHECK_EQ(push_redis_keys(&k, "push:", ch, strlen(ch)), 0);
    CHECK(strcmp(k.stream, "push:{c:room:7/a b%}:s") == 0);
    CHECK(strcmp(k.meta, "push:{c:room:7/a b%}:m") == 0);
    CHECK(strcmp(k.pubsub, "push:{c:room:7/a b%}") == 0);

    /* The notice reaches a subscriber of the channel. */
    {
        const char *argv[2] = { "SUBSCRIBE", k.pubsub };

        CHECK_EQ(push_redis_send(sub, 2, argv, NULL), 0);
        CHECK_EQ(push_redis_flush(sub), 1);
        r = push_on(sub);
        CHECK(r && r->type == REDIS_REPLY_ARRAY && r->elements == 3);
        freeReplyObject(r);
    }

    m = text("hello", "text/plain", "greet");
    CHECK_EQ(push_redis_publish(c, &k, NULL, NULL, &m, 10, 0, 2000, &p[0], err,
                                sizeof(err)), 0);
    CHECK(p[0].prev.time == 0 && p[0].prev.tag == 0);
    CHECK(p[0].keep == 10 && p[0].timeout == 0);
    CHECK(p[0].id.time > 1700000000 && p[0].epoch > 0);
    CHECK_EQ(p[0].receivers, 1);
    r = push_on(sub);
    CHECK(r && r->type == REDIS_REPLY_ARRAY && r->elements == 3
          && strcmp(r->element[0]->str, "message") == 0);
    if (r && r->elements == 3) {
        CHECK_EQ(push_redis_notice_parse(r->element[2]->str,
                                         r->element[2]->len, &n, &inl, &m),
                 0);
        CHECK(inl && push_msgid_cmp(&n.id, &p[0].id) == 0
              && n.prev.time == 0 && n.epoch == p[0].epoch);
        CHECK(same(m.body, m.body_len, "hello")
              && same(m.content_type, m.content_type_len, "text/plain")
              && same(m.event, m.event_len, "greet"));
    }
    freeReplyObject(r);

    /* Each id after the last, each notice naming the one before. */
    for (i = 1; i < 6; i++) {
        char body[16];

        snprintf(body, sizeof(body), "m%u", i);
        m = text(body, "", "");
        CHECK_EQ(push_redis_publish(c, &k, NULL, NULL, &m, 10, 0, 2000, &p[i], err,
                                    sizeof(err)), 0);
        CHECK(push_msgid_cmp(&p[i].id, &p[i - 1].id) > 0);
        CHECK(push_msgid_cmp(&p[i].prev, &p[i - 1].id) == 0);
        CHECK(p[i].epoch == p[0].epoch);
        if (p[i].id.time == p[i - 1].id.time) {
            CHECK_EQ(p[i].id.tag, p[i - 1].id.tag + 1);
        }
        else {
            CHECK_EQ(p[i].id.tag, 0);
        }
        r = push_on(sub);
        CHECK(r && r->elements == 3
              && push_redis_notice_parse(r->element[2]->str,
                                         r->element[2]->len, &n, &inl, &m)
                 == 0
              && inl && push_msgid_cmp(&n.prev, &p[i - 1].id) == 0
              && same(m.body, m.body_len, body) && m.content_type_len == 0);
        freeReplyObject(r);
    }

    /* Too big for a notice: told without it, read from the stream. */
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    m = text(big, "application/octet-stream", "");
    CHECK_EQ(push_redis_publish(c, &k, NULL, NULL, &m, 10, 0, 2000, &n, err,
                                sizeof(err)), 0);
    r = push_on(sub);
    {
        push_redis_published_t told;

        CHECK(r && r->elements == 3
              && push_redis_notice_parse(r->element[2]->str,
                                         r->element[2]->len, &told, &inl,
                                         &m) == 0
              && !inl && push_msgid_cmp(&told.id, &n.id) == 0);
    }
    freeReplyObject(r);

    /* Reading back: everything, then what is after an id; each entry
     * with the id before it, the state with the last id. */
    CHECK_EQ(push_redis_read(c, &k, &(push_msgid_t){0, 0}, 8, 2000, &st, err,
                             sizeof(err)), 0);
    CHECK_EQ(st.n, 7);
    CHECK(st.exists && push_msgid_cmp(&st.last, &n.id) == 0
          && st.epoch == p[0].epoch && st.keep == 10 && st.timeout == 0);
    if (st.n == 7) {
        CHECK(push_msgid_cmp(&st.msgs[0].id, &p[0].id) == 0
              && st.msgs[0].prev.time == 0
              && same(st.msgs[0].body, st.msgs[0].body_len, "hello")
              && same(st.msgs[0].event, st.msgs[0].event_len, "greet"));
        CHECK(push_msgid_cmp(&st.msgs[3].prev, &p[2].id) == 0);
        CHECK(push_msgid_cmp(&st.msgs[6].id, &n.id) == 0
              && push_msgid_cmp(&st.msgs[6].prev, &p[5].id) == 0
              && st.msgs[6].body_len == sizeof(big) - 1);
    }
    push_redis_state_free(&st);
    CHECK_EQ(push_redis_read(c, &k, &p[3].id, 2, 2000, &st, err,
                             sizeof(err)), 0);
    CHECK_EQ(st.n, 2);
    CHECK(st.n == 2 && push_msgid_cmp(&st.msgs[0].id, &p[4].id) == 0
          && push_msgid_cmp(&st.msgs[1].id, &p[5].id) == 0);
    push_redis_state_free(&st);

    /* Exactly `keep` kept; 0 keeps the newest only (for its notice). */
    m = text("t", "", "");
    CHECK_EQ(push_redis_publish(c, &k, NULL, NULL, &m, 3, 0, 2000, &n, err,
                                sizeof(err)), 0);
    CHECK_EQ(push_redis_read(c, &k, &(push_msgid_t){0, 0}, 8, 2000, &st, err,
                             sizeof(err)), 0);
    CHECK_EQ(st.n, 3);
    CHECK(st.n == 3 && push_msgid_cmp(&st.msgs[2].id, &n.id) == 0
          && st.keep == 3);
    push_redis_state_free(&st);
    CHECK_EQ(push_redis_publish(c, &k, NULL, NULL, &m, 0, 0, 2000, &n, err,
                                sizeof(err)), 0);
    CHECK_EQ(push_redis_read(c, &k, &(push_msgid_t){0, 0}, 8, 2000, &st, err,
                             sizeof(err)), 0);
    CHECK_EQ(st.n, 1);
    push_redis_state_free(&st);
    /* Nothing after the last; no such channel. */
    CHECK_EQ(push_redis_read(c, &k, &n.id, 8, 2000, &st, err, sizeof(err)),
             0);
    CHECK(st.exists && st.n == 0 && push_msgid_cmp(&st.last, &n.id) == 0);
    push_redis_state_free(&st);
    {
        push_redis_keys_t none;

        CHECK_EQ(push_redis_keys(&none, "push:", "never", 5), 0);
        CHECK_EQ(push_redis_read(c, &none, &(push_msgid_t){0, 0}, 8, 2000,
                                 &st, err, sizeof(err)), 0);
        CHECK(!st.exists && st.n == 0);
        push_redis_state_free(&st);
        push_redis_keys_free(&none);
    }

    /* The script survives SCRIPT FLUSH (NOSCRIPT, then by its text). */
    {
        const char *flush[2] = { "SCRIPT", "FLUSH" };
        push_redis_published_t after;

        r = cmd(c, 2, flush);
        freeReplyObject(r);
        CHECK_EQ(push_redis_publish(c, &k, NULL, NULL, &m, 10, 0, 2000, &after, err,
                                    sizeof(err)), 0);
        CHECK(push_msgid_cmp(&after.prev, &n.id) == 0);
    }

    /* A channel Redis lost comes back with another epoch, its ids still
     * after... whatever Redis' clock says (the meta went with it). */
    {
        const char *del[3] = { "DEL", k.stream, k.meta };
        push_redis_published_t again;

        r = cmd(c, 3, del);
        freeReplyObject(r);
        CHECK_EQ(push_redis_publish(c, &k, NULL, NULL, &m, 10, 0, 2000, &again, err,
                                    sizeof(err)), 0);
        CHECK(again.epoch != p[0].epoch);
        CHECK(again.prev.time == 0 && again.prev.tag == 0);

        /* Lost again; a publisher whose copy has `again` (its floor)
         * gets an id after it, in the same second or not, and the
         * previous id it names is the hole just past the floor (every
         * copy at the floor sees a gap: Redis went back). */
        r = cmd(c, 3, del);
        freeReplyObject(r);
        CHECK_EQ(push_redis_publish(c, &k, NULL, &again.id, &m, 10, 0, 2000,
                                    &n, err, sizeof(err)), 0);
        CHECK(push_msgid_cmp(&n.id, &n.prev) > 0 && n.hole);
        if (n.prev.time != again.id.time || n.prev.tag != again.id.tag + 1) {
            fprintf(stderr, "the hole: expected %" PRId64 ":%" PRIu32
                    ", got %" PRId64 ":%" PRIu32 "\n", again.id.time,
                    again.id.tag + 1, n.prev.time, n.prev.tag);
            CHECK(0);
        }
        /* A floor Redis is not behind leaves no hole. */
        CHECK_EQ(push_redis_publish(c, &k, NULL, &n.id, &m, 10, 0, 2000,
                                    &again, err, sizeof(err)), 0);
        CHECK(push_msgid_cmp(&again.prev, &n.id) == 0 && !again.hole);
        n = again;
    }

    /* The meta went back alone (its stream did not): the id follows the
     * stream's newest entry, which is its previous one. */
    {
        char lt[24];
        const char *back[6] = { "HSET", k.meta, "lt", lt, "ln", "0" };
        push_redis_published_t on;

        snprintf(lt, sizeof(lt), "%lld", (long long)n.id.time - 5);
        r = cmd(c, 6, back);
        freeReplyObject(r);
        CHECK_EQ(push_redis_publish(c, &k, NULL, NULL, &m, 10, 0, 2000, &on,
                                    err, sizeof(err)), 0);
        CHECK(push_msgid_cmp(&on.id, &n.id) > 0);
        CHECK(push_msgid_cmp(&on.prev, &n.id) == 0);
    }

    /* The floor script: Redis behind the floor goes one past it; Redis
     * past it stays. */
    {
        push_msgid_t fl = n.id, got;
        uint64_t ep = 0, ep2 = 0;

        fl.time += 100;
        CHECK_EQ(push_redis_floor(c, &k, &fl, 2000, &got, &ep, err,
                                  sizeof(err)), 1);
        CHECK(got.time == fl.time && got.tag == fl.tag + 1);
        CHECK(ep == n.epoch);
        CHECK_EQ(push_redis_floor(c, &k, &fl, 2000, &got, &ep2, err,
                                  sizeof(err)), 0);
        CHECK(got.time == fl.time && got.tag == fl.tag + 1);
        CHECK(ep2 == n.epoch);
        /* Of a channel Redis forgot: one made, with an epoch of its own. */
        {
            const char *del[3] = { "DEL", k.stream, k.meta };

            r = cmd(c, 3, del);
            freeReplyObject(r);
            CHECK_EQ(push_redis_floor(c, &k, &fl, 2000, &got, &ep, err,
                                      sizeof(err)), 1);
            CHECK(ep != 0 && ep != n.epoch);
        }
    }
    push_redis_keys_free(&k);
    push_redis_close(sub);
    push_redis_close(c);
}

/* Messages older than the timeout go at the next publish; so do the
 * keys, by EXPIRE, once nothing is published. */
static void test_timeout(void)
{
    push_redis_conn_t *c = redis_conn(&server);
    push_redis_keys_t k;
    push_redis_published_t a, b;
    push_redis_msg_t m = text("old", "", "");
    push_redis_state_t st;
    redisReply *r;
    const char *ttl[2];
    char err[160];

    CHECK_EQ(push_redis_keys(&k, "push:", "aging", 5), 0);
    CHECK_EQ(push_redis_publish(c, &k, NULL, NULL, &m, 10, 1, 2000, &a, err,
                                sizeof(err)), 0);
    ttl[0] = "TTL";
    ttl[1] = k.stream;
    r = cmd(c, 2, ttl);
    CHECK(r && r->type == REDIS_REPLY_INTEGER && r->integer > 0
          && r->integer <= 61);
    freeReplyObject(r);
    sleep(2);
    m = text("new", "", "");
    CHECK_EQ(push_redis_publish(c, &k, NULL, NULL, &m, 10, 1, 2000, &b, err,
                                sizeof(err)), 0);
    CHECK(push_msgid_cmp(&b.prev, &a.id) == 0);
    CHECK_EQ(push_redis_read(c, &k, &(push_msgid_t){0, 0}, 4, 2000, &st, err,
                             sizeof(err)), 0);
    CHECK_EQ(st.n, 1);
    CHECK(st.n == 1 && same(st.msgs[0].body, st.msgs[0].body_len, "new")
          && st.timeout == 1);
    push_redis_state_free(&st);
    push_redis_keys_free(&k);
    push_redis_close(c);
}

/* Publishers on four connections (as on four servers): one order, no id
 * twice, each publisher's messages in its own order. */
static void test_concurrent(void)
{
    enum { WRITERS = 4, EACH = 200 };
    push_redis_conn_t *c;
    push_redis_keys_t k;
    push_redis_msg_t *got;
    push_redis_state_t st;
    char err[160];
    unsigned cnt, i;
    int last[WRITERS], w, bad_order = 0, bad_body = 0;

    CHECK_EQ(push_redis_keys(&k, "push:", "busy", 4), 0);
    for (w = 0; w < WRITERS; w++) {
        if (fork() == 0) {
            push_redis_conn_t *pc = redis_conn(&server);
            int j, bad = 0;

            for (j = 0; j < EACH; j++) {
                char body[32];
                push_redis_msg_t m;
                push_redis_published_t p;

                snprintf(body, sizeof(body), "%d %d", w, j);
                m = text(body, "", "");
                bad |= push_redis_publish(pc, &k, NULL, NULL, &m, 100000, 0, 5000, &p,
                                          err, sizeof(err)) != 0;
            }
            push_redis_close(pc);
            _exit(bad);
        }
    }
    for (w = 0; w < WRITERS; w++) {
        int status;

        CHECK(wait(&status) > 0 && WIFEXITED(status)
              && WEXITSTATUS(status) == 0);
    }
    c = redis_conn(&server);
    CHECK_EQ(push_redis_read(c, &k, &(push_msgid_t){0, 0}, WRITERS * EACH,
                             5000, &st, err, sizeof(err)), 0);
    CHECK_EQ(st.n, WRITERS * EACH);
    got = st.msgs;
    cnt = st.n;
    for (w = 0; w < WRITERS; w++) {
        last[w] = -1;
    }
    for (i = 0; i < cnt; i++) {
        int who, seq;

        if (i && (push_msgid_cmp(&got[i].id, &got[i - 1].id) <= 0
                  || push_msgid_cmp(&got[i].prev, &got[i - 1].id) != 0)) {
            bad_order++;
        }
        if (sscanf(got[i].body, "%d %d", &who, &seq) != 2 || who < 0
            || who >= WRITERS || seq != last[who] + 1) {
            bad_body++;
            continue;
        }
        last[who] = seq;
    }
    CHECK_EQ(bad_order, 0);
    CHECK_EQ(bad_body, 0);
    push_redis_state_free(&st);
    push_redis_keys_free(&k);
    push_redis_close(c);
}

static void test_parse(void)
{
    push_redis_published_t n;
    push_redis_msg_t m;
    push_msgid_t id;
    int inl;
    const char ok[] = "1700000000-3 1700000000-2 42 10 60 1 10 0\n"
                      "text/plainbody";

    CHECK_EQ(push_redis_stream_id("12-0", 4, &id), 0);
    CHECK(id.time == 12 && id.tag == 0);
    CHECK_EQ(push_redis_stream_id("12-4294967295", 13, &id), 0);
    CHECK_EQ(push_redis_stream_id("12-4294967296", 13, &id), -1);
    CHECK_EQ(push_redis_stream_id("12", 2, &id), -1);
    CHECK_EQ(push_redis_stream_id("-1", 2, &id), -1);
    CHECK_EQ(push_redis_stream_id("1-", 2, &id), -1);
    CHECK_EQ(push_redis_stream_id("1-2x", 4, &id), -1);

    CHECK_EQ(push_redis_notice_parse(ok, sizeof(ok) - 1, &n, &inl, &m), 0);
    CHECK(inl && n.id.tag == 3 && n.prev.tag == 2 && n.epoch == 42
          && n.keep == 10 && n.timeout == 60
          && same(m.content_type, m.content_type_len, "text/plain")
          && m.event_len == 0 && same(m.body, m.body_len, "body"));
    CHECK_EQ(push_redis_notice_parse("5-0 0-0 7 1 0 0", 15, &n, &inl, &m), 0);
    CHECK(!inl && n.id.time == 5);
    CHECK_EQ(push_redis_notice_parse("5-0 0-0 7 1 0 0 ", 16, &n, &inl, &m), -1);
    CHECK_EQ(push_redis_notice_parse("5-0 0-0 7 1 0 2", 15, &n, &inl, &m), -1);
    CHECK_EQ(push_redis_notice_parse("5-0 0-0 7 1 0 1 99 0\nab", 23, &n, &inl,
                                     &m), -1);
    CHECK_EQ(push_redis_notice_parse("5-0 0-0", 7, &n, &inl, &m), -1);
    CHECK_EQ(push_redis_notice_parse("", 0, &n, &inl, &m), -1);
}

int main(void)
{
    test_url();
    test_parse();
    redis_start(&server);
    test_connect();
    test_auth_select();
    test_publish();
    test_timeout();
    test_concurrent();
    return CHECK_DONE("test_redis");
}
