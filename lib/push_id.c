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

int push_etag_parse(const char *s, size_t len, uint32_t *tag)
{
    uint64_t v;

    if (s == NULL) {
        return -1;
    }
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
