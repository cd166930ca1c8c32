/* test_cluster.c — the route to a channel's Redis (redis/push_redis_route.c)
 * against a real Redis Cluster of three masters and three replicas, and
 * against a plain redis-server: a plain one is found plain; in the
 * cluster, channels land on every master, each whole on one; a slot
 * being moved is followed by ASK (with ASKING) and, once moved, by
 * MOVED; a manual failover and a master killed -9 are followed to the
 * new master, with what was published before still there; a bridge
 * whose pub/sub connection is on one node applies what is published on
 * another; a route whose seeds are down asks the nodes the process's
 * other routes learned, and a learned node that refuses CLUSTER SLOTS
 * (loading) does not make it plain; a view naming a crowd of replicas
 * leaves room in the node table for the masters of the next. */
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "redis/push_bridge.h"
#include "redis/push_mirror.h"
#include "redis/push_redis_chan.h"
#include "redis/push_redis_route.h"
#include "store/push_store_shm.h"
#include "check.h"
#include "redis_cluster.h"

typedef struct {
    const char             *chan;
    const char             *body;
    push_redis_published_t  p;
    push_redis_state_t      st;
} op_arg;

static int publish_op(push_redis_conn_t *c, void *arg, char *err,
                      size_t errlen)
{
    op_arg *a = arg;
    push_redis_keys_t k;
    push_redis_msg_t m;
    int rc;

    memset(&m, 0, sizeof(m));
    m.body = a->body;
    m.body_len = strlen(a->body);
    push_redis_keys(&k, "push:", a->chan, strlen(a->chan));
    rc = push_redis_publish(c, &k, NULL, NULL, &m, 100, 0, 2000, &a->p, err,
                            errlen);
    push_redis_keys_free(&k);
    return rc;
}

static int read_op(push_redis_conn_t *c, void *arg, char *err,
                   size_t errlen)
{
    op_arg *a = arg;
    push_redis_keys_t k;
    int rc;

    push_redis_keys(&k, "push:", a->chan, strlen(a->chan));
    rc = push_redis_read(c, &k, &(push_msgid_t){ 0, 0 }, 100, 2000, &a->st,
                         err, errlen);
    push_redis_keys_free(&k);
    return rc;
}

static unsigned chan_slot(const char *chan)
{
    char key[300];

    snprintf(key, sizeof(key), "push:{c:%s}:m", chan);
    return push_redis_key_slot(key, strlen(key));
}

static int publish(push_redis_route_t *r, const char *chan,
                   const char *body, push_redis_published_t *p, char *err,
                   size_t errlen)
{
    op_arg a = { chan, body, { { 0, 0 }, { 0, 0 }, 0, 0, 0, 0, 0, 0 },
                 { 0, { 0, 0 }, 0, 0, 0, NULL, 0, NULL } };
    char key[300];
    int rc;

    snprintf(key, sizeof(key), "push:{c:%s}:m", chan);
    rc = push_redis_route_do(r, key, strlen(key), publish_op, &a, err,
                             errlen);
    if (p) {
        *p = a.p;
    }
    return rc;
}

/* publish, saying what Redis answered when it failed: 1 published. */
static int publish_ok(push_redis_route_t *r, const char *chan,
                      const char *body, push_redis_published_t *p, char *err,
                      size_t errlen)
{
    if (publish(r, chan, body, p, err, errlen) == 0) {
        return 1;
    }
    fprintf(stderr, "publish of '%s' to %s: %s\n", body, chan, err);
    return 0;
}

/* The bodies Redis has for chan, "a,b,c" (or "error: ..."). */
static void bodies(push_redis_route_t *r, const char *chan, char *out,
                   size_t outlen)
{
    op_arg a;
    char key[300], err[200];
    size_t n = 0;
    unsigned i;

    memset(&a, 0, sizeof(a));
    a.chan = chan;
    snprintf(key, sizeof(key), "push:{c:%s}:m", chan);
    out[0] = '\0';
    if (push_redis_route_do(r, key, strlen(key), read_op, &a, err,
                            sizeof(err)) != 0) {
        snprintf(out, outlen, "error: %s", err);
        return;
    }
    for (i = 0; i < a.st.n && n + 1 < outlen; i++) {
        n += (size_t)snprintf(out + n, outlen - n, "%s%.*s", i ? "," : "",
                              (int)a.st.msgs[i].body_len,
                              a.st.msgs[i].body);
    }
    push_redis_state_free(&a.st);
}

static void test_plain(void)
{
    push_redis_url_t plain;
    push_redis_route_t *r;
    char err[200], got[256];

    redis_start(&plain);
    r = push_redis_route_create(&plain, 1, 2000);
    CHECK(publish_ok(r, "plain", "p1", NULL, err, sizeof(err)));
    CHECK(!push_redis_route_cluster(r));
    bodies(r, "plain", got, sizeof(got));
    CHECK(strcmp(got, "p1") == 0);
    push_redis_route_free(r);
    /* Several URLs of which one is no cluster: refused, saying so. */
    {
        push_redis_url_t two[2] = { plain, plain };
        push_redis_conn_t *c = redis_conn(&plain);

        push_redis_close(c);
        r = push_redis_route_create(two, 2, 2000);
        CHECK(publish(r, "plain", "p2", NULL, err, sizeof(err)) != 0);
        CHECK(strstr(err, "not in a cluster") != NULL);
        push_redis_route_free(r);
    }
}

/* Node index of `slot`'s master's replica, -1 none. */
static int replica_of(int master)
{
    const char *role[1] = { "ROLE" };
    int i;

    for (i = 0; i < CLUSTER_NODES; i++) {
        redisReply *r;
        int port = -1;

        if (i == master || cluster_pid[i] <= 0
            || !(r = cluster_cmd(i, 1, role))) {
            continue;
        }
        if (r->type == REDIS_REPLY_ARRAY && r->elements >= 3
            && r->element[0]->type == REDIS_REPLY_STRING
            && strcmp(r->element[0]->str, "slave") == 0) {
            port = (int)r->element[2]->integer;
        }
        freeReplyObject(r);
        if (port == cluster_port[master]) {
            return i;
        }
    }
    return -1;
}

static void command_at(int node, int argc, const char **argv)
{
    redisReply *r = cluster_cmd(node, argc, argv);

    CHECK(r && r->type != REDIS_REPLY_ERROR);
    if (r && r->type == REDIS_REPLY_ERROR) {
        fprintf(stderr, "node %d: %s: %s\n", node, argv[0], r->str);
    }
    if (r) {
        freeReplyObject(r);
    }
}

static void test_cluster(void)
{
    push_redis_url_t seed = cluster_url(0);
    push_redis_route_t *r = push_redis_route_create(&seed, 1, 2000);

    push_redis_published_t p, before;
    char err[200], got[256], chan[32];
    int i, on[CLUSTER_NODES] = { 0 }, masters = 0, m, t, rep;
    unsigned slot;
    long long until;

    /* Seeds that are down are passed over, to the one that answers. */
    {
        push_redis_url_t seeds[3] = { cluster_url(0), cluster_url(0),
                                      cluster_url(1) };
        push_redis_route_t *s3;
        char e[200];

        seeds[0].port = redis_free_port();
        seeds[1].port = redis_free_port();
        s3 = push_redis_route_create(seeds, 3, 2000);
        CHECK(publish_ok(s3, "via-third", "3", NULL, e, sizeof(e)));
        CHECK(push_redis_route_cluster(s3));
        push_redis_route_free(s3);
    }

    /* Channels spread over the masters, each whole on its own. */
    for (i = 0; i < 30; i++) {
        snprintf(chan, sizeof(chan), "spread-%d", i);
        CHECK(publish_ok(r, chan, "s", NULL, err, sizeof(err)));
        m = cluster_master_of(chan_slot(chan));
        if (m >= 0 && !on[m]++) {
            masters++;
        }
    }
    CHECK(push_redis_route_cluster(r));
    CHECK_EQ(masters, 3);
    bodies(r, "spread-7", got, sizeof(got));
    CHECK(strcmp(got, "s") == 0);

    /* A slot being moved from master m to master t, as redis-cli
     * --cluster reshard moves it: the channel's keys gone to t, m says
     * ASK, and t takes the publish after ASKING.  A channel of the slot
     * whose keys are split, or not there yet, is TRYAGAIN (Redis runs
     * no multi-key command then): tried again a few times and refused
     * with the reason. */
    snprintf(chan, sizeof(chan), "moving");
    slot = chan_slot(chan);
    m = cluster_master_of(slot);
    t = (m + 1) % 3;
    CHECK(publish_ok(r, chan, "before", NULL, err, sizeof(err)));
    {
        const char *count[4] = { "HSET", "push:{c:moving}:n", "elsewhere",
                                 "1 99999999999" };

        command_at(m, 4, count);
    }
    {
        char mid[41], tid[41], s[8], port[8];
        const char *importing[5] = { "CLUSTER", "SETSLOT", s, "IMPORTING",
                                     mid };
        const char *migrating[5] = { "CLUSTER", "SETSLOT", s, "MIGRATING",
                                     tid };
        const char *node[5] = { "CLUSTER", "SETSLOT", s, "NODE", tid };
        const char *migrate[10] = { "MIGRATE", "127.0.0.1", port, "", "0",
                                    "5000", "KEYS", "push:{c:moving}:s",
                                    "push:{c:moving}:m",
                                    "push:{c:moving}:n" };
        char fresh[32];

        cluster_id(m, mid);
        cluster_id(t, tid);
        snprintf(s, sizeof(s), "%u", slot);
        snprintf(port, sizeof(port), "%d", cluster_port[t]);
        command_at(t, 5, importing);
        command_at(m, 5, migrating);
        command_at(m, 10, migrate);
        CHECK(publish_ok(r, chan, "asked", NULL, err, sizeof(err)));
        /* A new channel in the same slot: none of its keys anywhere. */
        for (i = 0;; i++) {
            snprintf(fresh, sizeof(fresh), "new-%d", i);
            if (chan_slot(fresh) == slot) {
                break;
            }
        }
        CHECK(publish(r, fresh, "x", NULL, err, sizeof(err)) != 0);
        CHECK(strstr(err, "TRYAGAIN") != NULL);
        /* The move done: every master says the slot is t's.  The route
         * still thinks m: MOVED. */
        for (i = 0; i < 3; i++) {
            command_at(i, 5, node);
        }
        CHECK(publish_ok(r, fresh, "x", NULL, err, sizeof(err)));
    }
    bodies(r, chan, got, sizeof(got));
    CHECK(strcmp(got, "before,asked") == 0);
    CHECK(publish_ok(r, chan, "moved", &before, err, sizeof(err)));
    bodies(r, chan, got, sizeof(got));
    CHECK(strcmp(got, "before,asked,moved") == 0);
    CHECK_EQ(cluster_master_of(slot), t);

    /* A manual failover of the master of another channel: its replica
     * takes the slot; the route follows the MOVED the old master
     * answers.  (Not the moved channel's: a replica that had not heard
     * of a move when its keys came may drop them, Redis' own race.) */
    snprintf(chan, sizeof(chan), "failing");
    slot = chan_slot(chan);
    t = cluster_master_of(slot);
    CHECK(publish_ok(r, chan, "f1", &before, err, sizeof(err)));
    rep = t >= 0 ? replica_of(t) : -1;
    CHECK(rep >= 0);
    if (rep >= 0) {
        const char *failover[2] = { "CLUSTER", "FAILOVER" };

        command_at(rep, 2, failover);
        until = push_redis_now_ms() + 15000;
        while (cluster_master_of(slot) != rep
               && push_redis_now_ms() < until) {
            usleep(100000);
        }
        CHECK_EQ(cluster_master_of(slot), rep);
        CHECK(publish_ok(r, chan, "f2", &p, err, sizeof(err)));
        CHECK(push_msgid_cmp(&p.id, &before.id) > 0);
        bodies(r, chan, got, sizeof(got));
        CHECK(strcmp(got, "f1,f2") == 0);
        if (strcmp(got, "f1,f2") != 0) {
            fprintf(stderr, "after the failover: '%s'\n", got);
        }
    }

    /* The master killed -9: its replica (the old master) is elected; the
     * route finds it, and what was published (and replicated) stays. */
    if (rep >= 0) {
        const char *wait[3] = { "WAIT", "1", "2000" };
        redisReply *w = cluster_cmd(rep, 3, wait);
        int ok = -1;

        if (w) {
            freeReplyObject(w);
        }
        redis_kill(&cluster_pid[rep]);
        until = push_redis_now_ms() + 20000;
        while (ok != 0 && push_redis_now_ms() < until) {
            if ((ok = publish(r, chan, "f3", &p, err, sizeof(err))) != 0) {
                usleep(200000);
            }
        }
        CHECK_EQ(ok, 0);
        if (ok != 0) {
            fprintf(stderr, "publish after the kill: %s\n", err);
        }
        CHECK_EQ(cluster_master_of(slot), t);
        bodies(r, chan, got, sizeof(got));
        CHECK(strcmp(got, "f1,f2,f3") == 0);
        if (strcmp(got, "f1,f2,f3") != 0) {
            fprintf(stderr, "after the kill: '%s'\n", got);
        }
    }
    push_redis_route_free(r);
}

/* The node whose pub/sub clients follow chan's notices; -1 none. */
static int listening_node(const char *chan)
{
    char key[64];
    const char *argv[3] = { "PUBSUB", "NUMSUB", key };
    int i;

    snprintf(key, sizeof(key), "push:{c:%s}", chan);
    for (i = 0; i < CLUSTER_NODES; i++) {
        redisReply *r;
        int on = 0;

        if (cluster_pid[i] <= 0 || !(r = cluster_cmd(i, 3, argv))) {
            continue;
        }
        on = r->type == REDIS_REPLY_ARRAY && r->elements == 2
             && r->element[1]->type == REDIS_REPLY_INTEGER
             && r->element[1]->integer >= 1;
        freeReplyObject(r);
        if (on) {
            return i;
        }
    }
    return -1;
}

/* Steps the bridge until it follows `want` channels and has caught up
 * once since `caught` (10 s at most). */
static void bridge_settle(push_bridge_t *b, unsigned long want,
                          unsigned long caught, push_bridge_stats_t *st)
{
    long long until = push_redis_now_ms() + 10000;

    do {
        push_bridge_step(b, 20);
        push_bridge_stats(b, st);
    } while ((st->followed < want || st->caught_up <= caught)
             && push_redis_now_ms() < until);
}

/* A bridge whose pub/sub connection is on another node than the
 * channel's master: a cluster tells every node of every PUBLISH. */
static void test_bridge_on_cluster(void)
{
    size_t bytes = 4u << 20;
    void *mem = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
                     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    push_shm_t *shm = push_shm_format(mem, bytes, time(NULL));
    push_store_t store = { &push_shm_engine, (push_store_inst_t *)shm };
    push_redis_url_t seeds[2] = { cluster_url(1), cluster_url(2) };
    push_redis_route_t *r = push_redis_route_create(seeds, 2, 2000);
    push_bridge_t *b = push_bridge_create(&store, seeds, 2, "push:", "b1",
                                          1000, NULL, NULL);
    push_store_ref_t probe, sub;
    push_bridge_stats_t st;
    push_channel_info_t info;
    push_redis_published_t p[3];
    char err[200], chan[32];
    long long until;
    int i, node, master = -1;

    CHECK(shm && b && r);
    /* The kill -9 before: every live node must have its new view first
     * (a node still counting the dead master's slots answers CLUSTERDOWN,
     * which a publisher gets as a 503, rightly). */
    CHECK(cluster_wait_ok(30));
    /* Where the bridge listens: seen by a first channel it follows. */
    CHECK(push_shm_subscribe(shm, "probe", 5, time(NULL), &probe, NULL)
          == PUSH_OK);
    CHECK(publish_ok(r, "probe", "p0", &p[0], err, sizeof(err)));
    bridge_settle(b, 1, 0, &st);
    CHECK_EQ(st.followed, 1);
    node = listening_node("probe");
    CHECK(node >= 0);
    /* A channel whose master is another node. */
    for (i = 0; i < 100 && (master < 0 || master == node); i++) {
        snprintf(chan, sizeof(chan), "bridged%d", i);
        master = cluster_master_of(chan_slot(chan));
    }
    CHECK(master >= 0 && master != node);
    CHECK(push_shm_subscribe(shm, chan, strlen(chan), time(NULL), &sub,
                             NULL) == PUSH_OK);
    CHECK(publish_ok(r, chan, "b0", &p[0], err, sizeof(err)));
    bridge_settle(b, 2, st.caught_up, &st);
    CHECK_EQ(st.followed, 2);
    CHECK_EQ(listening_node(chan), node);
    for (i = 1; i < 3; i++) {
        CHECK(publish_ok(r, chan, i == 1 ? "b1" : "b2", &p[i], err,
                         sizeof(err)));
    }
    until = push_redis_now_ms() + 10000;
    do {
        push_bridge_step(b, 20);
    } while ((push_shm_info(shm, chan, strlen(chan), time(NULL), &info)
              != PUSH_OK || push_msgid_cmp(&info.last_id, &p[2].id) != 0)
             && push_redis_now_ms() < until);
    CHECK(push_msgid_cmp(&info.last_id, &p[2].id) == 0);
    CHECK_EQ(info.messages, 3);
    push_bridge_stats(b, &st);
    CHECK(st.applied >= 1);
    push_shm_unsubscribe(shm, &sub);
    push_shm_unsubscribe(shm, &probe);
    push_bridge_destroy(b);
    push_redis_route_free(r);
    munmap(mem, bytes);
}

/* A route made after its only seed went still finds the cluster, by
 * the nodes another route of the process (to the same seeds) learned;
 * a route to other seeds learns alone.  The seed is a replica, so the
 * cluster goes on without it (after every case that needs all six: it
 * stays down). */
static void test_learned(void)
{
    const char *role[1] = { "ROLE" };
    push_redis_url_t seed, two[2];
    push_redis_route_t *a, *b, *other;
    char err[200];
    int i, rep = -1, refused;

    for (i = 0; i < CLUSTER_NODES && rep < 0; i++) {
        redisReply *r = cluster_pid[i] > 0 ? cluster_cmd(i, 1, role) : NULL;

        if (r && r->type == REDIS_REPLY_ARRAY && r->elements >= 1
            && r->element[0]->type == REDIS_REPLY_STRING
            && strcmp(r->element[0]->str, "slave") == 0) {
            rep = i;
        }
        if (r) {
            freeReplyObject(r);
        }
    }
    CHECK(rep >= 0);
    if (rep < 0) {
        return;
    }
    seed = cluster_url(rep);
    a = push_redis_route_create(&seed, 1, 2000);
    CHECK(a && publish_ok(a, "learned-a", "one", NULL, err, sizeof(err)));
    CHECK(push_redis_route_cluster(a));
    redis_kill(&cluster_pid[rep]);
    b = push_redis_route_create(&seed, 1, 2000);
    CHECK(b && publish_ok(b, "learned-b", "two", NULL, err, sizeof(err)));
    two[0] = seed;
    two[1] = seed;
    two[1].port = redis_free_port();
    other = push_redis_route_create(two, 2, 2000);
    CHECK(other && publish(other, "learned-c", "three", NULL, err,
                           sizeof(err)) != 0);
    refused = strstr(err, "cannot connect") != NULL
              || strstr(err, "not reachable") != NULL;
    CHECK(refused);
    if (!refused) {
        fprintf(stderr, "a route to other seeds: expected 'cannot connect' "
                "or 'not reachable', got: %s\n", err);
    }
    push_redis_route_free(a);
    push_redis_route_free(b);
    push_redis_route_free(other);
}

/* RESP text being made: a fake node's canned reply. */
typedef struct {
    char   s[16384];
    size_t n;
} resp_t;

static void resp_add(resp_t *o, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(o->s + o->n, sizeof(o->s) - o->n, fmt, ap);
    va_end(ap);
    /* Too long: left at the end, which the case checks. */
    o->n = n < 0 || (size_t)n >= sizeof(o->s) - o->n ? sizeof(o->s)
                                                     : o->n + (size_t)n;
}

/* A reply as Redis sent it (the cluster's own CLUSTER SLOTS, again). */
static void resp_reply(resp_t *o, const redisReply *r)
{
    size_t i;

    switch (r->type) {
    case REDIS_REPLY_ARRAY:
        resp_add(o, "*%zu\r\n", r->elements);
        for (i = 0; i < r->elements; i++) {
            resp_reply(o, r->element[i]);
        }
        break;
    case REDIS_REPLY_INTEGER:
        resp_add(o, ":%lld\r\n", r->integer);
        break;
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
        resp_add(o, "$%zu\r\n%.*s\r\n", r->len, (int)r->len, r->str);
        break;
    default:
        resp_add(o, "$-1\r\n");
    }
}

/* A node of a CLUSTER SLOTS entry, as Redis names one: host, port, id. */
static void resp_node(resp_t *o, int port)
{
    resp_add(o, "*3\r\n$9\r\n127.0.0.1\r\n:%d\r\n$40\r\n%040d\r\n", port,
             port);
}

/* A node of our own on a free port, in a thread: it answers CLUSTER
 * SLOTS with the views it is given in turn (the last one again), or,
 * given none, with the refusal it answers every other command with.
 * What a route does with a view or a refusal is the unit under test;
 * a real Redis cannot be made to give either on demand. */
typedef struct {
    const char *slots[2];
    const char *refusal;
    int         fd, port;
    int         asked;          /* CLUSTER SLOTS asked (atomic) */
    int         stop;           /* atomic */
    pthread_t   thread;
} fake_t;

#define FAKE_CLIENTS 8

static const char *fake_answer(fake_t *f, const redisReply *q)
{
    int n;

    if (q->type != REDIS_REPLY_ARRAY || q->elements != 2
        || q->element[0]->type != REDIS_REPLY_STRING
        || q->element[1]->type != REDIS_REPLY_STRING
        || strcasecmp(q->element[0]->str, "CLUSTER") != 0
        || strcasecmp(q->element[1]->str, "SLOTS") != 0) {
        return f->refusal;
    }
    n = __atomic_fetch_add(&f->asked, 1, __ATOMIC_SEQ_CST);
    if (!f->slots[0]) {
        return f->refusal;
    }
    return n > 0 && f->slots[1] ? f->slots[1] : f->slots[0];
}

static void *fake_run(void *arg)
{
    fake_t *f = arg;
    struct pollfd p[1 + FAKE_CLIENTS];
    redisReader *rd[1 + FAKE_CLIENTS];
    int n = 1, i;

    p[0].fd = f->fd;
    while (!__atomic_load_n(&f->stop, __ATOMIC_SEQ_CST)) {
        /* A short poll: the case stops it by the flag. */
        p[0].events = n <= FAKE_CLIENTS ? POLLIN : 0;
        if (poll(p, (nfds_t)n, 20) <= 0) {
            continue;
        }
        if ((p[0].revents & POLLIN) && (p[n].fd = accept(f->fd, NULL,
                                                         NULL)) >= 0) {
            p[n].events = POLLIN;
            p[n].revents = 0;
            rd[n++] = redisReaderCreate();
        }
        for (i = 1; i < n; i++) {
            char buf[4096];
            ssize_t got;
            void *q;

            if (!p[i].revents) {
                continue;
            }
            if ((got = read(p[i].fd, buf, sizeof(buf))) <= 0
                || redisReaderFeed(rd[i], buf, (size_t)got) != REDIS_OK) {
                close(p[i].fd);
                redisReaderFree(rd[i]);
                p[i] = p[--n];
                rd[i--] = rd[n];
                continue;
            }
            while (redisReaderGetReply(rd[i], &q) == REDIS_OK && q) {
                const char *out = fake_answer(f, q);
                size_t len = strlen(out), off = 0;

                freeReplyObject(q);
                while (off < len && (got = send(p[i].fd, out + off,
                                                len - off,
                                                MSG_NOSIGNAL)) > 0) {
                    off += (size_t)got;
                }
            }
        }
    }
    for (i = 1; i < n; i++) {
        close(p[i].fd);
        redisReaderFree(rd[i]);
    }
    return NULL;
}

static void fake_start(fake_t *f)
{
    struct sockaddr_in a;
    socklen_t len = sizeof(a);

    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if ((f->fd = socket(AF_INET, SOCK_STREAM, 0)) < 0
        || bind(f->fd, (struct sockaddr *)&a, sizeof(a)) != 0
        || listen(f->fd, 16) != 0
        || getsockname(f->fd, (struct sockaddr *)&a, &len) != 0
        || pthread_create(&f->thread, NULL, fake_run, f) != 0) {
        perror("fake node");
        exit(2);
    }
    f->port = ntohs(a.sin_port);
}

/* Stopped: its port refuses from now on. */
static void fake_stop(fake_t *f)
{
    __atomic_store_n(&f->stop, 1, __ATOMIC_SEQ_CST);
    pthread_join(f->thread, NULL);
    close(f->fd);
}

static push_redis_url_t fake_url(const fake_t *f)
{
    push_redis_url_t u;

    memset(&u, 0, sizeof(u));
    snprintf(u.host, sizeof(u.host), "127.0.0.1");
    u.port = f->port;
    return u;
}

/* The CLUSTER SLOTS of the first live node (its index in *node), NULL
 * when none answers with one. */
static redisReply *live_slots(int *node)
{
    const char *slots[2] = { "CLUSTER", "SLOTS" };
    int i;

    for (i = 0; i < CLUSTER_NODES; i++) {
        redisReply *r = cluster_pid[i] > 0 ? cluster_cmd(i, 2, slots)
                                           : NULL;

        if (r && r->type == REDIS_REPLY_ARRAY && r->elements >= 2) {
            *node = i;
            return r;
        }
        if (r) {
            freeReplyObject(r);
        }
    }
    return NULL;
}

/* A map entry's first and last slot. */
static void entry_range(const redisReply *map, size_t i, long long *a,
                        long long *b)
{
    *a = map->element[i]->element[0]->integer;
    *b = map->element[i]->element[1]->integer;
}

/* A channel "<prefix>-<n>" whose slot is in a..b (in), or not (!in). */
static void chan_in(char *chan, size_t len, const char *prefix,
                    long long a, long long b, int in)
{
    int i;

    for (i = 0;; i++) {
        long long s;

        snprintf(chan, len, "%s-%d", prefix, i);
        s = chan_slot(chan);
        if ((s >= a && s <= b) == in) {
            return;
        }
    }
}

/* Checks that Redis has `want` for chan, saying what it has instead. */
#define CHECK_BODIES(r, chan, want) check_bodies(__LINE__, r, chan, want)

static void check_bodies(int line, push_redis_route_t *r, const char *chan,
                         const char *want)
{
    char got[256];

    bodies(r, chan, got, sizeof(got));
    CHECK_AT(line, strcmp(got, want) == 0);
    if (strcmp(got, want) != 0) {
        fprintf(stderr, "  %s: expected '%s', got '%s'\n", chan, want, got);
    }
}

/* Only the seed's refusal of CLUSTER SLOTS says a Redis is plain, not
 * a node learned of, which may be a replica restarted and loading.  The
 * seed (a node of ours) gives the cluster's view but for its first
 * range, whose master is gone and whose replica is loading; a route
 * made after the seed went asks the nodes that view named, those two
 * first, and must go on to the cluster's other nodes and find the
 * cluster.  (The process keeps the nodes of LEARNED_MAX sets of seeds;
 * this case's is the eighth: a case added before would leave it none.) */
static void test_learned_refusing(void)
{
    static resp_t view;
    fake_t seed_node = { { NULL, NULL }, "-ERR unknown command\r\n", -1, 0,
                         0, 0, 0 };
    fake_t loading = { { NULL, NULL },
                       "-LOADING Redis is loading the dataset in memory\r\n",
                       -1, 0, 0, 0, 0 };
    push_redis_url_t seed, real_seed;
    push_redis_route_t *a, *b, *check;
    redisReply *map;
    char err[200], first[32], other[32];
    long long lo, hi;
    size_t i;
    int live = -1, asked;

    CHECK(cluster_wait_ok(30));
    CHECK((map = live_slots(&live)) != NULL);
    if (!map) {
        return;
    }
    fake_start(&loading);
    entry_range(map, 0, &lo, &hi);
    resp_add(&view, "*%zu\r\n*4\r\n:%lld\r\n:%lld\r\n", map->elements, lo,
             hi);
    resp_node(&view, redis_free_port());    /* the master, gone */
    resp_node(&view, loading.port);
    for (i = 1; i < map->elements; i++) {
        resp_reply(&view, map->element[i]);
    }
    CHECK(view.n < sizeof(view.s));
    seed_node.slots[0] = view.s;
    fake_start(&seed_node);
    seed = fake_url(&seed_node);
    chan_in(first, sizeof(first), "refused", lo, hi, 1);
    chan_in(other, sizeof(other), "refused", lo, hi, 0);

    /* The seed's view routes the other masters' slots. */
    a = push_redis_route_create(&seed, 1, 2000);
    CHECK(a && publish_ok(a, other, "a1", NULL, err, sizeof(err)));
    CHECK_EQ(push_redis_route_cluster(a), 1);
    push_redis_route_free(a);
    fake_stop(&seed_node);

    b = push_redis_route_create(&seed, 1, 2000);
    CHECK(b && publish_ok(b, first, "b1", NULL, err, sizeof(err)));
    CHECK_EQ(push_redis_route_cluster(b), 1);
    /* It did ask the loading node (else this case proved nothing). */
    asked = __atomic_load_n(&loading.asked, __ATOMIC_SEQ_CST);
    CHECK(asked >= 1);
    if (asked < 1) {
        fprintf(stderr, "  the loading node asked for its view: expected "
                "at least once, got %d\n", asked);
    }
    CHECK(b && publish_ok(b, other, "b2", NULL, err, sizeof(err)));
    /* Where the cluster itself says they are. */
    real_seed = cluster_url(live);
    check = push_redis_route_create(&real_seed, 1, 2000);
    CHECK_BODIES(check, first, "b1");
    CHECK_BODIES(check, other, "a1,b2");
    push_redis_route_free(check);
    push_redis_route_free(b);
    fake_stop(&loading);
    freeReplyObject(map);
}

/* Replicas (and nodes learned of) take at most half the node table, so
 * that the masters of a view to come find room.  The seed (a node of
 * ours) first gives a view whose masters are gone, with more replicas
 * on its last range than the table holds; asked again (the route finds
 * those masters down), the cluster's own, whose masters are all new to
 * the route: it must take them and reach every one. */
#define CROWD 70

static void test_replicas_half(void)
{
    static resp_t old, now;
    fake_t seed_node = { { NULL, NULL }, "-ERR unknown command\r\n", -1, 0,
                         0, 0, 0 };
    push_redis_url_t seed, real_seed;
    push_redis_route_t *r, *check;
    redisReply *map;
    char err[200], chan[32], name[32];
    long long lo, hi;
    size_t i;
    int j, live = -1, asked;

    CHECK((map = live_slots(&live)) != NULL);
    if (!map) {
        return;
    }
    resp_add(&old, "*%zu\r\n", map->elements);
    for (i = 0; i < map->elements; i++) {
        int crowd = i + 1 == map->elements ? CROWD : 0;

        entry_range(map, i, &lo, &hi);
        resp_add(&old, "*%d\r\n:%lld\r\n:%lld\r\n", 3 + crowd, lo, hi);
        resp_node(&old, redis_free_port());
        for (j = 0; j < crowd; j++) {
            resp_node(&old, redis_free_port());
        }
    }
    resp_reply(&now, map);
    CHECK(old.n < sizeof(old.s) && now.n < sizeof(now.s));
    seed_node.slots[0] = old.s;
    seed_node.slots[1] = now.s;
    fake_start(&seed_node);
    seed = fake_url(&seed_node);
    r = push_redis_route_create(&seed, 1, 2000);

    /* The first view's master is not there: the map is read again. */
    entry_range(map, 0, &lo, &hi);
    chan_in(chan, sizeof(chan), "crowd-0", lo, hi, 1);
    CHECK(r && publish(r, chan, "gone", NULL, err, sizeof(err)) != 0);
    CHECK(strstr(err, "cannot connect") != NULL);
    if (!strstr(err, "cannot connect")) {
        fprintf(stderr, "  the first view's master: expected 'cannot "
                "connect', got: %s\n", err);
    }
    for (i = 0; i < map->elements; i++) {
        snprintf(name, sizeof(name), "crowd-%zu", i);
        entry_range(map, i, &lo, &hi);
        chan_in(chan, sizeof(chan), name, lo, hi, 1);
        CHECK(publish_ok(r, chan, "c", NULL, err, sizeof(err)));
    }
    CHECK_EQ(push_redis_route_cluster(r), 1);
    asked = __atomic_load_n(&seed_node.asked, __ATOMIC_SEQ_CST);
    CHECK(asked >= 2);
    if (asked < 2) {
        fprintf(stderr, "  the seed asked for its view: expected at least "
                "twice, got %d\n", asked);
    }
    real_seed = cluster_url(live);
    check = push_redis_route_create(&real_seed, 1, 2000);
    for (i = 0; i < map->elements; i++) {
        snprintf(name, sizeof(name), "crowd-%zu", i);
        entry_range(map, i, &lo, &hi);
        chan_in(chan, sizeof(chan), name, lo, hi, 1);
        CHECK_BODIES(check, chan, "c");
    }
    push_redis_route_free(check);
    push_redis_route_free(r);
    fake_stop(&seed_node);
    freeReplyObject(map);
}

int main(void)
{
    test_plain();
    cluster_start();
    test_cluster();
    test_bridge_on_cluster();
    test_learned();
    test_learned_refusing();
    test_replicas_half();
    return CHECK_DONE("test_cluster");
}
