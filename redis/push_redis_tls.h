/* push_redis_tls.h — TLS to Redis (rediss://), with OpenSSL.
 *
 * Managed Redis services (and Redis 6+ started with tls-port) take
 * connections over TLS only; Nchan's users reach them with
 * nchan_redis_ssl.  A context is made once from the server's
 * configuration (the certificates to trust, a client certificate for
 * servers that ask for one, whether to verify) and shared by every
 * connection of the process: OpenSSL's contexts are safe to share
 * between threads once made.  A connection's session is its own
 * (push_redis_conn.c drives it on its non-blocking socket).
 *
 * Verification is on unless turned off: the chain must lead to a
 * trusted certificate, and the certificate must name the server: the
 * host of the URL (a name, or an address for the nodes a Redis
 * Cluster's map gives by address), or one name for every node
 * (server_name).  Pure C and OpenSSL, no httpd or APR types. */
#ifndef PUSH_REDIS_TLS_H
#define PUSH_REDIS_TLS_H

#include <stddef.h>

typedef struct push_redis_tls_s push_redis_tls_t;

typedef struct {
    const char *ca_file;        /* PEM certificates to trust; NULL: */
    const char *ca_path;        /* (a hashed directory) the system's */
    const char *cert_file;      /* client certificate (PEM), or NULL */
    const char *key_file;       /* its key; NULL: in cert_file */
    const char *server_name;    /* NULL: each URL's host */
    int         verify;         /* 0: any certificate is taken */
} push_redis_tls_conf_t;

/* A context for conf, or NULL with the reason in err (a file that is
 * not there or not PEM, a key that is not the certificate's). */
push_redis_tls_t *push_redis_tls_create(const push_redis_tls_conf_t *conf,
                                        char *err, size_t errlen);
void push_redis_tls_free(push_redis_tls_t *t);

/* One connection's session (OpenSSL's SSL, opaque here). */
typedef struct push_redis_tls_conn_s push_redis_tls_conn_t;

/* A session on the connected socket fd to host (its name or address).
 * NULL out of memory. */
push_redis_tls_conn_t *push_redis_tls_open(const push_redis_tls_t *t,
                                           int fd, const char *host);
void push_redis_tls_close(push_redis_tls_conn_t *s);

/* What a step that could not finish waits for. */
#define PUSH_TLS_WANT_READ  1
#define PUSH_TLS_WANT_WRITE 2

/* The handshake, as far as the socket allows: 1 done; 0 not yet (*want
 * says what to poll for); -1 failed, why in err (the verification's
 * reason when the certificate was refused). */
int push_redis_tls_handshake(push_redis_tls_conn_t *s, int *want, char *err,
                             size_t errlen);

/* Reads or writes without waiting: the bytes moved (> 0); 0 when the
 * server closed the session; -1 with *want set when it would wait, or
 * with *want 0 on an error (why in err). */
long push_redis_tls_read(push_redis_tls_conn_t *s, void *buf, size_t len,
                         int *want, char *err, size_t errlen);
long push_redis_tls_write(push_redis_tls_conn_t *s, const void *buf,
                          size_t len, int *want, char *err, size_t errlen);

/* For an idle connection: 1 when bytes of the application wait to be
 * read (nothing was asked: the connection is out of step), 0 when only
 * TLS's own records came (a session ticket) or nothing, -1 when the
 * server closed it or it failed. */
int push_redis_tls_idle_data(push_redis_tls_conn_t *s);

#endif
