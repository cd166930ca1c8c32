/* push_redis_conn.c — a Redis connection with deadlines (see
 * push_redis_conn.h). */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "lib/push_buf.h"
#include "redis/push_redis_conn.h"
#include "redis/push_redis_tls.h"

struct push_redis_conn {
    int          fd;
    push_redis_tls_conn_t *tls;    /* rediss://; NULL: plain TCP */
    int          tls_want;     /* what a TLS write that stopped waits for */
    redisReader *reader;
    push_buf_t   out;          /* formatted commands not written yet */
    size_t       out_off;
    char         why[160];     /* "" while sound */
    char         sha[PUSH_REDIS_SCRIPTS][41];  /* scripts loaded */
    int          asking;       /* each call goes after an ASKING */
    push_redis_redirect_t redirect;            /* the last one seen */
};

long long push_redis_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int broke(push_redis_conn_t *c, const char *what, int err)
{
    if (!c->why[0]) {
        if (err) {
            snprintf(c->why, sizeof(c->why), "%s: %s", what, strerror(err));
        }
        else {
            snprintf(c->why, sizeof(c->why), "%s", what);
        }
    }
    return -1;
}

/* Waits until fd is ready for events or the deadline: 1 ready, 0 timed
 * out, -1 error (errno). */
static int wait_fd(int fd, short events, long long deadline)
{
    for (;;) {
        struct pollfd p;
        long long left = deadline - push_redis_now_ms();
        int n;

        if (left <= 0) {
            return 0;
        }
        p.fd = fd;
        p.events = events;
        p.revents = 0;
        n = poll(&p, 1, left > 60000 ? 60000 : (int)left);
        if (n > 0) {
            return 1;
        }
        if (n < 0 && errno != EINTR) {
            return -1;
        }
    }
}

/* A non-blocking TCP connection to host:port within the deadline. */
static int dial(const push_redis_url_t *u, long long deadline, char *err,
                size_t errlen)
{
    struct addrinfo hints, *res = NULL, *ai;
    char port[8];
    int rc, fd = -1, last = 0;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    snprintf(port, sizeof(port), "%d", u->port);
    if ((rc = getaddrinfo(u->host, port, &hints, &res)) != 0) {
        snprintf(err, errlen, "cannot resolve %s: %s", u->host,
                 gai_strerror(rc));
        return -1;
    }
    for (ai = res; ai; ai = ai->ai_next) {
        int one = 1, soerr = 0;
        socklen_t len = sizeof(soerr);

        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK
                    | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            last = errno;
            continue;
        }
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
            break;
        }
        if (errno == EINPROGRESS) {
            rc = wait_fd(fd, POLLOUT, deadline);
            if (rc > 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len)
                          == 0 && soerr == 0) {
                break;
            }
            last = rc == 0 ? ETIMEDOUT : rc < 0 ? errno : soerr;
        }
        else {
            last = errno;
        }
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0) {
        snprintf(err, errlen, "cannot connect to %s:%d: %s", u->host,
                 u->port, strerror(last ? last : ECONNREFUSED));
    }
    return fd;
}

/* rediss://: the TLS handshake on the connected socket, by the
 * deadline; 0, or -1 with the reason in err. */
static int tls_start(push_redis_conn_t *c, const push_redis_url_t *u,
                     long long deadline, char *err, size_t errlen)
{
    if (!u->tls_ctx) {
        snprintf(err, errlen, "rediss://%s:%d without TLS set up", u->host,
                 u->port);
        return -1;
    }
    if (!(c->tls = push_redis_tls_open(u->tls_ctx, c->fd, u->host))) {
        snprintf(err, errlen, "out of memory for TLS");
        return -1;
    }
    for (;;) {
        int want = 0, rc = push_redis_tls_handshake(c->tls, &want, err,
                                                     errlen);

        if (rc != 0) {
            return rc > 0 ? 0 : -1;
        }
        rc = wait_fd(c->fd, want == PUSH_TLS_WANT_WRITE ? POLLOUT : POLLIN,
                     deadline);
        if (rc <= 0) {
            snprintf(err, errlen, "the TLS handshake with %s:%d: %s", u->host,
                     u->port, strerror(rc == 0 ? ETIMEDOUT : errno));
            return -1;
        }
    }
}

/* An AUTH or SELECT at connect: 0 when Redis said OK. */
static int setup(push_redis_conn_t *c, int argc, const char **argv,
                 long long deadline, char *err, size_t errlen)
{
    long long left = deadline - push_redis_now_ms();
    redisReply *r = push_redis_call(c, argc, argv, NULL,
                                    left > 0 ? (int)left : 0);
    int ok = r && r->type == REDIS_REPLY_STATUS;

    if (!ok) {
        snprintf(err, errlen, "%s refused: %s", argv[0],
                 !r ? push_redis_broken(c)
                    : r->type == REDIS_REPLY_ERROR ? r->str : "odd reply");
    }
    if (r) {
        freeReplyObject(r);
    }
    return ok ? 0 : -1;
}

push_redis_conn_t *push_redis_connect(const push_redis_url_t *u,
                                      int timeout_ms, char *err,
                                      size_t errlen)
{
    long long deadline = push_redis_now_ms() + timeout_ms;
    push_redis_conn_t *c;
    int fd = dial(u, deadline, err, errlen);

    if (fd < 0) {
        return NULL;
    }
    if (!(c = calloc(1, sizeof(*c))) || !(c->reader = redisReaderCreate())) {
        snprintf(err, errlen, "out of memory");
        free(c);
        close(fd);
        return NULL;
    }
    c->fd = fd;
    if (u->tls && tls_start(c, u, deadline, err, errlen) != 0) {
        push_redis_close(c);
        return NULL;
    }
    if (u->has_password) {
        const char *auth[3] = { "AUTH", u->user, u->password };
        const char **argv = auth;
        int argc = 3;

        if (!u->user[0]) {
            auth[1] = u->password;
            argc = 2;
        }
        if (setup(c, argc, argv, deadline, err, errlen) != 0) {
            push_redis_close(c);
            return NULL;
        }
    }
    if (u->db) {
        char db[16];
        const char *sel[2] = { "SELECT", db };

        snprintf(db, sizeof(db), "%ld", u->db);
        if (setup(c, 2, sel, deadline, err, errlen) != 0) {
            push_redis_close(c);
            return NULL;
        }
    }
    return c;
}

void push_redis_close(push_redis_conn_t *c)
{
    if (c) {
        push_redis_tls_close(c->tls);
        if (c->fd >= 0) {
            close(c->fd);
        }
        if (c->reader) {
            redisReaderFree(c->reader);
        }
        push_buf_free(&c->out);
        free(c);
    }
}

int push_redis_fd(const push_redis_conn_t *c)
{
    return c->fd;
}

const char *push_redis_broken(const push_redis_conn_t *c)
{
    return c->why[0] ? c->why : NULL;
}

int push_redis_idle_ok(push_redis_conn_t *c)
{
    struct pollfd p;
    char byte;
    ssize_t n;

    if (c->why[0]) {
        return 0;
    }
    if (c->tls) {
        int rc = push_redis_tls_idle_data(c->tls);

        if (rc == 0) {
            return 1;
        }
        broke(c, rc < 0 ? "Redis closed the connection while it was idle"
                        : "Redis sent what was not asked for on an idle "
                          "connection", 0);
        return 0;
    }
    p.fd = c->fd;
    p.events = POLLIN;
    p.revents = 0;
    if (poll(&p, 1, 0) <= 0) {
        return 1;                   /* nothing came: as it was left */
    }
    n = recv(c->fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n == 0) {
        broke(c, "Redis closed the connection while it was idle", 0);
        return 0;
    }
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
            return 1;
        }
        broke(c, "idle connection to Redis", errno);
        return 0;
    }
    broke(c, "Redis sent what was not asked for on an idle connection", 0);
    return 0;
}

char *push_redis_script_sha(push_redis_conn_t *c, unsigned which)
{
    return c->sha[which < PUSH_REDIS_SCRIPTS ? which : 0];
}

int push_redis_writing(const push_redis_conn_t *c)
{
    return c->out.len > c->out_off;
}

int push_redis_send(push_redis_conn_t *c, int argc, const char **argv,
                    const size_t *lens)
{
    size_t stack[16] = { 0 }, *l = stack;
    char *cmd = NULL;
    int n, i;

    if (!lens) {
        if (argc > 16 && !(l = malloc(sizeof(*l) * (size_t)argc))) {
            return -1;
        }
        for (i = 0; i < argc; i++) {
            l[i] = strlen(argv[i]);
        }
        lens = l;
    }
    n = redisFormatCommandArgv(&cmd, argc, argv, lens);
    if (l != stack) {
        free(l);
    }
    if (n < 0) {
        return -1;
    }
    if (c->out_off && c->out_off == c->out.len) {
        c->out.len = c->out_off = 0;
    }
    i = push_buf_append(&c->out, cmd, (size_t)n);
    redisFreeCommand(cmd);
    return i;
}

int push_redis_flush(push_redis_conn_t *c)
{
    if (c->why[0]) {
        return -1;
    }
    while (c->out_off < c->out.len) {
        ssize_t n;

        if (c->tls) {
            char why[sizeof(c->why)];
            long w = push_redis_tls_write(c->tls, c->out.data + c->out_off,
                                          c->out.len - c->out_off,
                                          &c->tls_want, why, sizeof(why));

            if (w < 0) {
                return c->tls_want ? 0 : broke(c, why, 0);
            }
            c->out_off += (size_t)w;
            continue;
        }
        n = send(c->fd, c->out.data + c->out_off, c->out.len - c->out_off,
                 MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                return 0;
            }
            return broke(c, "write to Redis", errno);
        }
        c->out_off += (size_t)n;
    }
    c->out.len = c->out_off = 0;
    return 1;
}

int push_redis_feed(push_redis_conn_t *c)
{
    char buf[16384];

    if (c->why[0]) {
        return -1;
    }
    for (;;) {
        ssize_t n;

        if (c->tls) {
            /* Until TLS wants more of the socket: a record it decrypted
             * and kept would not make the socket readable again. */
            char why[sizeof(c->why)];
            int want = 0;
            long got = push_redis_tls_read(c->tls, buf, sizeof(buf), &want,
                                           why, sizeof(why));

            if (got > 0) {
                if (redisReaderFeed(c->reader, buf, (size_t)got) != REDIS_OK) {
                    return broke(c, "out of memory reading Redis", 0);
                }
                continue;
            }
            if (got == 0) {
                return broke(c, "Redis closed the connection", 0);
            }
            return want ? 0 : broke(c, why, 0);
        }
        n = recv(c->fd, buf, sizeof(buf), 0);
        if (n > 0) {
            if (redisReaderFeed(c->reader, buf, (size_t)n) != REDIS_OK) {
                return broke(c, "out of memory reading Redis", 0);
            }
            if ((size_t)n < sizeof(buf)) {
                return 0;
            }
            continue;
        }
        if (n == 0) {
            return broke(c, "Redis closed the connection", 0);
        }
        if (errno == EINTR) {
            continue;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            return 0;
        }
        return broke(c, "read from Redis", errno);
    }
}

int push_redis_next(push_redis_conn_t *c, redisReply **reply)
{
    void *r = NULL;

    *reply = NULL;
    /* A broken connection still gives what it had read whole. */
    if (redisReaderGetReply(c->reader, &r) != REDIS_OK) {
        char what[160];

        snprintf(what, sizeof(what), "not Redis' protocol: %s",
                 c->reader->errstr);
        return broke(c, what, 0);
    }
    *reply = r;
    return r != NULL ? 1 : c->why[0] ? -1 : 0;
}

/* Everything queued written by the deadline: 0, or -1 broken. */
static int write_all(push_redis_conn_t *c, long long deadline)
{
    int rc;

    while ((rc = push_redis_flush(c)) == 0) {
        short ev = c->tls && c->tls_want == PUSH_TLS_WANT_READ ? POLLIN
                                                               : POLLOUT;

        if ((rc = wait_fd(c->fd, ev, deadline)) <= 0) {
            return broke(c, "writing to Redis", rc == 0 ? ETIMEDOUT : errno);
        }
    }
    return rc < 0 ? -1 : 0;
}

/* A cluster's "MOVED <slot> <host>:<port>" or "ASK ..." error reply,
 * remembered for the caller's route (push_redis_route.h). */
static void note_redirect(push_redis_conn_t *c, const redisReply *r)
{
    push_redis_redirect_t *d = &c->redirect;
    const char *p, *colon;
    char *end;
    long slot, port;
    int kind;
    size_t hl;

    if (r->type != REDIS_REPLY_ERROR) {
        return;
    }
    if (strncmp(r->str, "TRYAGAIN", 8) == 0) {
        /* Not run: the slot is moving and the keys are split. */
        d->kind = PUSH_REDIS_TRYAGAIN;
        d->slot = -1;
        d->host[0] = '\0';
        d->port = 0;
        return;
    }
    if (strncmp(r->str, "MOVED ", 6) == 0) {
        kind = PUSH_REDIS_MOVED;
        p = r->str + 6;
    }
    else if (strncmp(r->str, "ASK ", 4) == 0) {
        kind = PUSH_REDIS_ASK;
        p = r->str + 4;
    }
    else {
        return;
    }
    slot = strtol(p, &end, 10);
    if (end == p || *end != ' ' || slot < 0 || slot > 16383) {
        return;
    }
    p = end + 1;
    /* An empty host is the node's own (the route knows it). */
    if (!(colon = strrchr(p, ':'))
        || (hl = (size_t)(colon - p)) >= sizeof(d->host)) {
        return;
    }
    port = strtol(colon + 1, &end, 10);
    if (end == colon + 1 || *end || port < 1 || port > 65535) {
        return;
    }
    d->kind = kind;
    d->slot = (int)slot;
    memcpy(d->host, p, hl);
    d->host[hl] = '\0';
    d->port = (int)port;
}

/* The next reply by the deadline, or NULL broken. */
static redisReply *read_one(push_redis_conn_t *c, long long deadline)
{
    redisReply *r;
    int rc;

    while ((rc = push_redis_next(c, &r)) == 0) {
        if ((rc = wait_fd(c->fd, POLLIN, deadline)) <= 0) {
            broke(c, "waiting for Redis' reply", rc == 0 ? ETIMEDOUT : errno);
            return NULL;
        }
        if (push_redis_feed(c) != 0) {
            return NULL;
        }
    }
    if (rc > 0) {
        note_redirect(c, r);
    }
    return rc > 0 ? r : NULL;
}

redisReply *push_redis_call(push_redis_conn_t *c, int argc,
                            const char **argv, const size_t *lens,
                            int timeout_ms)
{
    long long deadline = push_redis_now_ms() + timeout_ms;

    if (c->why[0]) {
        return NULL;
    }
    if (c->asking) {
        /* Where a cluster sent us for one slot being moved: the node
         * takes the command only after ASKING. */
        const char *asking[1] = { "ASKING" };
        redisReply *ok;

        if (push_redis_send(c, 1, asking, NULL) != 0
            || write_all(c, deadline) != 0
            || !(ok = read_one(c, deadline))) {
            if (!c->why[0]) {
                broke(c, "out of memory for a Redis command", 0);
            }
            return NULL;
        }
        freeReplyObject(ok);
    }
    if (push_redis_send(c, argc, argv, lens) != 0) {
        broke(c, "out of memory for a Redis command", 0);
        return NULL;
    }
    return write_all(c, deadline) == 0 ? read_one(c, deadline) : NULL;
}

void push_redis_break(push_redis_conn_t *c, const char *why)
{
    broke(c, why, 0);
}

const push_redis_redirect_t *push_redis_redirected(push_redis_conn_t *c)
{
    return c->redirect.kind ? &c->redirect : NULL;
}

void push_redis_redirect_clear(push_redis_conn_t *c)
{
    c->redirect.kind = 0;
}

void push_redis_asking(push_redis_conn_t *c, int on)
{
    c->asking = on;
}

int push_redis_drain(push_redis_conn_t *c, unsigned n, int timeout_ms)
{
    long long deadline = push_redis_now_ms() + timeout_ms;
    int errors = 0;

    if (c->why[0] || write_all(c, deadline) != 0) {
        return -1;
    }
    while (n-- > 0) {
        redisReply *r = read_one(c, deadline);

        if (!r) {
            return -1;
        }
        errors += r->type == REDIS_REPLY_ERROR;
        freeReplyObject(r);
    }
    return errors;
}
