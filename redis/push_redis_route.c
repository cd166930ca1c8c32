/* push_redis_route.c — a channel's Redis, plain or a cluster's node (see
 * push_redis_route.h). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "redis/push_redis_route.h"

#define SLOTS      16384
#define NODES_MAX  64
#define NO_NODE    0xff
#define RETRY_MS   250           /* a node that could not be reached */
#define TRYAGAIN_US 50000        /* a slot being moved: wait, then again */
#define LEARNED_MAX 8            /* clusters a process shares nodes of */

enum { UNKNOWN, PLAIN, CLUSTER };

typedef struct {
    char              *host;          /* malloc'd, kept until the end */
    int                port;
    push_redis_conn_t *conn;
    long long          retry_at;
} node_t;

/* The nodes a process's routes to one cluster (the same seeds) found:
 * a route made after every seed went down (a thread's first publish
 * after failovers took the seeds' nodes) still has the nodes the others
 * learned to ask, as a cluster client's connections share one view. */
typedef struct {
    unsigned nseeds;
    struct {
        char host[PUSH_REDIS_HOST_MAX + 1];
        int  port;
    } seed[PUSH_REDIS_SEEDS_MAX], node[NODES_MAX];
    unsigned nnodes;
} learned_t;

static pthread_mutex_t learned_lock = PTHREAD_MUTEX_INITIALIZER;
static learned_t *learned[LEARNED_MAX];

struct push_redis_route {
    learned_t        *learned;      /* NULL: past LEARNED_MAX clusters */
    push_redis_url_t *seeds;        /* a copy */
    unsigned         nseeds;
    int              timeout_ms;
    int              mode;
    int              stale;         /* the slot map is to be read again */
    long long        next_discover; /* not before (a cluster that is down) */
    node_t           nodes[NODES_MAX];
    unsigned         nnodes;
    uint8_t         *slot_node;     /* a cluster's map (SLOTS bytes) */
    uint8_t          listed[NODES_MAX]; /* named by the last map read */
    unsigned         plain_node;    /* a plain Redis: its node */
    int              ask_slot;      /* -1: none */
    unsigned         ask_node;
};

/* CRC16-CCITT (XMODEM: polynomial 0x1021, initial 0), as Redis Cluster
 * hashes keys. */
static uint16_t crc16(const char *s, size_t len)
{
    uint16_t crc = 0;
    size_t i;
    int b;

    for (i = 0; i < len; i++) {
        crc ^= (uint16_t)((unsigned char)s[i] << 8);
        for (b = 0; b < 8; b++) {
            crc = (uint16_t)(crc & 0x8000 ? (crc << 1) ^ 0x1021 : crc << 1);
        }
    }
    return crc;
}

unsigned push_redis_key_slot(const char *key, size_t len)
{
    const char *open = memchr(key, '{', len), *close;

    if (open) {
        size_t rest = len - (size_t)(open - key) - 1;

        close = memchr(open + 1, '}', rest);
        if (close && close > open + 1) {
            return crc16(open + 1, (size_t)(close - open - 1)) & (SLOTS - 1);
        }
    }
    return crc16(key, len) & (SLOTS - 1);
}

static int same_seeds(const learned_t *l, const push_redis_url_t *seeds,
                      unsigned nseeds)
{
    unsigned i;

    if (l->nseeds != nseeds) {
        return 0;
    }
    for (i = 0; i < nseeds; i++) {
        if (l->seed[i].port != seeds[i].port
            || strcmp(l->seed[i].host, seeds[i].host) != 0) {
            return 0;
        }
    }
    return 1;
}

/* The process's record for these seeds, made at first; NULL when
 * LEARNED_MAX others have one (that route learns alone). */
static learned_t *learned_for(const push_redis_url_t *seeds, unsigned nseeds)
{
    learned_t *l = NULL;
    unsigned i;

    pthread_mutex_lock(&learned_lock);
    for (i = 0; i < LEARNED_MAX && learned[i]; i++) {
        if (same_seeds(learned[i], seeds, nseeds)) {
            l = learned[i];
            break;
        }
    }
    if (!l && i < LEARNED_MAX && (l = calloc(1, sizeof(*l)))) {
        l->nseeds = nseeds;
        for (i = 0; i < nseeds; i++) {
            snprintf(l->seed[i].host, sizeof(l->seed[i].host), "%s",
                     seeds[i].host);
            l->seed[i].port = seeds[i].port;
        }
        for (i = 0; learned[i]; i++)
            ;
        learned[i] = l;     /* kept for the process's life */
    }
    pthread_mutex_unlock(&learned_lock);
    return l;
}

push_redis_route_t *push_redis_route_create(const push_redis_url_t *seeds,
                                            unsigned nseeds, int timeout_ms)
{
    push_redis_route_t *r;

    if (nseeds == 0 || nseeds > PUSH_REDIS_SEEDS_MAX
        || !(r = calloc(1, sizeof(*r)))) {
        return NULL;
    }
    if (!(r->seeds = malloc(nseeds * sizeof(*seeds)))) {
        free(r);
        return NULL;
    }
    memcpy(r->seeds, seeds, nseeds * sizeof(*seeds));
    r->nseeds = nseeds;
    r->timeout_ms = timeout_ms;
    r->ask_slot = -1;
    r->learned = learned_for(seeds, nseeds);
    return r;
}

void push_redis_route_free(push_redis_route_t *r)
{
    unsigned i;

    if (!r) {
        return;
    }
    for (i = 0; i < r->nnodes; i++) {
        push_redis_close(r->nodes[i].conn);
        free(r->nodes[i].host);
    }
    free(r->slot_node);
    free(r->seeds);
    free(r);
}

int push_redis_route_cluster(const push_redis_route_t *r)
{
    return r->mode == CLUSTER;
}

/* The node host:port in the table, or NO_NODE. */
static unsigned node_find(const push_redis_route_t *r, const char *host,
                          int port)
{
    unsigned i;

    for (i = 0; i < r->nnodes; i++) {
        if (r->nodes[i].port == port && strcmp(r->nodes[i].host, host) == 0) {
            return i;
        }
    }
    return NO_NODE;
}

/* Whether host:port is the one seed of a route that names one. */
static int only_seed(const push_redis_route_t *r, const char *host, int port)
{
    return r->nseeds == 1 && port == r->seeds[0].port
           && strcmp(host, r->seeds[0].host) == 0;
}

/* The node host:port, added when new; NO_NODE when the table is full. */
static unsigned node_of(push_redis_route_t *r, const char *host, int port)
{
    unsigned i = node_find(r, host, port);

    if (i != NO_NODE) {
        return i;
    }
    i = r->nnodes;
    if (r->nnodes == NODES_MAX || strlen(host) > PUSH_REDIS_HOST_MAX) {
        return NO_NODE;
    }
    memset(&r->nodes[i], 0, sizeof(r->nodes[i]));
    if (!(r->nodes[i].host = strdup(host))) {
        return NO_NODE;
    }
    r->nodes[i].port = port;
    r->nnodes++;
    return i;
}

/* The same for a node only asked for the map (a replica, one another
 * route learned of): added while half the table is free, so that the
 * masters a map names always find room. */
static unsigned spare_node_of(push_redis_route_t *r, const char *host,
                              int port)
{
    unsigned i = node_find(r, host, port);

    return i != NO_NODE || r->nnodes >= NODES_MAX / 2 ? i
                                                      : node_of(r, host, port);
}

/* A node's URL: its address, the first seed's credentials. */
static void node_url(const push_redis_route_t *r, const node_t *n,
                     push_redis_url_t *u)
{
    *u = r->seeds[0];
    snprintf(u->host, sizeof(u->host), "%s", n->host);
    u->port = n->port;
    u->db = 0;
}

/* The node's connection, sound, or NULL (err) when it cannot be had. */
static push_redis_conn_t *node_conn(push_redis_route_t *r, unsigned i,
                                    char *err, size_t errlen)
{
    node_t *n = &r->nodes[i];
    push_redis_url_t u;
    long long now = push_redis_now_ms();

    /* A connection with commands queued (a caller's pipeline) is not
     * idle: its owner finds out when it drains it. */
    if (n->conn && (push_redis_broken(n->conn)
                    || (!push_redis_writing(n->conn)
                        && !push_redis_idle_ok(n->conn)))) {
        push_redis_close(n->conn);
        n->conn = NULL;
    }
    if (n->conn) {
        return n->conn;
    }
    if (now < n->retry_at) {
        snprintf(err, errlen, "Redis %s:%d was not reachable a moment ago",
                 n->host, n->port);
        return NULL;
    }
    if (r->mode != CLUSTER && only_seed(r, n->host, n->port)) {
        u = r->seeds[0];            /* plain (or not known): its db too */
    }
    else {
        node_url(r, n, &u);
    }
    if (!(n->conn = push_redis_connect(&u, r->timeout_ms, err, errlen))) {
        n->retry_at = now + RETRY_MS;
        r->stale = r->mode != PLAIN; /* a cluster may have moved on */
    }
    return n->conn;
}

/* One CLUSTER SLOTS reply into the map: 0, or -1 when it is not one. */
static int read_slots(push_redis_route_t *r, const redisReply *rep,
                      const char *asked_host)
{
    /* Into a map of its own first: a reply that fails half way leaves
     * the one in use as it was. */
    uint8_t *map = malloc(SLOTS);
    uint8_t listed[NODES_MAX] = { 0 };
    size_t i, j;

    if (!map || rep->type != REDIS_REPLY_ARRAY || rep->elements == 0) {
        free(map);
        return -1;
    }
    memset(map, NO_NODE, SLOTS);
    for (i = 0; i < rep->elements; i++) {
        const redisReply *e = rep->element[i], *m;
        const char *host;
        long long a, b, s;
        unsigned node;

        if (e->type != REDIS_REPLY_ARRAY || e->elements < 3
            || e->element[0]->type != REDIS_REPLY_INTEGER
            || e->element[1]->type != REDIS_REPLY_INTEGER
            || (m = e->element[2])->type != REDIS_REPLY_ARRAY
            || m->elements < 2 || m->element[0]->type != REDIS_REPLY_STRING
            || m->element[1]->type != REDIS_REPLY_INTEGER) {
            free(map);
            return -1;
        }
        a = e->element[0]->integer;
        b = e->element[1]->integer;
        if (a < 0 || b >= SLOTS || a > b) {
            free(map);
            return -1;
        }
        /* "" or "?": the node that answered, as Redis documents. */
        host = m->element[0]->len && strcmp(m->element[0]->str, "?") != 0
               ? m->element[0]->str : asked_host;
        node = node_of(r, host, (int)m->element[1]->integer);
        if (node == NO_NODE) {
            free(map);
            return -1;
        }
        for (s = a; s <= b; s++) {
            map[s] = (uint8_t)node;
        }
        listed[node] = 1;
        /* Its replicas: not routed to, but nodes to ask for the map
         * (the next masters, after a failover). */
        for (j = 3; j < e->elements; j++) {
            const redisReply *p = e->element[j];
            unsigned k;

            if (p->type == REDIS_REPLY_ARRAY && p->elements >= 2
                && p->element[0]->type == REDIS_REPLY_STRING
                && p->element[0]->len && strcmp(p->element[0]->str, "?")
                && p->element[1]->type == REDIS_REPLY_INTEGER
                && (k = spare_node_of(r, p->element[0]->str,
                                      (int)p->element[1]->integer))
                   != NO_NODE) {
                listed[k] = 1;
            }
        }
    }
    memcpy(r->listed, listed, sizeof(listed));
    /* Kept only for a cluster: a plain Redis' route has no map. */
    free(r->slot_node);
    r->slot_node = map;
    return 0;
}

/* The nodes the process's other routes to this cluster found, into this
 * route's table (to ask for the map too). */
static void learned_take(push_redis_route_t *r)
{
    unsigned i;

    if (!r->learned) {
        return;
    }
    pthread_mutex_lock(&learned_lock);
    for (i = 0; i < r->learned->nnodes; i++) {
        spare_node_of(r, r->learned->node[i].host, r->learned->node[i].port);
    }
    pthread_mutex_unlock(&learned_lock);
}

/* A map just read: the nodes it names (masters and their replicas) are
 * what the process knows of the cluster now. */
static void learned_give(push_redis_route_t *r)
{
    unsigned k, n = 0;

    if (!r->learned) {
        return;
    }
    pthread_mutex_lock(&learned_lock);
    for (k = 0; k < r->nnodes; k++) {
        if (r->listed[k]) {
            snprintf(r->learned->node[n].host,
                     sizeof(r->learned->node[n].host), "%s",
                     r->nodes[k].host);
            r->learned->node[n].port = r->nodes[k].port;
            n++;
        }
    }
    r->learned->nnodes = n;
    pthread_mutex_unlock(&learned_lock);
}

/* Reads the map from the first node (known ones, then the seeds) that
 * gives it; finds a plain Redis.  0, or -1 with err. */
static int discover(push_redis_route_t *r, char *err, size_t errlen)
{
    const char *argv[2] = { "CLUSTER", "SLOTS" };
    /* The nodes known when it starts, then the seeds: node_of adds
     * seeds to the nodes as it goes, which must not shift the count. */
    unsigned tries, known, total;
    long long now = push_redis_now_ms();

    if (r->mode == CLUSTER && now < r->next_discover) {
        snprintf(err, errlen, "Redis Cluster: no node gave its slots a "
                 "moment ago");
        return -1;
    }
    learned_take(r);
    known = r->nnodes;
    total = known + r->nseeds;
    for (tries = 0; tries < total; tries++) {
        push_redis_conn_t *c;
        redisReply *rep;
        const char *host;
        unsigned node;
        int port;

        if (tries < known) {
            host = r->nodes[tries].host;
            port = r->nodes[tries].port;
        }
        else {
            host = r->seeds[tries - known].host;
            port = r->seeds[tries - known].port;
        }
        if ((node = node_of(r, host, port)) == NO_NODE
            || (tries >= known && node < known)   /* a seed, asked above */
            || !(c = node_conn(r, node, err, errlen))) {
            continue;
        }
        rep = push_redis_call(c, 2, argv, NULL, r->timeout_ms);
        if (!rep) {
            snprintf(err, errlen, "CLUSTER SLOTS at %s:%d: %s", host, port,
                     push_redis_broken(c));
            continue;
        }
        if (rep->type == REDIS_REPLY_ERROR) {
            /* No cluster here: a plain Redis, when it is all we have
             * (the seed said so, not a node learned of, which may be
             * loading). */
            if (r->mode != CLUSTER && only_seed(r, host, port)) {
                freeReplyObject(rep);
                r->mode = PLAIN;
                r->stale = 0;
                r->plain_node = node;
                return 0;
            }
            snprintf(err, errlen, "Redis %s:%d is not in a cluster (%s), "
                     "yet PushRedis names several", host, port, rep->str);
            freeReplyObject(rep);
            continue;
        }
        if (read_slots(r, rep, host) == 0) {
            freeReplyObject(rep);
            r->mode = CLUSTER;
            r->stale = 0;
            learned_give(r);
            return 0;
        }
        snprintf(err, errlen, "CLUSTER SLOTS at %s:%d: an unexpected reply",
                 host, port);
        freeReplyObject(rep);
    }
    r->next_discover = now + RETRY_MS;
    return -1;
}

push_redis_conn_t *push_redis_route_conn(push_redis_route_t *r,
                                         const char *key, size_t len,
                                         char *err, size_t errlen)
{
    unsigned slot = push_redis_key_slot(key, len), node;
    push_redis_conn_t *c;
    int asking = 0;

    if ((r->mode == UNKNOWN || r->stale) && discover(r, err, errlen) != 0
        && r->mode == UNKNOWN) {
        return NULL;
    }
    if (r->ask_slot == (int)slot) {
        node = r->ask_node;
        asking = 1;
        r->ask_slot = -1;
    }
    else if (r->mode == PLAIN) {
        node = r->plain_node;
    }
    else {
        node = r->slot_node ? r->slot_node[slot] : NO_NODE;
    }
    if (node == NO_NODE || node >= r->nnodes) {
        r->stale = 1;
        snprintf(err, errlen, "Redis Cluster: no node serves slot %u",
                 slot);
        return NULL;
    }
    if ((c = node_conn(r, node, err, errlen))) {
        push_redis_asking(c, asking);
        push_redis_redirect_clear(c);
    }
    return c;
}

int push_redis_route_after(push_redis_route_t *r, push_redis_conn_t *c)
{
    const push_redis_redirect_t *d = push_redis_redirected(c);
    unsigned i, node;

    if (push_redis_broken(c)) {
        r->stale = r->mode == CLUSTER;  /* a node gone: ask who took over */
    }
    if (!d) {
        return 0;
    }
    if (d->kind == PUSH_REDIS_TRYAGAIN) {
        /* The command did not run: again, a moment later. */
        push_redis_redirect_clear(c);
        usleep(TRYAGAIN_US);
        return 1;
    }
    /* An empty host is the node that said it. */
    node = NO_NODE;
    if (d->host[0]) {
        node = node_of(r, d->host, d->port);
    }
    else {
        for (i = 0; i < r->nnodes; i++) {
            if (r->nodes[i].conn == c) {
                node = node_of(r, r->nodes[i].host, d->port);
                break;
            }
        }
    }
    if (node != NO_NODE) {
        if (d->kind == PUSH_REDIS_ASK) {
            r->ask_slot = d->slot;
            r->ask_node = node;
        }
        else {
            if (r->slot_node) {
                r->slot_node[d->slot] = (uint8_t)node;
            }
            r->stale = 1;           /* slots moved: read the whole map */
        }
    }
    push_redis_redirect_clear(c);
    r->mode = r->mode == UNKNOWN ? CLUSTER : r->mode;
    return 1;
}

int push_redis_route_do(push_redis_route_t *r, const char *key, size_t len,
                        push_redis_op_fn op, void *arg, char *err,
                        size_t errlen)
{
    int tries, rc = -1;

    for (tries = 0; tries < PUSH_REDIS_ROUTE_TRIES; tries++) {
        push_redis_conn_t *c = push_redis_route_conn(r, key, len, err,
                                                     errlen);

        if (!c) {
            return -1;
        }
        rc = op(c, arg, err, errlen);
        push_redis_asking(c, 0);
        if (!push_redis_route_after(r, c) || rc == 0) {
            return rc;
        }
    }
    return rc;
}

void push_redis_route_url(push_redis_route_t *r, unsigned n,
                          push_redis_url_t *u)
{
    if (r->mode == CLUSTER && r->nnodes > 0) {
        node_url(r, &r->nodes[n % r->nnodes], u);
        return;
    }
    *u = r->seeds[n % r->nseeds];
}
