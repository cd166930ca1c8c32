/* push_redis_tls.c — TLS to Redis (see push_redis_tls.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "redis/push_redis_tls.h"

struct push_redis_tls_s {
    SSL_CTX *ctx;
    char    *server_name;       /* NULL: each URL's host */
    int      verify;
};

struct push_redis_tls_conn_s {
    SSL *ssl;
};

/* OpenSSL's reason for the last failure of this thread, after what. */
static void say(char *err, size_t errlen, const char *what)
{
    unsigned long e = ERR_peek_last_error();
    char reason[256];

    if (e) {
        ERR_error_string_n(e, reason, sizeof(reason));
        snprintf(err, errlen, "%s: %s", what, reason);
    }
    else {
        snprintf(err, errlen, "%s", what);
    }
    ERR_clear_error();
}

push_redis_tls_t *push_redis_tls_create(const push_redis_tls_conf_t *conf,
                                        char *err, size_t errlen)
{
    push_redis_tls_t *t = calloc(1, sizeof(*t));
    char what[PATH_MAX + 64];

    ERR_clear_error();
    if (!t || !(t->ctx = SSL_CTX_new(TLS_client_method()))
        || (conf->server_name
            && !(t->server_name = strdup(conf->server_name)))) {
        snprintf(err, errlen, "out of memory for TLS");
        push_redis_tls_free(t);
        return NULL;
    }
    t->verify = conf->verify;
    /* TLS 1.2 and 1.3, as Redis offers them; no renegotiation, so a
     * write never waits for a read once the handshake is done. */
    SSL_CTX_set_min_proto_version(t->ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(t->ctx, SSL_OP_NO_RENEGOTIATION
                                | SSL_OP_NO_COMPRESSION);
    /* A command's bytes go out as the socket takes them, from a buffer
     * that may have grown (moved) since the last try. */
    SSL_CTX_set_mode(t->ctx, SSL_MODE_ENABLE_PARTIAL_WRITE
                             | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    if (conf->ca_file || conf->ca_path) {
        if (SSL_CTX_load_verify_locations(t->ctx, conf->ca_file,
                                          conf->ca_path) != 1) {
            snprintf(what, sizeof(what), "cannot load the certificates to "
                     "trust from %s", conf->ca_file ? conf->ca_file
                                                    : conf->ca_path);
            say(err, errlen, what);
            push_redis_tls_free(t);
            return NULL;
        }
    }
    else if (SSL_CTX_set_default_verify_paths(t->ctx) != 1) {
        say(err, errlen, "cannot load the system's trusted certificates");
        push_redis_tls_free(t);
        return NULL;
    }
    SSL_CTX_set_verify(t->ctx, conf->verify ? SSL_VERIFY_PEER
                                            : SSL_VERIFY_NONE, NULL);
    if (conf->cert_file) {
        const char *key = conf->key_file ? conf->key_file : conf->cert_file;

        if (SSL_CTX_use_certificate_chain_file(t->ctx, conf->cert_file)
            != 1) {
            snprintf(what, sizeof(what), "cannot load the client "
                     "certificate %s", conf->cert_file);
            say(err, errlen, what);
            push_redis_tls_free(t);
            return NULL;
        }
        if (SSL_CTX_use_PrivateKey_file(t->ctx, key, SSL_FILETYPE_PEM) != 1
            || SSL_CTX_check_private_key(t->ctx) != 1) {
            snprintf(what, sizeof(what), "cannot use %s as the key of the "
                     "client certificate %s", key, conf->cert_file);
            say(err, errlen, what);
            push_redis_tls_free(t);
            return NULL;
        }
    }
    return t;
}

void push_redis_tls_free(push_redis_tls_t *t)
{
    if (t) {
        SSL_CTX_free(t->ctx);
        free(t->server_name);
        free(t);
    }
}

/* Whether host is an IPv4 or IPv6 address (not a name). */
static int is_address(const char *host)
{
    unsigned char a[16];

    return inet_pton(AF_INET, host, a) == 1
           || inet_pton(AF_INET6, host, a) == 1;
}

push_redis_tls_conn_t *push_redis_tls_open(const push_redis_tls_t *t,
                                           int fd, const char *host)
{
    push_redis_tls_conn_t *s = calloc(1, sizeof(*s));
    const char *name = t->server_name ? t->server_name : host;

    ERR_clear_error();
    if (!s || !(s->ssl = SSL_new(t->ctx)) || SSL_set_fd(s->ssl, fd) != 1) {
        push_redis_tls_close(s);
        return NULL;
    }
    SSL_set_connect_state(s->ssl);
    if (is_address(name)) {
        /* No SNI for an address (RFC 6066); the certificate must hold
         * it as an IP subject alternative name. */
        if (t->verify && X509_VERIFY_PARAM_set1_ip_asc(
                             SSL_get0_param(s->ssl), name) != 1) {
            push_redis_tls_close(s);
            return NULL;
        }
    }
    else if (SSL_set_tlsext_host_name(s->ssl, name) != 1
             || (t->verify && SSL_set1_host(s->ssl, name) != 1)) {
        push_redis_tls_close(s);
        return NULL;
    }
    return s;
}

void push_redis_tls_close(push_redis_tls_conn_t *s)
{
    if (s) {
        /* No close_notify: the socket goes at once, and Redis reads an
         * end of stream the same way. */
        SSL_free(s->ssl);
        free(s);
    }
}

/* A step that did not finish: 0 with *want when it waits, else -1. */
static int not_done(push_redis_tls_conn_t *s, int rc, int *want)
{
    switch (SSL_get_error(s->ssl, rc)) {
    case SSL_ERROR_WANT_READ:
        *want = PUSH_TLS_WANT_READ;
        return 0;
    case SSL_ERROR_WANT_WRITE:
        *want = PUSH_TLS_WANT_WRITE;
        return 0;
    default:
        *want = 0;
        return -1;
    }
}

int push_redis_tls_handshake(push_redis_tls_conn_t *s, int *want, char *err,
                             size_t errlen)
{
    long verified;
    int rc, e = 0;

    ERR_clear_error();
    errno = 0;
    if ((rc = SSL_do_handshake(s->ssl)) == 1) {
        *want = 0;
        return 1;
    }
    e = errno;
    if (not_done(s, rc, want) == 0) {
        return 0;
    }
    verified = SSL_get_verify_result(s->ssl);
    if (verified != X509_V_OK) {
        snprintf(err, errlen, "Redis' TLS certificate was refused: %s",
                 X509_verify_cert_error_string(verified));
        ERR_clear_error();
    }
    else if (!ERR_peek_last_error()) {
        snprintf(err, errlen, "the TLS handshake with Redis failed: %s",
                 e ? strerror(e) : "the server closed the connection (is "
                 "it listening for TLS there?)");
    }
    else {
        say(err, errlen, "the TLS handshake with Redis failed (is it "
            "listening for TLS there?)");
    }
    return -1;
}

/* After a read or write that moved nothing: see push_redis_tls.h. */
static long io_failed(push_redis_tls_conn_t *s, int rc, int e, int *want,
                      char *err, size_t errlen, const char *what)
{
    int kind = SSL_get_error(s->ssl, rc);

    *want = 0;
    if (kind == SSL_ERROR_WANT_READ) {
        *want = PUSH_TLS_WANT_READ;
        return -1;
    }
    if (kind == SSL_ERROR_WANT_WRITE) {
        *want = PUSH_TLS_WANT_WRITE;
        return -1;
    }
    if (kind == SSL_ERROR_ZERO_RETURN
        || (kind == SSL_ERROR_SYSCALL && !ERR_peek_last_error() && !e)) {
        ERR_clear_error();
        return 0;   /* close_notify, or the socket's end */
    }
    if (kind == SSL_ERROR_SYSCALL && !ERR_peek_last_error()) {
        snprintf(err, errlen, "%s Redis over TLS: %s", what, strerror(e));
        return -1;
    }
    {
        char w[64];

        snprintf(w, sizeof(w), "%s Redis over TLS", what);
        say(err, errlen, w);
    }
    return -1;
}

long push_redis_tls_read(push_redis_tls_conn_t *s, void *buf, size_t len,
                         int *want, char *err, size_t errlen)
{
    int rc;

    ERR_clear_error();
    errno = 0;
    rc = SSL_read(s->ssl, buf, len > INT_MAX ? INT_MAX : (int)len);
    if (rc > 0) {
        return rc;
    }
    return io_failed(s, rc, errno, want, err, errlen, "read from");
}

long push_redis_tls_write(push_redis_tls_conn_t *s, const void *buf,
                          size_t len, int *want, char *err, size_t errlen)
{
    int rc;

    ERR_clear_error();
    errno = 0;
    rc = SSL_write(s->ssl, buf, len > INT_MAX ? INT_MAX : (int)len);
    if (rc > 0) {
        return rc;
    }
    rc = (int)io_failed(s, rc, errno, want, err, errlen, "write to");
    if (rc < 0 && !*want) {
        /* A server that refused us after the handshake (TLS 1.3: a
         * client certificate it wanted) said why in an alert, which
         * may be waiting to be read: its reason beats "reset". */
        char byte;

        ERR_clear_error();
        if (SSL_read(s->ssl, &byte, 1) <= 0 && ERR_peek_last_error()) {
            say(err, errlen, "Redis ended the TLS session");
        }
        ERR_clear_error();
    }
    /* A write has nothing to do with a clean end but fail. */
    if (rc == 0) {
        snprintf(err, errlen, "Redis closed the TLS session");
        return -1;
    }
    return rc;
}

int push_redis_tls_idle_data(push_redis_tls_conn_t *s)
{
    struct pollfd p;
    char byte;
    int rc;

    if (SSL_pending(s->ssl) > 0) {
        return 1;
    }
    p.fd = SSL_get_fd(s->ssl);
    p.events = POLLIN;
    p.revents = 0;
    if (poll(&p, 1, 0) <= 0) {
        return 0;
    }
    /* Records came: a session ticket is TLS's own and leaves nothing
     * to read; anything else is the server's. */
    ERR_clear_error();
    rc = SSL_peek(s->ssl, &byte, 1);
    if (rc > 0) {
        return 1;
    }
    switch (SSL_get_error(s->ssl, rc)) {
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE:
        return 0;
    default:
        ERR_clear_error();
        return -1;
    }
}
