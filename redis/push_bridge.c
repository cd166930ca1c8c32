/* push_bridge.c — a server's wake path from Redis (see push_bridge.h). */
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "redis/push_bridge.h"
#include "redis/push_mirror.h"
#include "redis/push_redis_chan.h"
#include "redis/push_redis_conn.h"
#include "redis/push_redis_count.h"
#include "redis/push_redis_route.h"

#define BUCKETS        4096            /* a power of two */
#define SUBSCRIBE_MAX  128             /* channels per SUBSCRIBE command */
#define CATCH_UP_MAX   64              /* catch-ups per step */
#define COUNT_BATCH    256             /* counts written per round trip */
#define FULL_LOOK_MS   10000           /* a scan at least this often */
#define VOUCH_MS       1500            /* the store's word, renewed each
                                        * step (at least every LOOK_MS) */
#define BACKOFF_MIN_MS 250
#define BACKOFF_MAX_MS 8000

enum { UNSUBSCRIBED, SUBSCRIBING, SUBSCRIBED };

typedef struct follow {
    char          *chan;
    size_t         len;
    char          *pubsub;        /* its pub/sub name */
    size_t         pubsub_len;
    long long      seen_ms;       /* when it last had subscribers */
    long           count;         /* its subscribers here, at that look */
    long           told;          /* the count Redis has (-1: unknown) */
    long long      told_ms;       /* when it was told */
    long long      retry_at;      /* its catch-up, not before */
    long long      retry_ms;      /* and the wait after the next failure */
    int            state;
    int            stale;         /* to be caught up */
    int            failing;       /* its last catch-up failed (said) */
    struct follow *next;
} follow_t;

struct push_bridge {
    const push_store_t *store;
    push_redis_route_t *route;        /* catch-up reads, counts */
    push_redis_url_t    sub_url;      /* the pub/sub connection's node */
    unsigned            sub_tries;    /* which node to try next */
    char               *prefix;
    char               *server;       /* this server's name in counts */
    int                 timeout_ms;
    push_bridge_log_fn  log;
    void               *log_ctx;

    push_redis_conn_t  *sub;          /* pub/sub */
    long long           retry_at, backoff;
    long long           next_look, next_probe, next_repair;
    long long           probe_sent;   /* 0: none unanswered */
    uint32_t            look_stamp;   /* the store's sub_seq at the scan */
    uint32_t            gen;          /* this pub/sub connection's (0:
                                       * none): the store's mirror word */
    int                 looked;
    long long           next_full_look;
    long long           linger_ms, probe_ms, repair_ms, count_refresh_ms;

    follow_t           *bucket[BUCKETS];
    unsigned long       nfollow;
    push_bridge_stats_t stats;
};

static void say(push_bridge_t *b, int level, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    if (!b->log) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    b->log(b->log_ctx, level, msg);
}

static uint32_t hash(const char *s, size_t len)
{
    uint32_t h = 2166136261u;
    size_t i;

    for (i = 0; i < len; i++) {
        h = (h ^ (unsigned char)s[i]) * 16777619u;
    }
    return h;
}

static follow_t **find(push_bridge_t *b, const char *chan, size_t len)
{
    follow_t **link = &b->bucket[hash(chan, len) & (BUCKETS - 1)];

    while (*link && ((*link)->len != len
                     || memcmp((*link)->chan, chan, len) != 0)) {
        link = &(*link)->next;
    }
    return link;
}

/* The channel a pub/sub name is of ("<prefix>{c:<id>}"), or NULL. */
static follow_t *by_pubsub(push_bridge_t *b, const char *name, size_t len)
{
    size_t pl = strlen(b->prefix);

    if (len < pl + 4 || memcmp(name, b->prefix, pl) != 0
        || memcmp(name + pl, "{c:", 3) != 0 || name[len - 1] != '}') {
        return NULL;
    }
    return *find(b, name + pl + 3, len - pl - 4);
}

push_bridge_t *push_bridge_create(const push_store_t *store,
                                  const push_redis_url_t *seeds,
                                  unsigned nseeds, const char *prefix,
                                  const char *server, int timeout_ms,
                                  push_bridge_log_fn log, void *log_ctx)
{
    push_bridge_t *b = calloc(1, sizeof(*b));

    if (!b || !(b->prefix = strdup(prefix))
        || !(b->server = strdup(server))
        || !(b->route = push_redis_route_create(seeds, nseeds,
                                                timeout_ms))) {
        if (b) {
            free(b->prefix);
            free(b->server);
        }
        free(b);
        return NULL;
    }
    b->store = store;
    b->sub_url = seeds[0];
    b->timeout_ms = timeout_ms;
    b->log = log;
    b->log_ctx = log_ctx;
    b->backoff = BACKOFF_MIN_MS;
    b->linger_ms = PUSH_BRIDGE_LINGER_MS;
    b->probe_ms = PUSH_BRIDGE_PROBE_MS;
    b->repair_ms = PUSH_BRIDGE_REPAIR_MS;
    b->count_refresh_ms = PUSH_REDIS_COUNT_REFRESH_MS;
    return b;
}

void push_bridge_tune(push_bridge_t *b, int linger_ms, int probe_ms,
                      int repair_ms)
{
    b->linger_ms = linger_ms;
    b->probe_ms = probe_ms;
    b->repair_ms = repair_ms;
    b->next_probe = b->next_repair = 0;
}

static void follow_free(follow_t *f)
{
    free(f->chan);
    free(f->pubsub);
    free(f);
}

void push_bridge_destroy(push_bridge_t *b)
{
    unsigned i;

    if (!b) {
        return;
    }
    for (i = 0; i < BUCKETS; i++) {
        while (b->bucket[i]) {
            follow_t *f = b->bucket[i];

            b->bucket[i] = f->next;
            follow_free(f);
        }
    }
    b->store->engine->mirror_live(b->store->inst, 0, 0);
    push_redis_close(b->sub);
    push_redis_route_free(b->route);
    free(b->prefix);
    free(b->server);
    free(b);
}

void push_bridge_stats(const push_bridge_t *b, push_bridge_stats_t *st)
{
    *st = b->stats;
}

/* ------------------------------------------------------------------ */
/* Interest: the channels this server's store has subscribers of        */

typedef struct {
    push_bridge_t *b;
    long long      now;
    int            oom;
} look_ctx;

/* Under the store's lock: notes the channel, nothing more. */
static void seen(void *ctx, const char *chan, size_t len,
                 uint32_t subscribers)
{
    look_ctx *lc = ctx;
    follow_t **link = find(lc->b, chan, len), *f = *link;
    push_redis_keys_t k;

    if (f) {
        f->seen_ms = lc->now;
        f->count = (long)subscribers;
        return;
    }
    if (!(f = calloc(1, sizeof(*f))) || !(f->chan = malloc(len + 1))
        || push_redis_keys(&k, lc->b->prefix, chan, len) != 0) {
        if (f) {
            free(f->chan);
        }
        free(f);
        lc->oom = 1;
        return;
    }
    memcpy(f->chan, chan, len);
    f->chan[len] = '\0';
    f->len = len;
    f->pubsub = k.pubsub;          /* kept; the other two names go */
    f->pubsub_len = k.pubsub_len;
    k.pubsub = NULL;
    push_redis_keys_free(&k);
    f->seen_ms = lc->now;
    f->count = (long)subscribers;
    f->told = -1;
    f->state = UNSUBSCRIBED;
    *link = f;
    lc->b->nfollow++;
}

static void look(push_bridge_t *b, long long now)
{
    look_ctx lc = { b, now, 0 };
    /* Read before the scan: a change during it is looked at next time. */
    uint32_t stamp = b->store->engine->sub_seq(b->store->inst);
    int scan = !b->looked || stamp != b->look_stamp
               || now >= b->next_full_look;
    unsigned i;

    if (scan) {
        /* Subscribers came or went: every channel slot is looked at,
         * under the store's lock.  Otherwise nothing is: an idle server
         * costs no walk of its store ten times a second. */
        b->store->engine->interest(b->store->inst, seen, &lc);
        b->look_stamp = stamp;
        b->looked = 1;
        b->next_full_look = now + FULL_LOOK_MS;
    }
    if (lc.oom) {
        say(b, 0, "out of memory following channels in Redis");
    }
    /* Channels nobody here follows any more, after a while (a client
     * that reconnects at once should not cost a resubscription), and
     * once Redis was told their count is 0 (or cannot be told: their
     * count there runs out on its own). */
    for (i = 0; i < BUCKETS; i++) {
        follow_t **link = &b->bucket[i];

        while (*link) {
            follow_t *f = *link;

            if (!scan && f->count > 0) {
                f->seen_ms = now;       /* as the last scan saw it */
            }
            if (f->seen_ms != now) {
                f->count = 0;
            }
            if (now - f->seen_ms < b->linger_ms || f->told > 0) {
                link = &f->next;
                continue;
            }
            if (f->state != UNSUBSCRIBED && b->sub) {
                const char *argv[2] = { "UNSUBSCRIBE", f->pubsub };
                size_t lens[2] = { 11, f->pubsub_len };

                push_redis_send(b->sub, 2, argv, lens);
            }
            /* No longer kept current: its next subscriber syncs. */
            b->store->engine->mirror_mark(b->store->inst, f->chan, f->len,
                                          0);
            *link = f->next;
            follow_free(f);
            b->nfollow--;
        }
    }
}

/* ------------------------------------------------------------------ */
/* The connections                                                      */

static void sub_lost(push_bridge_t *b, long long now, const char *why)
{
    unsigned i;
    follow_t *f;

    say(b, 1, "the Redis pub/sub connection to %s:%d is lost (%s); "
        "connecting again in %lld ms, then catching up every channel",
        b->sub_url.host, b->sub_url.port, why, b->backoff);
    push_redis_close(b->sub);
    b->sub = NULL;
    b->gen = 0;
    /* Until subscribed and caught up again, nothing is vouched for. */
    b->store->engine->mirror_live(b->store->inst, 0, 0);
    b->probe_sent = 0;
    b->retry_at = now + b->backoff;
    b->backoff = b->backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS
                                                 : b->backoff * 2;
    for (i = 0; i < BUCKETS; i++) {
        for (f = b->bucket[i]; f; f = f->next) {
            f->state = UNSUBSCRIBED;
        }
    }
    b->stats.followed = 0;
}

static void sub_connect(push_bridge_t *b, long long now)
{
    char err[200];

    /* Any node will do: a cluster tells every node of every PUBLISH.
     * After a failure, the next one. */
    push_redis_route_url(b->route, b->sub_tries, &b->sub_url);
    b->sub = push_redis_connect(&b->sub_url, b->timeout_ms, err,
                                sizeof(err));
    if (!b->sub) {
        b->sub_tries++;
        b->retry_at = now + b->backoff;
        say(b, b->backoff > BACKOFF_MIN_MS ? 3 : 1, "Redis pub/sub: %s; "
            "trying again in %lld ms", err, b->backoff);
        b->backoff = b->backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS
                                                     : b->backoff * 2;
        return;
    }
    b->backoff = BACKOFF_MIN_MS;
    b->stats.connects++;
    /* A generation no earlier connection (of this bridge or another
     * process's) had: the channels it catches up are marked with it. */
    b->gen = (uint32_t)(now * 2654435761u) ^ (uint32_t)getpid()
             ^ (uint32_t)b->stats.connects;
    b->gen = b->gen ? b->gen : 1;
    b->next_probe = now + b->probe_ms;
    if (b->stats.connects > 1) {
        say(b, 2, "the Redis pub/sub connection to %s:%d is back",
            b->sub_url.host, b->sub_url.port);
    }
}

/* Subscribes what is not yet, SUBSCRIBE_MAX channels a command. */
static void subscribe_new(push_bridge_t *b)
{
    const char *argv[SUBSCRIBE_MAX + 1];
    size_t lens[SUBSCRIBE_MAX + 1];
    int n = 0;
    unsigned i;
    follow_t *f;

    argv[0] = "SUBSCRIBE";
    lens[0] = 9;
    for (i = 0; i < BUCKETS; i++) {
        for (f = b->bucket[i]; f; f = f->next) {
            if (f->state != UNSUBSCRIBED) {
                continue;
            }
            f->state = SUBSCRIBING;
            argv[++n] = f->pubsub;
            lens[n] = f->pubsub_len;
            if (n == SUBSCRIBE_MAX) {
                push_redis_send(b->sub, n + 1, argv, lens);
                n = 0;
            }
        }
    }
    if (n) {
        push_redis_send(b->sub, n + 1, argv, lens);
    }
}

/* Tells Redis this server's count of each followed channel whose count
 * changed, or was told long enough ago to need saying again
 * (push_redis_count.h), COUNT_BATCH a round trip.  all: every one, now
 * (the bridge is leaving, its counts 0). */
/* Commands queued on a few connections (a cluster's nodes), and the
 * replies each owes. */
#define PIPES_MAX 8
typedef struct {
    push_redis_conn_t *c[PIPES_MAX];
    unsigned           replies[PIPES_MAX];
    unsigned           n;
} pipes_t;

/* Reads every reply owed: 0, or -1 when one failed (broken, an error
 * reply, a redirection: what it was is said in err). */
static int pipes_drain(push_bridge_t *b, pipes_t *p, char *err,
                       size_t errlen)
{
    unsigned i;
    int rc = 0;

    for (i = 0; i < p->n; i++) {
        int bad = push_redis_drain(p->c[i], p->replies[i], b->timeout_ms);

        if (bad != 0 && rc == 0) {
            snprintf(err, errlen, "%s", bad < 0 ? push_redis_broken(p->c[i])
                                                : "Redis refused a count");
            rc = -1;
        }
        push_redis_route_after(b->route, p->c[i]);
    }
    p->n = 0;
    return rc;
}

/* Tells Redis this server's count of each followed channel whose count
 * changed, or was told long enough ago to need saying again
 * (push_redis_count.h), COUNT_BATCH a round trip.  all: every one, now
 * (the bridge is leaving, its counts 0). */
static void counts_write(push_bridge_t *b, long long now, int all)
{
    int64_t wall = (int64_t)time(NULL);
    pipes_t p;
    unsigned i, j, batch = 0;
    follow_t *f;
    char err[200];

    p.n = 0;
    for (i = 0; i < BUCKETS; i++) {
        for (f = b->bucket[i]; f; f = f->next) {
            size_t kl = f->pubsub_len + 2;
            push_redis_conn_t *c;
            char *key;
            int n;

            if (!all && f->count == f->told
                && (f->told == 0 || now - f->told_ms < b->count_refresh_ms)) {
                continue;
            }
            /* The count key is the pub/sub name and ":n". */
            if (!(key = malloc(kl + 1))) {
                goto out;
            }
            memcpy(key, f->pubsub, f->pubsub_len);
            memcpy(key + f->pubsub_len, ":n", 3);
            if (!(c = push_redis_route_conn(b->route, key, kl, err,
                                            sizeof(err)))) {
                free(key);
                goto failed;
            }
            for (j = 0; j < p.n && p.c[j] != c; j++) {
            }
            if (j == p.n && p.n == PIPES_MAX) {
                if (pipes_drain(b, &p, err, sizeof(err)) != 0) {
                    free(key);
                    goto failed;
                }
                j = 0;
            }
            if (j == p.n) {
                p.c[j] = c;
                p.replies[j] = 0;
                p.n++;
            }
            /* Counts are written without ASKING (a slot being moved: they
             * fail there until it is, and are written again). */
            push_redis_asking(c, 0);
            n = push_redis_count_send(c, key, kl, b->server,
                                      (unsigned long)f->count, wall);
            free(key);
            if (n < 0) {
                /* Part of it may be queued: the replies owed are not
                 * known any more. */
                push_redis_break(c, "out of memory queuing counts");
                goto failed;
            }
            p.replies[j] += (unsigned)n;
            f->told = f->count;
            f->told_ms = now;
            if (++batch == COUNT_BATCH) {
                if (pipes_drain(b, &p, err, sizeof(err)) != 0) {
                    goto failed;
                }
                batch = 0;
            }
        }
    }
out:
    if (pipes_drain(b, &p, err, sizeof(err)) == 0) {
        return;
    }

failed:
    {
        char more[8];

        pipes_drain(b, &p, more, sizeof(more));
    }
    /* Which of them Redis has is not known: all are said again. */
    say(b, 1, "telling Redis this server's subscriber counts: %s", err);
    for (i = 0; i < BUCKETS; i++) {
        for (f = b->bucket[i]; f; f = f->next) {
            f->told = -1;
        }
    }
}

void push_bridge_leave(push_bridge_t *b)
{
    unsigned i;
    follow_t *f;

    for (i = 0; i < BUCKETS; i++) {
        for (f = b->bucket[i]; f; f = f->next) {
            f->count = 0;
        }
    }
    counts_write(b, push_redis_now_ms(), 1);
}

typedef struct {
    push_bridge_t *b;
    follow_t      *f;
    int            reached;   /* a sound connection to its node */
    int            refused;   /* by this server's store (no room) */
} catch_up_arg;

static int catch_up_op(push_redis_conn_t *c, void *arg, char *err,
                       size_t errlen)
{
    catch_up_arg *a = arg;
    int rc = push_mirror_catch_up(a->b->store, c, a->b->prefix, a->f->chan,
                                  a->f->len, (int64_t)time(NULL),
                                  a->b->timeout_ms, err, errlen);

    a->reached = !push_redis_broken(c);
    a->refused = rc == -2;
    return rc < 0 ? -1 : rc;
}

/* Catches up the channels that need it, up to CATCH_UP_MAX. */
static void catch_up_stale(push_bridge_t *b, long long now)
{
    int done = 0;
    unsigned i;
    follow_t *f;

    for (i = 0; i < BUCKETS && done < CATCH_UP_MAX; i++) {
        for (f = b->bucket[i]; f && done < CATCH_UP_MAX; f = f->next) {
            catch_up_arg a = { b, f, 0, 0 };
            char err[200];
            int rc;

            if (!f->stale || f->state != SUBSCRIBED || now < f->retry_at) {
                continue;
            }
            done++;
            f->stale = 0;
            rc = push_redis_route_do(b->route, f->pubsub, f->pubsub_len,
                                     catch_up_op, &a, err, sizeof(err));
            if (rc > 0) {
                f->stale = 1;           /* more to read, at the next step */
                continue;
            }
            if (rc < 0) {
                /* Said once, not at every try of a failover. */
                say(b, f->failing ? 3 : 1, "catching up channel %s from "
                    "Redis: %s", f->chan, err);
                b->stats.catch_up_failures++;
                if (!f->failing) {
                    /* Behind Redis now: a new subscriber brings the copy
                     * up itself instead of trusting it, until a catch-up
                     * succeeds. */
                    b->store->engine->mirror_mark(b->store->inst, f->chan,
                                                  f->len, 0);
                }
                f->failing = 1;
                if (!a.reached && !push_redis_route_cluster(b->route)) {
                    f->stale = 1;       /* the others wait for Redis too */
                    return;
                }
                if (!a.refused) {
                    /* Its node, not the others' (a failover), or Redis
                     * refused (CLUSTERDOWN while a failover is decided,
                     * LOADING after a restart): again in a moment, then
                     * less and less often while it lasts (OOM, a key
                     * of another type). */
                    f->stale = 1;
                    f->retry_ms = f->retry_ms ? f->retry_ms * 2
                                              : BACKOFF_MIN_MS;
                    if (f->retry_ms > BACKOFF_MAX_MS) {
                        f->retry_ms = BACKOFF_MAX_MS;
                    }
                    f->retry_at = now + f->retry_ms;
                    continue;
                }
                /* This channel's own trouble (no room in the store): the
                 * others go on; it is tried again at the next repair. */
                continue;
            }
            if (f->failing) {
                say(b, 2, "channel %s caught up from Redis again", f->chan);
                f->failing = 0;
            }
            f->retry_ms = 0;
            b->stats.caught_up++;
            if (b->gen) {
                b->store->engine->mirror_mark(b->store->inst, f->chan,
                                              f->len, b->gen);
            }
        }
    }
}

/* ------------------------------------------------------------------ */
/* What comes on the pub/sub connection                                 */

static int is(const redisReply *r, const char *s)
{
    return r->type == REDIS_REPLY_STRING && r->len == strlen(s)
           && memcmp(r->str, s, r->len) == 0;
}

static void on_push(push_bridge_t *b, redisReply *r)
{
    follow_t *f;

    if (r->type == REDIS_REPLY_STATUS && strcmp(r->str, "PONG") == 0) {
        b->probe_sent = 0;          /* PING with nothing subscribed */
        return;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        say(b, 0, "Redis pub/sub: %s", r->str);
        return;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 2) {
        return;
    }
    if (is(r->element[0], "pong")) {
        b->probe_sent = 0;
        return;
    }
    if (r->elements != 3 || r->element[1]->type != REDIS_REPLY_STRING) {
        return;
    }
    f = by_pubsub(b, r->element[1]->str, r->element[1]->len);
    if (is(r->element[0], "subscribe")) {
        if (f && f->state == SUBSCRIBING) {
            /* From now on nothing is missed: what came before is read. */
            f->state = SUBSCRIBED;
            f->stale = 1;
            b->stats.followed++;
        }
    }
    else if (is(r->element[0], "unsubscribe")) {
        if (b->stats.followed) {
            b->stats.followed--;
        }
    }
    else if (is(r->element[0], "message") && f
             && r->element[2]->type == REDIS_REPLY_STRING) {
        push_redis_published_t n;
        push_redis_msg_t m;
        int inl;

        if (push_redis_notice_is_delete(r->element[2]->str,
                                        r->element[2]->len)) {
            /* Its subscribers here end as a local DELETE ends them. */
            push_store_delete(b->store, f->chan, f->len, (int64_t)time(NULL),
                              NULL);
            f->stale = 0;
            b->stats.deleted++;
            return;
        }
        if (push_redis_notice_parse(r->element[2]->str, r->element[2]->len,
                                    &n, &inl, &m) != 0) {
            say(b, 1, "Redis pub/sub: a message on %s that is not a "
                "publish notice; reading the channel", f->chan);
            f->stale = 1;
            return;
        }
        if (f->state != SUBSCRIBED || f->stale || !inl) {
            f->stale = 1;           /* read from the stream, in order */
            return;
        }
        switch (push_mirror_apply(b->store, f->chan, f->len, &n, &m,
                                  (int64_t)time(NULL), NULL)) {
        case 0:
            b->stats.applied++;
            break;
        case 1:
            f->stale = 1;
            break;
        default:
            /* The catch-up reads it again, and makes a gap of it when
             * the store can never take it. */
            say(b, 1, "the store refused a message of channel %s from "
                "Redis; catching the channel up", f->chan);
            f->stale = 1;
            break;
        }
    }
}

void push_bridge_step(push_bridge_t *b, int wait_ms)
{
    long long now = push_redis_now_ms(), until = now + wait_ms;
    struct pollfd p;
    redisReply *r;
    int rc;

    if (!b->sub && now >= b->retry_at) {
        sub_connect(b, now);
    }
    if (now >= b->next_look) {
        look(b, now);
        counts_write(b, now, 0);
        b->next_look = now + PUSH_BRIDGE_LOOK_MS;
    }
    if (b->sub) {
        b->store->engine->mirror_live(b->store->inst, b->gen,
                                      now + VOUCH_MS);
        subscribe_new(b);
        if (b->probe_sent && now - b->probe_sent > b->timeout_ms) {
            b->stats.dead_probes++;
            sub_lost(b, now, "no answer to a PING: open but dead");
            return;
        }
        if (now >= b->next_probe && !b->probe_sent) {
            const char *ping[1] = { "PING" };

            push_redis_send(b->sub, 1, ping, NULL);
            b->probe_sent = now;
            b->next_probe = now + b->probe_ms;
        }
        if (now >= b->next_repair) {
            unsigned i;
            follow_t *f;

            for (i = 0; i < BUCKETS; i++) {
                for (f = b->bucket[i]; f; f = f->next) {
                    f->stale = 1;
                }
            }
            b->next_repair = now + b->repair_ms;
        }
        if (push_redis_flush(b->sub) < 0) {
            sub_lost(b, now, push_redis_broken(b->sub));
            return;
        }
    }
    catch_up_stale(b, now);

    now = push_redis_now_ms();
    if (until > b->next_look) {
        until = b->next_look;
    }
    if (!b->sub) {
        if (until > b->retry_at) {
            until = b->retry_at;
        }
        if (until > now) {
            poll(NULL, 0, (int)(until - now));
        }
        return;
    }
    p.fd = push_redis_fd(b->sub);
    p.events = POLLIN | (push_redis_writing(b->sub) ? POLLOUT : 0);
    p.revents = 0;
    rc = poll(&p, 1, until > now ? (int)(until - now) : 0);
    if (rc <= 0) {
        return;
    }
    if ((p.revents & (POLLIN | POLLHUP | POLLERR))
        && push_redis_feed(b->sub) != 0) {
        /* What came before the end is still handled. */
        while (push_redis_next(b->sub, &r) > 0) {
            on_push(b, r);
            freeReplyObject(r);
        }
        sub_lost(b, push_redis_now_ms(), push_redis_broken(b->sub));
        return;
    }
    while ((rc = push_redis_next(b->sub, &r)) > 0) {
        on_push(b, r);
        freeReplyObject(r);
    }
    if (rc < 0) {
        sub_lost(b, push_redis_now_ms(), push_redis_broken(b->sub));
    }
}
