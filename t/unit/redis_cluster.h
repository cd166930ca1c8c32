/* redis_cluster.h — a private Redis Cluster for a unit test: three
 * masters and a replica each on 127.0.0.1, free ports, one directory,
 * no persistence, a short node timeout (failovers within seconds);
 * made with redis-cli --cluster create, stopped when the test exits. */
#ifndef PUSH_TEST_REDIS_CLUSTER_H
#define PUSH_TEST_REDIS_CLUSTER_H

#include "redis_server.h"

#define CLUSTER_NODES 6

static pid_t cluster_pid[CLUSTER_NODES];
static int   cluster_port[CLUSTER_NODES];
static char  cluster_dir[64];
static pid_t cluster_owner;

static void cluster_stop(void)
{
    int i;

    if (getpid() != cluster_owner) {
        return;             /* a forked test process exiting */
    }
    for (i = 0; i < CLUSTER_NODES; i++) {
        redis_kill(&cluster_pid[i]);
    }
    redis_rmdir(cluster_dir);
}

/* Node i's URL. */
static push_redis_url_t cluster_url(int i)
{
    push_redis_url_t u;

    memset(&u, 0, sizeof(u));
    snprintf(u.host, sizeof(u.host), "127.0.0.1");
    u.port = cluster_port[i];
    return u;
}

/* One command's reply from node i (NULL when it did not answer). */
static redisReply *cluster_cmd(int i, int argc, const char **argv)
{
    push_redis_url_t u = cluster_url(i);
    char err[160];
    push_redis_conn_t *c = push_redis_connect(&u, 1000, err, sizeof(err));
    redisReply *r;

    if (!c) {
        return NULL;
    }
    r = push_redis_call(c, argc, argv, NULL, 5000);
    push_redis_close(c);
    return r;
}

/* 1 when node i says the cluster is ok, and, a replica, that its link
 * to its master is up (its first sync done). */
static int cluster_ok_at(int i)
{
    const char *info[2] = { "CLUSTER", "INFO" };
    const char *repl[2] = { "INFO", "replication" };
    redisReply *r = cluster_cmd(i, 2, info);
    int ok = r && r->type == REDIS_REPLY_STRING
             && strstr(r->str, "cluster_state:ok") != NULL;

    if (r) {
        freeReplyObject(r);
    }
    if (ok && (r = cluster_cmd(i, 2, repl))) {
        ok = r->type == REDIS_REPLY_STRING
             && (strstr(r->str, "role:master") != NULL
                 || strstr(r->str, "master_link_status:up") != NULL);
        freeReplyObject(r);
    }
    return ok;
}

/* Waits until every live node says ok (or secs): 1 when they did. */
static int cluster_wait_ok(int secs)
{
    long long until = push_redis_now_ms() + secs * 1000LL;

    while (push_redis_now_ms() < until) {
        int i, ok = 1;

        for (i = 0; i < CLUSTER_NODES && ok; i++) {
            ok = cluster_pid[i] <= 0 || cluster_ok_at(i);
        }
        if (ok) {
            return 1;
        }
        usleep(100000);
    }
    return 0;
}

/* 1 when nothing listens on port now. */
static int cluster_port_free(int port)
{
    struct sockaddr_in a;
    int fd = socket(AF_INET, SOCK_STREAM, 0), ok;

    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((uint16_t)port);
    ok = fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
    if (fd >= 0) {
        close(fd);
    }
    return ok;
}

/* A free port whose cluster bus port (10000 above) is free too. */
static int cluster_free_port(void)
{
    int tries;

    for (tries = 0; tries < 1000; tries++) {
        int port = redis_free_port();

        if (port <= 55535 && cluster_port_free(port + 10000)) {
            return port;
        }
    }
    fprintf(stderr, "no free port pair for a cluster node\n");
    exit(2);
}

static void cluster_run_node(int i)
{
    const char *bin = getenv("REDIS_SERVER") ? getenv("REDIS_SERVER")
                                             : "redis-server";
    char port[8], conf[32], log[32];

    snprintf(port, sizeof(port), "%d", cluster_port[i]);
    snprintf(conf, sizeof(conf), "nodes-%d.conf", cluster_port[i]);
    snprintf(log, sizeof(log), "redis-%d.log", cluster_port[i]);
    cluster_pid[i] = fork();
    if (cluster_pid[i] == 0) {
        execlp(bin, bin, "--bind", "127.0.0.1", "--port", port, "--dir",
               cluster_dir, "--save", "", "--appendonly", "no",
               "--cluster-enabled", "yes", "--cluster-config-file", conf,
               "--cluster-node-timeout", "1000", "--daemonize", "no",
               "--logfile", log, (char *)NULL);
        _exit(127);
    }
}

/* Starts the six, makes them a cluster (masters 0..2, replicas 3..5),
 * waits until it is ok.  Exits the test when it cannot. */
static void cluster_start(void)
{
    char cmd[512];
    int i, n;

    snprintf(cluster_dir, sizeof(cluster_dir),
             "/tmp/push-redis-cluster.XXXXXX");
    if (!mkdtemp(cluster_dir)) {
        perror("mkdtemp");
        exit(2);
    }
    cluster_owner = getpid();
    atexit(cluster_stop);
    for (i = 0; i < CLUSTER_NODES; i++) {
        cluster_port[i] = cluster_free_port();
        cluster_run_node(i);
    }
    for (i = 0; i < CLUSTER_NODES; i++) {
        push_redis_url_t u = cluster_url(i);
        long long until = push_redis_now_ms() + 10000;
        char err[160];
        push_redis_conn_t *c = NULL;

        while (!c && push_redis_now_ms() < until) {
            if (!(c = push_redis_connect(&u, 500, err, sizeof(err)))) {
                usleep(20000);
            }
        }
        if (!c) {
            fprintf(stderr, "cluster node %d did not start: %s\n", i, err);
            exit(2);
        }
        push_redis_close(c);
    }
    n = snprintf(cmd, sizeof(cmd), "redis-cli --cluster create");
    for (i = 0; i < CLUSTER_NODES; i++) {
        n += snprintf(cmd + n, sizeof(cmd) - (size_t)n, " 127.0.0.1:%d",
                      cluster_port[i]);
    }
    snprintf(cmd + n, sizeof(cmd) - (size_t)n,
             " --cluster-replicas 1 --cluster-yes > %s/create.out 2>&1",
             cluster_dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "redis-cli --cluster create failed (%s/create.out)\n",
                cluster_dir);
        exit(2);
    }
    if (!cluster_wait_ok(20)) {
        fprintf(stderr, "the cluster is not ok after 20 s\n");
        exit(2);
    }
}

/* Node i's id (CLUSTER MYID), into id (41 bytes). */
static void cluster_id(int i, char *id)
{
    const char *myid[2] = { "CLUSTER", "MYID" };
    redisReply *r = cluster_cmd(i, 2, myid);

    id[0] = '\0';
    if (r && r->type == REDIS_REPLY_STRING && r->len == 40) {
        memcpy(id, r->str, 41);
    }
    if (r) {
        freeReplyObject(r);
    }
}

/* The node (index) that is master of slot now, by node 0's view (or the
 * first node that answers); -1 when none says. */
static int cluster_master_of(unsigned slot)
{
    const char *slots[2] = { "CLUSTER", "SLOTS" };
    int i, j;

    for (i = 0; i < CLUSTER_NODES; i++) {
        redisReply *r;
        size_t k;

        if (cluster_pid[i] <= 0 || !(r = cluster_cmd(i, 2, slots))) {
            continue;
        }
        for (k = 0; r->type == REDIS_REPLY_ARRAY && k < r->elements; k++) {
            redisReply *e = r->element[k];

            if ((long long)slot >= e->element[0]->integer
                && (long long)slot <= e->element[1]->integer) {
                int port = (int)e->element[2]->element[1]->integer;

                freeReplyObject(r);
                for (j = 0; j < CLUSTER_NODES; j++) {
                    if (cluster_port[j] == port) {
                        return j;
                    }
                }
                return -1;
            }
        }
        freeReplyObject(r);
    }
    return -1;
}

#endif
