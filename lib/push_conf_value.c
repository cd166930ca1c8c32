/* push_conf_value.c — directive value grammars (see the header). */
#include <ctype.h>
#include <string.h>

#include "lib/push_conf_value.h"

/* Leading decimal digits of s into *n (at most INT64_MAX); the first
 * byte after them, or NULL when there are none or too many. */
static const char *digits(const char *s, int64_t *n)
{
    int64_t v = 0;

    if (!isdigit((unsigned char)*s)) {
        return NULL;
    }
    for (; isdigit((unsigned char)*s); s++) {
        int d = *s - '0';

        if (v > (INT64_MAX - d) / 10) {
            return NULL;
        }
        v = v * 10 + d;
    }
    *n = v;
    return s;
}

int64_t push_parse_size(const char *s)
{
    int64_t n, mult = 1;
    const char *end = digits(s, &n);

    if (!end) {
        return -1;
    }
    switch (tolower((unsigned char)*end)) {
    case 'k': mult = INT64_C(1) << 10; end++; break;
    case 'm': mult = INT64_C(1) << 20; end++; break;
    case 'g': mult = INT64_C(1) << 30; end++; break;
    default: break;
    }
    if (tolower((unsigned char)*end) == 'b') {
        end++;
    }
    if (*end || n > INT64_MAX / mult) {
        return -1;
    }
    return n * mult;
}

int64_t push_parse_count(const char *s, int64_t min, int64_t max)
{
    int64_t n;
    const char *end = digits(s, &n);

    if (!end || *end || n < min || n > max) {
        return -1;
    }
    return n;
}

int64_t push_parse_seconds(const char *s, int64_t min, int64_t max)
{
    static const struct { char unit; int64_t mult; } units[] = {
        {'w', 604800}, {'d', 86400}, {'h', 3600}, {'m', 60}, {'s', 1}
    };
    int64_t total = 0, n;
    size_t next = 0, i;
    const char *end = digits(s, &n);

    if (end && !*end) {
        total = n;                  /* bare digits: seconds */
    }
    else {
        while (end) {
            /* Units in falling order, each once: "1h30m", not "30m1h". */
            for (i = next; i < sizeof(units) / sizeof(units[0]); i++) {
                if (*end == units[i].unit) {
                    break;
                }
            }
            if (i == sizeof(units) / sizeof(units[0])
                || n > (INT64_MAX - total) / units[i].mult) {
                return -1;
            }
            total += n * units[i].mult;
            next = i + 1;
            if (!*++end) {
                break;
            }
            end = digits(end, &n);
        }
        if (!end) {
            return -1;
        }
    }
    return total < min || total > max ? -1 : total;
}

/* Host of an origin, up to its end or ':': a name or IPv4 address, or
 * "[...]" holding hex digits, ':' and '.'.  The byte after it, or NULL. */
static const char *origin_host(const char *s)
{
    const char *p = s;

    if (*p == '[') {
        for (p++; isxdigit((unsigned char)*p) || *p == ':' || *p == '.'; p++)
            ;
        return *p == ']' && p > s + 1 ? p + 1 : NULL;
    }
    for (; isalnum((unsigned char)*p) || *p == '-' || *p == '.'; p++)
        ;
    if (p == s || *s == '.' || *s == '-' || p - s > 253) {
        return NULL;
    }
    return p;
}

int push_origin_valid(const char *s)
{
    const char *p = s;
    int64_t port;

    if (!strcmp(s, "*")) {
        return 1;
    }
    if (!isalpha((unsigned char)*p)) {
        return 0;
    }
    for (p++; isalnum((unsigned char)*p) || *p == '+' || *p == '-'
              || *p == '.'; p++)
        ;
    if (strncmp(p, "://", 3) || !(p = origin_host(p + 3))) {
        return 0;
    }
    if (*p == ':') {
        p = digits(p + 1, &port);
        if (!p || port < 1 || port > 65535) {
            return 0;
        }
    }
    return *p == '\0';
}
