/* fuzz_sse.c — libFuzzer target for Server-Sent Events framing.
 *
 * Input: bytes 0 and 1 are the lengths of an id and an event name taken
 * from what follows; the rest is a message body, any bytes.  The event
 * built for them must be exactly push_sse_event_size long, carry no CR
 * and no blank line before its end (either would let a body end the
 * event early or start fields of its own: injection), have only id,
 * event and data lines, and give back the body's lines exactly as an
 * EventSource reads them (CRLF, CR and LF all end a line). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/push_sse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int has_break(const char *s, size_t n)
{
    return memchr(s, '\r', n) || memchr(s, '\n', n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *id, *ev, *body, *p, *end;
    size_t idn, evn, bn, total, got, i, bi = 0;
    char *out, *want;
    int first_data = 1;

    if (size < 2) {
        return 0;
    }
    idn = data[0] % 32;
    evn = data[1] % 32;
    if (idn + evn > size - 2) {
        return 0;
    }
    id = (const char *)data + 2;
    ev = id + idn;
    body = ev + evn;
    bn = size - 2 - idn - evn;
    if (has_break(id, idn) || has_break(ev, evn)) {
        return 0;           /* the caller's promise: names have no CR/LF */
    }
    total = push_sse_event_size(idn, evn, body, bn);
    out = malloc(total + 1);
    want = malloc(bn + 1);
    if (!out || !want) {
        abort();
    }
    got = push_sse_event(out, id, idn, ev, evn, body, bn);
    if (got != total || memchr(out, '\r', got)) {
        abort();
    }
    /* The body as an EventSource sees it: its lines, joined by LF. */
    for (i = 0; i < bn; i++) {
        if (body[i] == '\r') {
            want[bi++] = '\n';
            if (i + 1 < bn && body[i + 1] == '\n') {
                i++;
            }
        }
        else {
            want[bi++] = body[i];
        }
    }
    /* Walk the event's lines. */
    p = out;
    end = out + got;
    if (got < 2 || end[-1] != '\n' || end[-2] != '\n') {
        abort();
    }
    end--;                  /* the blank line that ends the event */
    i = 0;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n;

        if (!nl) {
            abort();
        }
        n = (size_t)(nl - p);
        if (n == 0) {
            abort();        /* a blank line inside: the event ends early */
        }
        if (n >= 4 && !memcmp(p, "id: ", 4)) {
            if (n - 4 != idn || memcmp(p + 4, id, idn)) abort();
        }
        else if (n >= 7 && !memcmp(p, "event: ", 7)) {
            if (n - 7 != evn || memcmp(p + 7, ev, evn)) abort();
        }
        else if (n >= 5 && !memcmp(p, "data:", 5)) {
            const char *v = p + 5;
            size_t vn = n - 5;

            if (vn && *v == ' ') {
                v++;
                vn--;
            }
            if (!first_data) {
                if (i >= bi || want[i] != '\n') abort();
                i++;
            }
            if (vn > bi - i || memcmp(v, want + i, vn)) abort();
            i += vn;
            first_data = 0;
        }
        else {
            abort();        /* a field the body made up */
        }
        p = nl + 1;
    }
    if (first_data || i != bi) {
        abort();            /* data lost, or no data line at all */
    }
    free(out);
    free(want);
    return 0;
}
