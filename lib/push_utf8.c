/* push_utf8.c — UTF-8 validation (see push_utf8.h).
 *
 * The validator is a small deterministic automaton.  Each state records
 * how many continuation bytes are still owed and, for the second byte of
 * the lead bytes whose ranges are restricted by RFC 3629 (E0, ED, F0, F4),
 * which subrange is legal.  Checking the second byte's range is what
 * catches overlong three- and four-byte forms, surrogates and code points
 * above U+10FFFF at the earliest byte that proves them, instead of after
 * decoding the whole sequence. */
#include <string.h>
#include <stdint.h>

#include "lib/push_utf8.h"

enum {
    U8_ACCEPT = 0,  /* between characters */
    U8_CONT1,       /* one 80..BF byte owed */
    U8_CONT2,       /* two 80..BF bytes owed */
    U8_CONT3,       /* three 80..BF bytes owed */
    U8_E0,          /* after E0: A0..BF (else overlong), then one more */
    U8_ED,          /* after ED: 80..9F (else surrogate), then one more */
    U8_F0,          /* after F0: 90..BF (else overlong), then two more */
    U8_F4,          /* after F4: 80..8F (else > U+10FFFF), then two more */
    U8_REJECT       /* sticky failure */
};

static unsigned utf8_step(unsigned s, unsigned c)
{
    switch (s) {
    case U8_ACCEPT:
        if (c < 0x80) {
            return U8_ACCEPT;
        }
        /* 80..BF cannot start a character; C0 and C1 could only start
         * overlong encodings of ASCII. */
        if (c < 0xC2) {
            return U8_REJECT;
        }
        if (c < 0xE0) {
            return U8_CONT1;
        }
        if (c == 0xE0) {
            return U8_E0;
        }
        if (c == 0xED) {
            return U8_ED;
        }
        if (c < 0xF0) {
            return U8_CONT2;
        }
        if (c == 0xF0) {
            return U8_F0;
        }
        if (c < 0xF4) {
            return U8_CONT3;
        }
        if (c == 0xF4) {
            return U8_F4;
        }
        /* F5..FF would encode beyond U+10FFFF (or are not UTF-8 at all). */
        return U8_REJECT;
    case U8_CONT1:
        return (c & 0xC0) == 0x80 ? U8_ACCEPT : U8_REJECT;
    case U8_CONT2:
        return (c & 0xC0) == 0x80 ? U8_CONT1 : U8_REJECT;
    case U8_CONT3:
        return (c & 0xC0) == 0x80 ? U8_CONT2 : U8_REJECT;
    case U8_E0:
        return (c >= 0xA0 && c <= 0xBF) ? U8_CONT1 : U8_REJECT;
    case U8_ED:
        return (c >= 0x80 && c <= 0x9F) ? U8_CONT1 : U8_REJECT;
    case U8_F0:
        return (c >= 0x90 && c <= 0xBF) ? U8_CONT2 : U8_REJECT;
    case U8_F4:
        return (c >= 0x80 && c <= 0x8F) ? U8_CONT2 : U8_REJECT;
    default:
        return U8_REJECT;
    }
}

/* Number of leading bytes of p[0..len) that are ASCII.  Most WebSocket
 * text (JSON, ids) is ASCII, so testing eight bytes per step pays off. */
static size_t ascii_run(const unsigned char *p, size_t len)
{
    size_t i = 0;

    while (len - i >= 8) {
        uint64_t w;

        memcpy(&w, p + i, 8);
        if (w & UINT64_C(0x8080808080808080)) {
            break;
        }
        i += 8;
    }
    while (i < len && p[i] < 0x80) {
        i++;
    }
    return i;
}

void push_utf8_init(push_utf8_t *u)
{
    u->state = U8_ACCEPT;
}

int push_utf8_feed(push_utf8_t *u, const void *buf, size_t len)
{
    const unsigned char *p = buf;
    unsigned s = u->state;
    size_t i = 0;

    if (s == U8_REJECT) {
        return -1;
    }
    while (i < len) {
        if (s == U8_ACCEPT) {
            i += ascii_run(p + i, len - i);
            if (i == len) {
                break;
            }
        }
        s = utf8_step(s, p[i++]);
        if (s == U8_REJECT) {
            break;
        }
    }
    u->state = s;
    return s == U8_REJECT ? -1 : 0;
}

int push_utf8_finish(const push_utf8_t *u)
{
    return u->state == U8_ACCEPT ? 0 : -1;
}

int push_utf8_valid(const void *buf, size_t len)
{
    push_utf8_t u;

    push_utf8_init(&u);
    return push_utf8_feed(&u, buf, len) == 0 && push_utf8_finish(&u) == 0;
}

size_t push_utf8_valid_prefix(const void *buf, size_t len)
{
    const unsigned char *p = buf;
    unsigned s = U8_ACCEPT;
    size_t good = 0;    /* end of the last complete character */
    size_t i = 0;

    while (i < len) {
        if (s == U8_ACCEPT) {
            i += ascii_run(p + i, len - i);
            good = i;
            if (i == len) {
                break;
            }
        }
        s = utf8_step(s, p[i++]);
        if (s == U8_REJECT) {
            break;
        }
        if (s == U8_ACCEPT) {
            good = i;
        }
    }
    return good;
}
