/* push_redis_url.c — PushRedis's URL (see push_redis_url.h). */
#include <string.h>

#include "redis/push_redis_url.h"

static int hex(int c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/* s[0..len) percent-decoded into out (cap bytes with its NUL).  -1 on a
 * bad escape, an encoded NUL, or no room. */
static int decode(const char *s, size_t len, char *out, size_t cap)
{
    size_t i, n = 0;

    for (i = 0; i < len; i++) {
        int c = (unsigned char)s[i];

        if (c == '%') {
            int h, l;

            if (i + 2 >= len || (h = hex(s[i + 1])) < 0
                || (l = hex(s[i + 2])) < 0) {
                return -1;
            }
            c = h * 16 + l;
            i += 2;
            if (c == 0) {
                return -1;
            }
        }
        if (n + 1 >= cap) {
            return -1;
        }
        out[n++] = (char)c;
    }
    out[n] = '\0';
    return 0;
}

/* Digits only, in [min, max]; -1 otherwise. */
static long number(const char *s, size_t len, long min, long max)
{
    long v = 0;
    size_t i;

    if (len == 0 || len > 10) {
        return -1;
    }
    for (i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return -1;
        }
        v = v * 10 + (s[i] - '0');
    }
    return v < min || v > max ? -1 : v;
}

static int name_char(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
           || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
}

static int fail(const char **why, const char *reason)
{
    *why = reason;
    return -1;
}

int push_redis_url_parse(const char *s, push_redis_url_t *u,
                         const char **why)
{
    static const char scheme[] = "redis://", tls_scheme[] = "rediss://";
    const char *p, *end, *at, *host, *host_end, *port = NULL;
    size_t i;

    memset(u, 0, sizeof(*u));
    u->port = 6379;
    if (strncmp(s, scheme, sizeof(scheme) - 1) == 0) {
        p = s + sizeof(scheme) - 1;
    }
    else if (strncmp(s, tls_scheme, sizeof(tls_scheme) - 1) == 0) {
        p = s + sizeof(tls_scheme) - 1;
        u->tls = 1;
    }
    else {
        return fail(why, "must start with redis:// or rediss://");
    }
    end = p + strcspn(p, "/?#");
    if (*end == '?' || *end == '#') {
        return fail(why, "takes no query or fragment");
    }

    /* Credentials: the last '@' before the path ends them (a password
     * may hold '@' only percent-encoded, but be lenient). */
    at = NULL;
    for (i = 0; p + i < end; i++) {
        if (p[i] == '@') {
            at = p + i;
        }
    }
    if (at) {
        const char *colon = memchr(p, ':', (size_t)(at - p));

        if (!colon) {
            return fail(why, "credentials need a colon: user:password@ "
                        "or :password@");
        }
        if (decode(p, (size_t)(colon - p), u->user, sizeof(u->user)) != 0
            || decode(colon + 1, (size_t)(at - colon - 1), u->password,
                      sizeof(u->password)) != 0) {
            return fail(why, "a user or password with a bad %-escape, an "
                        "encoded NUL, or over 255 bytes");
        }
        u->has_password = 1;
        p = at + 1;
    }

    /* Host, then an optional port. */
    if (*p == '[') {
        host = p + 1;
        host_end = memchr(host, ']', (size_t)(end - host));
        if (!host_end || host_end == host) {
            return fail(why, "an IPv6 address must be in brackets");
        }
        for (i = 0; host + i < host_end; i++) {
            int c = (unsigned char)host[i];

            if (!(hex(c) >= 0 || c == ':' || c == '.')) {
                return fail(why, "a bad character in the IPv6 address");
            }
        }
        p = host_end + 1;
        if (p < end && *p != ':') {
            return fail(why, "after the IPv6 address only :port may come");
        }
    }
    else {
        host = p;
        while (p < end && *p != ':') {
            if (!name_char((unsigned char)*p)) {
                return fail(why, "a bad character in the host name");
            }
            p++;
        }
        host_end = p;
        if (host_end == host) {
            return fail(why, "names no host");
        }
    }
    if ((size_t)(host_end - host) > PUSH_REDIS_HOST_MAX) {
        return fail(why, "the host name is over 255 bytes");
    }
    memcpy(u->host, host, (size_t)(host_end - host));
    if (p < end) {                     /* *p == ':' */
        long v;

        port = p + 1;
        if ((v = number(port, (size_t)(end - port), 1, 65535)) < 0) {
            return fail(why, "the port must be a number from 1 to 65535");
        }
        u->port = (int)v;
    }

    /* The database. */
    if (*end == '/' && end[1] != '\0') {
        long v = number(end + 1, strlen(end + 1), 0, 2147483647L);

        if (v < 0) {
            return fail(why, "the database must be a number (/0, /1, ...)");
        }
        u->db = v;
    }
    return 0;
}
