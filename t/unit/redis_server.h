/* redis_server.h — a private redis-server for a unit test: on
 * 127.0.0.1, a free port, its own directory, no persistence unless
 * asked; stopped when the test exits (also on a failed CHECK's exit). */
#ifndef PUSH_TEST_REDIS_SERVER_H
#define PUSH_TEST_REDIS_SERVER_H

#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "redis/push_redis_conn.h"

static pid_t redis_pid, redis_owner;
static char  redis_dir[64];

/* A redis-server of ours killed, and reaped. */
static void redis_kill(pid_t *pid)
{
    if (*pid > 0) {
        kill(*pid, SIGKILL);
        waitpid(*pid, NULL, 0);
        *pid = 0;
    }
}

/* A private directory removed, and forgotten. */
static void redis_rmdir(char *dir)
{
    if (dir[0]) {
        char cmd[96];

        snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
        if (system(cmd) != 0) {
            fprintf(stderr, "could not remove %s\n", dir);
        }
        dir[0] = '\0';
    }
}

static void redis_stop(void)
{
    if (getpid() != redis_owner) {
        return;             /* a forked test process exiting */
    }
    redis_kill(&redis_pid);
    redis_rmdir(redis_dir);
}

/* A port nothing listens on now. */
static int redis_free_port(void)
{
    struct sockaddr_in a;
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0), port;

    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0
        || getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
        perror("free port");
        exit(2);
    }
    port = ntohs(a.sin_port);
    close(fd);
    return port;
}

/* Starts it (REDIS_SERVER, else redis-server on PATH) and waits until it
 * answers; its URL in u.  Exits the test when it cannot. */
static void redis_start(push_redis_url_t *u)
{
    const char *bin = getenv("REDIS_SERVER") ? getenv("REDIS_SERVER")
                                             : "redis-server";
    char port[8], err[160];
    long long until;
    int i;

    snprintf(redis_dir, sizeof(redis_dir), "/tmp/push-redis-test.XXXXXX");
    if (!mkdtemp(redis_dir)) {
        perror("mkdtemp");
        exit(2);
    }
    snprintf(port, sizeof(port), "%d", redis_free_port());
    redis_pid = fork();
    if (redis_pid == 0) {
        execlp(bin, bin, "--bind", "127.0.0.1", "--port", port, "--dir",
               redis_dir, "--save", "", "--appendonly", "no",
               "--daemonize", "no", "--logfile", "redis.log",
               (char *)NULL);
        fprintf(stderr, "cannot run %s (install redis-server)\n", bin);
        _exit(127);
    }
    redis_owner = getpid();
    atexit(redis_stop);
    memset(u, 0, sizeof(*u));
    snprintf(u->host, sizeof(u->host), "127.0.0.1");
    u->port = atoi(port);
    until = push_redis_now_ms() + 10000;
    for (i = 0; push_redis_now_ms() < until; i++) {
        push_redis_conn_t *c = push_redis_connect(u, 500, err, sizeof(err));
        int status;

        if (c) {
            push_redis_close(c);
            return;
        }
        if (waitpid(redis_pid, &status, WNOHANG) == redis_pid) {
            fprintf(stderr, "redis-server exited at start (status %d)\n",
                    status);
            redis_pid = 0;
            exit(2);
        }
        usleep(20000);
    }
    fprintf(stderr, "redis-server on port %s did not answer in 10 s: %s\n",
            port, err);
    exit(2);
}

/* A connection to u, or the test ends (the server is the test's). */
static push_redis_conn_t *redis_conn(const push_redis_url_t *u)
{
    char err[160];
    push_redis_conn_t *c = push_redis_connect(u, 2000, err, sizeof(err));

    if (!c) {
        fprintf(stderr, "connect: %s\n", err);
        exit(2);
    }
    return c;
}

#endif
