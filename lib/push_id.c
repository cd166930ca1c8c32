/* push_id.c — message ids, entity tags and channel names (see push_id.h).
 *
 * Everything here parses bytes that come straight off the network, so each
 * parser takes an explicit length, never reads past it, and rejects rather
 * than guesses: a malformed cursor must not silently become "start over". */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "lib/push_id.h"
#include "lib/push_utf8.h"

int push_msgid_cmp(const push_msgid_t *a, const push_msgid_t *b)
{
    if (a->time != b->time) {
        return a->time < b->time ? -1 : 1;
    }
    if (a->tag != b->tag) {
        return a->tag < b->tag ? -1 : 1;
    }
    return 0;
}

push_msgid_t push_msgid_next(push_msgid_t id)
{
    if (id.tag == UINT32_MAX) {
        id.time++;
        id.tag = 0;
    }
    else {
        id.tag++;
    }
    return id;
}

push_msgid_t push_msgid_prev(push_msgid_t id)
{
    if (id.tag > 0) {
        id.tag--;
    }
    else if (id.time > 0) {
        id.time--;
        id.tag = UINT32_MAX;
    }
    return id;
}

/* One run of decimal digits, the whole of s[0..len), no larger than max.
 * Leading zeros are accepted: they are harmless, and some clients pad. */
static int parse_decimal(const char *s, size_t len, uint64_t max,
                         uint64_t *out)
{
    uint64_t v = 0;
    size_t i;

    if (len == 0) {
        return -1;
    }
    for (i = 0; i < len; i++) {
        unsigned d = (unsigned char)s[i] - (unsigned)'0';

        if (d > 9) {
            return -1;
        }
        /* Checked before multiplying so the test itself cannot wrap. */
        if (v > (max - d) / 10) {
            return -1;
        }
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

int push_msgid_parse(const char *s, size_t len, push_msgid_t *out)
{
    const char *colon;
    uint64_t t, n;

    if (s == NULL || len == 0) {
        return -1;
    }
    colon = memchr(s, ':', len);
    if (colon == NULL) {
        return -1;
    }
    /* A second ':' lands in the tag part and fails there as a non-digit. */
    if (parse_decimal(s, (size_t)(colon - s), INT64_MAX, &t) != 0
        || parse_decimal(colon + 1, len - (size_t)(colon - s) - 1,
                         UINT32_MAX, &n) != 0) {
        return -1;
    }
    out->time = (int64_t)t;
    out->tag = (uint32_t)n;
    return 0;
}

size_t push_msgid_format(const push_msgid_t *id, char *buf)
{
    int n = snprintf(buf, PUSH_MSGID_MAX_LEN, "%" PRId64 ":%" PRIu32,
                     id->time, id->tag);

    /* Cannot fail or truncate: the widest int64 and uint32 fit in 32. */
    return n < 0 ? 0 : (size_t)n;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t';
}

/* An entity tag's value: surrounding spaces, the weak marker and the
 * quotes taken off *s, *len; -1 for an unbalanced quote. */
static int etag_unwrap(const char **sp, size_t *lenp)
{
    const char *s = *sp;
    size_t len = *lenp;

    while (len > 0 && is_space(s[0])) {
        s++;
        len--;
    }
    while (len > 0 && is_space(s[len - 1])) {
        len--;
    }
    /* The weak marker is case-sensitive (RFC 9110 8.8.3). */
    if (len >= 2 && s[0] == 'W' && s[1] == '/') {
        s += 2;
        len -= 2;
    }
    if (len >= 1 && s[0] == '"') {
        if (len < 2 || s[len - 1] != '"') {
            return -1;
        }
        s++;
        len -= 2;
    }
    *sp = s;
    *lenp = len;
    return 0;
}

int push_etag_parse(const char *s, size_t len, uint32_t *tag)
{
    uint64_t v;

    if (s == NULL || etag_unwrap(&s, &len) != 0) {
        return -1;
    }
    if (parse_decimal(s, len, UINT32_MAX, &v) != 0) {
        return -1;
    }
    *tag = (uint32_t)v;
    return 0;
}

int push_channel_id_valid(const char *s, size_t len)
{
    size_t i;

    if (s == NULL || len == 0 || len > PUSH_CHANNEL_ID_MAX) {
        return 0;
    }
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c < 0x20 || c == 0x7f) {
            return 0;
        }
    }
    return push_utf8_valid(s, len);
}

/* ------------------------------------------------------------------ */
/* Multi-channel ids                                                    */

size_t push_mux_id_format(const push_msgid_t *cursors, const int *has,
                          unsigned n, unsigned active, char *buf)
{
    int64_t t = 0;
    size_t len;
    unsigned i;

    for (i = 0; i < n; i++) {
        if (has[i] && cursors[i].time > t) {
            t = cursors[i].time;
        }
    }
    len = (size_t)snprintf(buf, 24, "%" PRId64 ":", t);
    for (i = 0; i < n; i++) {
        const char *open = i == active ? "[" : "";
        const char *close = i == active ? "]" : "";
        const char *comma = i + 1 < n ? "," : "";
        int k;

        if (has[i] && cursors[i].time == t) {
            k = snprintf(buf + len, 16, "%s%" PRIu32 "%s%s", open,
                         cursors[i].tag, close, comma);
        }
        else {
            k = snprintf(buf + len, 16, "%s-1%s%s", open, close, comma);
        }
        len += k > 0 ? (size_t)k : 0;
    }
    return len;
}

/* A cursor that has everything before time t. */
static push_msgid_t before(int64_t t)
{
    return push_msgid_prev((push_msgid_t){t > 0 ? t : 0, 0});
}

/* The tags of a multi-id, exactly: "t0,[t1],-1". */
static int tags_parse(const char *s, size_t len, int64_t time, unsigned n,
                      push_msgid_t *cursors)
{
    size_t i = 0;
    unsigned k = 0;
    int bracketed = 0;

    if (len == 0 || n == 0 || time < 0) {
        return -1;
    }
    for (;;) {
        size_t end = i;
        int open = 0, close = 0;
        uint64_t v;

        while (end < len && s[end] != ',') {
            end++;
        }
        if (k == n) {
            return -1;          /* more tags than channels */
        }
        if (end > i && s[i] == '[') {
            open = 1;
        }
        if (end > i + (size_t)open && s[end - 1] == ']') {
            close = 1;
        }
        if (open != close || (open && bracketed++)) {
            return -1;
        }
        {
            const char *tag = s + i + open;
            size_t tlen = end - i - (size_t)open - (size_t)close;

            if ((tlen == 1 && tag[0] == '-')
                || (tlen == 2 && tag[0] == '-' && tag[1] == '1')) {
                cursors[k] = before(time);
            }
            else if (parse_decimal(tag, tlen, UINT32_MAX, &v) == 0) {
                cursors[k].time = time;
                cursors[k].tag = (uint32_t)v;
            }
            else {
                return -1;
            }
        }
        k++;
        if (end == len) {
            break;
        }
        i = end + 1;
    }
    while (k < n) {
        cursors[k++] = before(time);
    }
    return 0;
}

int push_mux_id_parse(const char *s, size_t len, unsigned n,
                      push_msgid_t *cursors)
{
    const char *colon;
    uint64_t t;

    if (s == NULL || len == 0) {
        return -1;
    }
    colon = memchr(s, ':', len);
    if (colon == NULL
        || parse_decimal(s, (size_t)(colon - s), INT64_MAX, &t) != 0) {
        return -1;
    }
    return tags_parse(colon + 1, len - (size_t)(colon - s) - 1, (int64_t)t,
                      n, cursors);
}

int push_mux_tags_parse(const char *s, size_t len, int64_t time, unsigned n,
                        push_msgid_t *cursors)
{
    if (s == NULL || etag_unwrap(&s, &len) != 0) {
        return -1;
    }
    return tags_parse(s, len, time, n, cursors);
}

unsigned push_channel_set_split(char *set, const char **ids, unsigned max)
{
    unsigned n = 0;
    char *p = set;

    for (;;) {
        char *sep = strchr(p, PUSH_CHANNEL_SET_SEP);

        if (n == max) {
            return 0;
        }
        ids[n++] = p;
        if (!sep) {
            return n;
        }
        *sep = '\0';
        p = sep + 1;
    }
}
