/* push_redis_url.h — the grammar of PushRedis's value:
 *
 *     redis://[[user]:password@]host[:port][/db]
 *     rediss://...     the same over TLS (push_redis_tls.h)
 *
 * host a name or IPv4 address (letters, digits, "-", ".", "_"), or an
 * IPv6 address in brackets; port 1 to 65535 (default 6379); db 0 to
 * 2147483647 (default 0).  user and password are percent-decoded (a
 * password may hold any byte but NUL); "redis://:pw@host" gives a
 * password alone (Redis < 6's AUTH), "redis://user:pw@host" both (ACL).
 *
 * Pure C: unit-tested in t/unit/test_redis.c and fuzzed in
 * fuzz/fuzz_redis_url.c; the directive (mod_push_directives.c) adds the
 * context and the message. */
#ifndef PUSH_REDIS_URL_H
#define PUSH_REDIS_URL_H

#include <stddef.h>

#define PUSH_REDIS_HOST_MAX 255
#define PUSH_REDIS_CRED_MAX 255
#define PUSH_REDIS_SEEDS_MAX 16     /* URLs of one PushRedis: a cluster's */

typedef struct push_redis_url_s {
    char host[PUSH_REDIS_HOST_MAX + 1];   /* without the brackets */
    int  port;
    long db;
    char user[PUSH_REDIS_CRED_MAX + 1];   /* "": none */
    char password[PUSH_REDIS_CRED_MAX + 1];
    int  has_password;                    /* "" may be a password */
    int  tls;                             /* rediss:// */
    /* How TLS is spoken (certificates, verification), set by the
     * server's configuration for a rediss:// URL; NULL: not yet. */
    const struct push_redis_tls_s *tls_ctx;
} push_redis_url_t;

/* 0 and *u filled in, or -1 with a reason (a static string) in *why. */
int push_redis_url_parse(const char *s, push_redis_url_t *u,
                         const char **why);

#endif
