/* test_redis_tls.c — rediss://: push_redis_conn.c over TLS
 * (redis/push_redis_tls.c) against a real redis-server listening for
 * TLS, with certificates made here by the openssl command: a CA, a
 * server certificate for 127.0.0.1 and localhost, a client certificate
 * (the server asks for one), and a second CA that signed none of them. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "t/unit/check.h"
#include "t/unit/redis_server.h"
#include "redis/push_redis_conn.h"
#include "redis/push_redis_tls.h"

static char certs[128];
static int  tls_port, plain_port;

static void sh(const char *cmd)
{
    if (system(cmd) != 0) {
        fprintf(stderr, "failed: %s\n", cmd);
        exit(2);
    }
}

static const char *cert(const char *name)
{
    static char path[4][192];
    static int next;
    char *p = path[next++ % 4];

    snprintf(p, sizeof(path[0]), "%s/%s", certs, name);
    return p;
}

/* The certificates, in redis_dir (removed at exit). */
static void make_certs(void)
{
    char cmd[2048];

    snprintf(certs, sizeof(certs), "%s", redis_dir);
    snprintf(cmd, sizeof(cmd),
             "cd %s && K='-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes'"
             " && for ca in ca other; do openssl req -x509 $K -keyout $ca.key"
             " -out $ca.crt -days 2 -subj /CN=$ca >/dev/null 2>&1; done"
             " && printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\n' > srv.ext"
             " && printf 'extendedKeyUsage=clientAuth\\n' > cli.ext"
             " && for w in srv cli; do openssl req $K -keyout $w.key -out $w.csr"
             " -subj /CN=$w >/dev/null 2>&1 && openssl x509 -req -in $w.csr"
             " -CA ca.crt -CAkey ca.key -CAcreateserial -out $w.crt -days 2"
             " -extfile $w.ext >/dev/null 2>&1; done"
             " && cat cli.crt cli.key > cli.pem", certs);
    sh(cmd);
}

/* redis-server with a plain port and a TLS port that wants a client
 * certificate signed by ca (as managed services may). */
static void start_tls_redis(void)
{
    const char *bin = getenv("REDIS_SERVER") ? getenv("REDIS_SERVER")
                                             : "redis-server";
    char port[8], tport[8];
    push_redis_url_t u;
    char err[200];
    long long until;

    snprintf(redis_dir, sizeof(redis_dir), "/tmp/push-redis-tls.XXXXXX");
    if (!mkdtemp(redis_dir)) {
        perror("mkdtemp");
        exit(2);
    }
    make_certs();
    plain_port = redis_free_port();
    do {
        tls_port = redis_free_port();
    } while (tls_port == plain_port);
    snprintf(port, sizeof(port), "%d", plain_port);
    snprintf(tport, sizeof(tport), "%d", tls_port);
    redis_pid = fork();
    if (redis_pid == 0) {
        execlp(bin, bin, "--bind", "127.0.0.1", "--port", port,
               "--tls-port", tport, "--tls-cert-file", cert("srv.crt"),
               "--tls-key-file", cert("srv.key"), "--tls-ca-cert-file",
               cert("ca.crt"), "--tls-auth-clients", "yes", "--dir",
               redis_dir, "--save", "", "--appendonly", "no",
               "--daemonize", "no", "--logfile", "redis.log", (char *)NULL);
        _exit(127);
    }
    redis_owner = getpid();
    atexit(redis_stop);
    memset(&u, 0, sizeof(u));
    snprintf(u.host, sizeof(u.host), "127.0.0.1");
    u.port = plain_port;
    until = push_redis_now_ms() + 10000;
    while (push_redis_now_ms() < until) {
        push_redis_conn_t *c = push_redis_connect(&u, 500, err, sizeof(err));

        if (c) {
            push_redis_close(c);
            return;
        }
        usleep(20000);
    }
    fprintf(stderr, "redis-server with TLS did not start: %s\n", err);
    exit(2);
}

static push_redis_tls_t *context(const char *ca, const char *client,
                                 const char *name, int verify)
{
    push_redis_tls_conf_t conf = { NULL, NULL, NULL, NULL, NULL, 1 };
    char err[300];
    push_redis_tls_t *t;

    conf.ca_file = ca ? cert(ca) : NULL;
    conf.cert_file = client ? cert(client) : NULL;
    conf.server_name = name;
    conf.verify = verify;
    if (!(t = push_redis_tls_create(&conf, err, sizeof(err)))) {
        fprintf(stderr, "TLS context: %s\n", err);
        exit(2);
    }
    return t;
}

static push_redis_url_t tls_url(const char *host, int port,
                                const push_redis_tls_t *t)
{
    push_redis_url_t u;

    memset(&u, 0, sizeof(u));
    snprintf(u.host, sizeof(u.host), "%s", host);
    u.port = port;
    u.tls = 1;
    u.tls_ctx = t;
    return u;
}

/* The reply to one command: its string (status or bulk), or the error
 * text after "ERR: ", or why the connection broke after "BROKEN: ". */
static const char *say(push_redis_conn_t *c, int argc, const char **argv,
                       const size_t *lens)
{
    static char out[256];
    redisReply *r = push_redis_call(c, argc, argv, lens, 2000);

    if (!r) {
        snprintf(out, sizeof(out), "BROKEN: %s", push_redis_broken(c));
        return out;
    }
    snprintf(out, sizeof(out), "%s%.*s",
             r->type == REDIS_REPLY_ERROR ? "ERR: " : "",
             r->str ? (int)(r->len < 200 ? r->len : 200) : 6,
             r->str ? r->str : "(none)");
    freeReplyObject(r);
    return out;
}

#define CHECK_STR(got, want)                                               \
    do {                                                                   \
        const char *g_ = (got), *w_ = (want);                              \
        CHECK(strcmp(g_, w_) == 0);                                        \
        if (strcmp(g_, w_) != 0) {                                         \
            fprintf(stderr, "  expected '%s', got '%s'\n", w_, g_);        \
        }                                                                  \
    } while (0)

#define CHECK_HAS(got, part)                                               \
    do {                                                                   \
        const char *g_ = (got), *p_ = (part);                              \
        CHECK(strstr(g_, p_) != NULL);                                     \
        if (!strstr(g_, p_)) {                                             \
            fprintf(stderr, "  expected '%s' in '%s'\n", p_, g_);          \
        }                                                                  \
    } while (0)

/* Verified by address and by name, with a client certificate: commands
 * and replies, a value far larger than one TLS record both ways. */
static void test_commands(void)
{
    push_redis_tls_t *t = context("ca.crt", "cli.pem", NULL, 1);
    const char *ping[1] = { "PING" }, *info[2] = { "CLIENT", "INFO" };
    const char *set[3] = { "SET", "big", NULL }, *get[2] = { "GET", "big" };
    size_t lens[3] = { 3, 3, 0 };
    push_redis_url_t u = tls_url("127.0.0.1", tls_port, t);
    char err[300];
    push_redis_conn_t *c = push_redis_connect(&u, 2000, err, sizeof(err));
    redisReply *r;
    char *big;
    size_t i;

    CHECK(c != NULL);
    if (!c) {
        fprintf(stderr, "  connect: %s\n", err);
        push_redis_tls_free(t);
        return;
    }
    CHECK_STR(say(c, 1, ping, NULL), "PONG");
    /* The server sees a TLS client on its TLS port (the plain port
     * would say otherwise). */
    CHECK_HAS(say(c, 2, info, NULL), "laddr=127.0.0.1:");
    big = malloc(1 << 20);
    for (i = 0; i < (1 << 20); i++) {
        big[i] = (char)('a' + i % 26);
    }
    set[2] = big;
    lens[2] = 1 << 20;
    CHECK_STR(say(c, 3, set, lens), "OK");
    r = push_redis_call(c, 2, get, NULL, 2000);
    CHECK(r && r->type == REDIS_REPLY_STRING && r->len == (1 << 20)
          && memcmp(r->str, big, 1 << 20) == 0);
    if (r) {
        freeReplyObject(r);
    }
    free(big);
    /* Idle, after the session tickets TLS 1.3 sends: still sound. */
    usleep(100000);
    CHECK_EQ(push_redis_idle_ok(c), 1);
    push_redis_close(c);

    /* By name: the certificate's DNS name. */
    u = tls_url("localhost", tls_port, t);
    c = push_redis_connect(&u, 2000, err, sizeof(err));
    CHECK(c != NULL);
    if (c) {
        CHECK_STR(say(c, 1, ping, NULL), "PONG");
        push_redis_close(c);
    }
    else {
        fprintf(stderr, "  connect to localhost: %s\n", err);
    }
    push_redis_tls_free(t);
}

/* What is refused, and said why, within the timeout. */
static void test_refused(void)
{
    push_redis_tls_t *other = context("other.crt", NULL, NULL, 1);
    push_redis_tls_t *named = context("ca.crt", NULL, "wrong.example", 1);
    push_redis_tls_t *any = context("other.crt", "cli.pem", NULL, 0);
    push_redis_tls_t *good = context("ca.crt", NULL, NULL, 1);
    const char *ping[1] = { "PING" };
    push_redis_url_t u;
    push_redis_conn_t *c;
    char err[300];
    long long t0;

    /* A certificate from a CA not trusted. */
    u = tls_url("127.0.0.1", tls_port, other);
    err[0] = '\0';
    CHECK(push_redis_connect(&u, 2000, err, sizeof(err)) == NULL);
    CHECK_HAS(err, "certificate was refused");

    /* The right CA, but not the name the certificate holds. */
    u = tls_url("127.0.0.1", tls_port, named);
    err[0] = '\0';
    CHECK(push_redis_connect(&u, 2000, err, sizeof(err)) == NULL);
    CHECK_HAS(err, "certificate was refused: hostname mismatch");

    /* Verification off: any certificate is taken. */
    u = tls_url("127.0.0.1", tls_port, any);
    c = push_redis_connect(&u, 2000, err, sizeof(err));
    CHECK(c != NULL);
    if (c) {
        CHECK_STR(say(c, 1, ping, NULL), "PONG");
        push_redis_close(c);
    }

    /* No client certificate, where the server asks for one: refused
     * (with TLS 1.3, at the first read after the handshake). */
    u = tls_url("127.0.0.1", tls_port, good);
    c = push_redis_connect(&u, 2000, err, sizeof(err));
    if (c) {
        CHECK_HAS(say(c, 1, ping, NULL), "BROKEN: ");
        CHECK_HAS(push_redis_broken(c), "certificate required");
        push_redis_close(c);
    }
    else {
        CHECK_HAS(err, "certificate required");
    }

    /* rediss:// to the plain port: a handshake Redis cannot answer. */
    u = tls_url("127.0.0.1", plain_port, good);
    err[0] = '\0';
    t0 = push_redis_now_ms();
    CHECK(push_redis_connect(&u, 1000, err, sizeof(err)) == NULL);
    CHECK_HAS(err, "TLS handshake");
    CHECK(push_redis_now_ms() - t0 < 1500);

    /* redis:// to the TLS port: the plain command is not TLS; Redis
     * ends the connection, or the reply never comes within the
     * timeout. */
    u = tls_url("127.0.0.1", tls_port, NULL);
    u.tls = 0;
    t0 = push_redis_now_ms();
    c = push_redis_connect(&u, 1000, err, sizeof(err));
    CHECK(c != NULL);       /* TCP only: nothing asked yet */
    if (c) {
        redisReply *r = push_redis_call(c, 1, ping, NULL, 1000);

        CHECK(r == NULL);
        CHECK(push_redis_broken(c) != NULL);
        if (r) {
            freeReplyObject(r);
        }
        push_redis_close(c);
    }
    CHECK(push_redis_now_ms() - t0 < 2500);

    /* rediss:// without a context (no configuration made one). */
    u = tls_url("127.0.0.1", tls_port, NULL);
    err[0] = '\0';
    CHECK(push_redis_connect(&u, 1000, err, sizeof(err)) == NULL);
    CHECK_HAS(err, "without TLS set up");

    push_redis_tls_free(other);
    push_redis_tls_free(named);
    push_redis_tls_free(any);
    push_redis_tls_free(good);
}

/* A server that takes the TCP connection and never speaks: the
 * handshake ends at the timeout. */
static void test_silent(void)
{
    push_redis_tls_t *good = context("ca.crt", NULL, NULL, 1);
    struct sockaddr_in a;
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    push_redis_url_t u;
    char err[300];
    long long t0, took;

    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(fd, 4) != 0
        || getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
        perror("listen");
        exit(2);
    }
    u = tls_url("127.0.0.1", ntohs(a.sin_port), good);
    t0 = push_redis_now_ms();
    err[0] = '\0';
    CHECK(push_redis_connect(&u, 500, err, sizeof(err)) == NULL);
    took = push_redis_now_ms() - t0;
    CHECK(took >= 450 && took < 1500);
    CHECK_HAS(err, "timed out");
    close(fd);
    push_redis_tls_free(good);
}

/* Files that cannot make a context: said at once (the configuration's
 * error at startup). */
static void test_bad_files(void)
{
    push_redis_tls_conf_t conf = { NULL, NULL, NULL, NULL, NULL, 1 };
    char err[300];

    conf.ca_file = cert("nonesuch.crt");
    CHECK(push_redis_tls_create(&conf, err, sizeof(err)) == NULL);
    CHECK_HAS(err, "cannot load the certificates to trust");
    conf.ca_file = cert("ca.crt");
    conf.cert_file = cert("cli.crt");
    conf.key_file = cert("srv.key");    /* not the certificate's key */
    CHECK(push_redis_tls_create(&conf, err, sizeof(err)) == NULL);
    CHECK_HAS(err, "as the key of the client certificate");
    conf.cert_file = cert("srv.key");   /* a key is not a certificate */
    conf.key_file = NULL;
    CHECK(push_redis_tls_create(&conf, err, sizeof(err)) == NULL);
    CHECK_HAS(err, "cannot load the client certificate");
}

/* A connection Redis ended while it was idle is found broken before
 * it is used (CLIENT KILL over the plain port). */
static void test_idle_killed(void)
{
    push_redis_tls_t *t = context("ca.crt", "cli.pem", NULL, 1);
    push_redis_url_t u = tls_url("127.0.0.1", tls_port, t), p;
    const char *name[3] = { "CLIENT", "SETNAME", "idle-tls" };
    const char *kill_it[3] = { "CLIENT", "KILL", NULL };
    char err[300], *addr;
    push_redis_conn_t *c = push_redis_connect(&u, 2000, err, sizeof(err));
    push_redis_conn_t *admin;
    const char *info[2] = { "CLIENT", "INFO" };

    CHECK(c != NULL);
    if (!c) {
        push_redis_tls_free(t);
        return;
    }
    CHECK_STR(say(c, 3, name, NULL), "OK");
    addr = strstr(say(c, 2, info, NULL), "addr=");
    CHECK(addr != NULL);
    if (addr) {
        char a[64];

        sscanf(addr + 5, "%63s", a);
        memset(&p, 0, sizeof(p));
        snprintf(p.host, sizeof(p.host), "127.0.0.1");
        p.port = plain_port;
        admin = redis_conn(&p);
        kill_it[2] = a;
        CHECK_STR(say(admin, 3, kill_it, NULL), "OK");
        push_redis_close(admin);
        usleep(100000);
        CHECK_EQ(push_redis_idle_ok(c), 0);
        CHECK_HAS(push_redis_broken(c) ? push_redis_broken(c) : "",
                  "while it was idle");
    }
    push_redis_close(c);
    push_redis_tls_free(t);
}

int main(void)
{
    /* As httpd's processes do: a write to a closed socket is an error,
     * not a signal (OpenSSL writes with write(2)). */
    signal(SIGPIPE, SIG_IGN);
    (void)redis_start;      /* redis_server.h's plain server: not here */
    start_tls_redis();
    test_commands();
    test_refused();
    test_silent();
    test_bad_files();
    test_idle_killed();
    return CHECK_DONE("test_redis_tls");
}
