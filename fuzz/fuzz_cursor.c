/* fuzz_cursor.c — libFuzzer target for what a client sends as its cursor
 * and channel: message ids (Last-Event-ID, ?last_event_id=), entity tags
 * (If-None-Match) and channel ids.
 *
 * Input: byte 0 picks the parser, the rest is the value.  Promises
 * checked: a parsed id formats to a spelling no longer than the input
 * that reads back the same id, formatting and parsing any id round-trips, the
 * order is total and antisymmetric, a tag parse accepts only what its
 * grammar allows, a valid channel id holds only its alphabet, and a
 * multi-channel id read for 1 to 8 channels formats to one that reads
 * back to the same cursors. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz/fuzz_input.h"
#include "lib/push_id.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_id(const char *s, size_t n)
{
    push_msgid_t id, back;
    char buf[PUSH_MSGID_MAX_LEN];
    size_t len;

    if (push_msgid_parse(s, n, &id) != 0) {
        return;
    }
    /* Leading zeros are another spelling of the same id; what it
     * formats to is the one spelling, and it reads back the same. */
    len = push_msgid_format(&id, buf);
    if (len > n || buf[len] != '\0' || memchr(buf, ':', len) == NULL) {
        abort();
    }
    if (push_msgid_parse(buf, len, &back) != 0
        || push_msgid_cmp(&id, &back) != 0) {
        abort();
    }
}

static void check_order(const uint8_t *d, size_t n)
{
    push_msgid_t a, b;
    char buf[PUSH_MSGID_MAX_LEN];

    if (n < 24) {
        return;
    }
    memcpy(&a.time, d, 8);
    memcpy(&a.tag, d + 8, 4);
    memcpy(&b.time, d + 12, 8);
    memcpy(&b.tag, d + 20, 4);
    a.time &= INT64_MAX;
    b.time &= INT64_MAX;
    if (push_msgid_cmp(&a, &b) != -push_msgid_cmp(&b, &a)
        || push_msgid_cmp(&a, &a) != 0) {
        abort();
    }
    check_id(buf, push_msgid_format(&a, buf));
}

static void check_etag(const char *s, size_t n)
{
    uint32_t tag;
    size_t i, digits = 0;

    if (push_etag_parse(s, n, &tag) != 0) {
        return;
    }
    for (i = 0; i < n; i++) {
        if (s[i] >= '0' && s[i] <= '9') {
            digits++;
        }
        else if (!strchr(" \t\"W/", s[i])) {
            abort();        /* a byte no entity tag of ours has */
        }
    }
    if (!digits) {
        abort();
    }
}

static void check_channel(const char *s, size_t n)
{
    size_t i;

    if (!push_channel_id_valid(s, n)) {
        return;
    }
    if (n == 0 || n > PUSH_CHANNEL_ID_MAX) {
        abort();
    }
    /* An accepted id is safe wherever it goes: no control byte, and
     * UTF-8 (checked here the long way: each lead byte's continuation
     * bytes, and no surrogate or overlong form). */
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        size_t k, more = c < 0x80 ? 0 : c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : 1;
        uint32_t cp = more == 0 ? c : more == 1 ? (c & 0x1fu)
                      : more == 2 ? (c & 0x0fu) : (c & 0x07u);

        if (c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xc2) || c > 0xf4
            || i + more >= n) {
            abort();
        }
        for (k = 1; k <= more; k++) {
            if (((unsigned char)s[i + k] & 0xc0) != 0x80) {
                abort();
            }
            cp = (cp << 6) | ((unsigned char)s[i + k] & 0x3fu);
        }
        if ((more == 2 && cp < 0x800) || (more == 3 && cp < 0x10000)
            || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
            abort();
        }
        i += more;
    }
}

static void check_mux(const char *s, size_t n, unsigned chans)
{
    push_msgid_t c[8], back[8];
    int has[8];
    char buf[PUSH_MUX_ID_MAX];
    size_t len;
    unsigned i;

    if (push_mux_id_parse(s, n, chans, c) != 0) {
        return;
    }
    for (i = 0; i < chans; i++) {
        has[i] = 1;
    }
    len = push_mux_id_format(c, has, chans, 0, buf);
    if (len == 0 || len >= sizeof(buf) || buf[len] != '\0'
        || push_mux_id_parse(buf, len, chans, back) != 0) {
        abort();
    }
    for (i = 0; i < chans; i++) {
        if (push_msgid_cmp(&c[i], &back[i]) != 0) {
            abort();
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s;
    size_t n;

    if (!(s = fuzz_value(data, size, &n, 0))) {
        return 0;
    }
    switch (data[0] & 7) {
    case 0: check_id(s, n);             break;
    case 1: check_etag(s, n);           break;
    case 2: check_channel(s, n);        break;
    case 3: check_order(data + 1, n);   break;
    default: check_mux(s, n, 1 + ((data[0] >> 3) & 7)); break;
    }
    free(s);
    return 0;
}
