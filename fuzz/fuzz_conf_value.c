/* fuzz_conf_value.c — libFuzzer target for the directive value grammars
 * (lib/push_conf_value.c): what an httpd.conf line may hand them.
 *
 * Input: byte 0 picks the parser (size, count, duration, origin: byte 0
 * mod 4; its other bits set the range), the rest is the value (cut at its
 * first NUL, as a configuration line is).  Promises checked against an
 * independent reading of the same grammar, in 128-bit arithmetic: a size
 * or count is accepted exactly when it is digits (and for a size, an
 * optional K/M/G and B) whose value fits, and then equals that value; a
 * duration likewise, as bare digits or digit runs each followed by a unit
 * of w d h m s in falling order; an accepted origin holds "://" and no
 * '/', '?', '#', '@' or blank after it. */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz/fuzz_input.h"
#include "lib/push_conf_value.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The digits at *p (one at least) into *v, *p moved past them; 0 when
 * there are none or their value is beyond INT64_MAX. */
static int ref_digits(const char **p, __int128 *v)
{
    if (!isdigit((unsigned char)**p)) {
        return 0;
    }
    for (*v = 0; isdigit((unsigned char)**p); (*p)++) {
        *v = *v * 10 + (**p - '0');
        if (*v > INT64_MAX) {
            return 0;
        }
    }
    return 1;
}

/* The value of s's digits up to its end, or of its digits then one
 * suffix; -1 when the grammar says no. */
static __int128 reference(const char *s, int suffixes)
{
    __int128 v, mult = 1;
    const char *p = s;

    if (!ref_digits(&p, &v)) {
        return -1;
    }
    if (suffixes) {
        switch (*p) {
        case 'k': case 'K': mult = 1024; p++; break;
        case 'm': case 'M': mult = 1024 * 1024; p++; break;
        case 'g': case 'G': mult = 1024 * 1024 * 1024; p++; break;
        default: break;
        }
        if (*p == 'b' || *p == 'B') {
            p++;
        }
    }
    if (*p || v * mult > INT64_MAX) {
        return -1;
    }
    return v * mult;
}

/* A duration's seconds, or -1. */
static __int128 reference_seconds(const char *s)
{
    static const char order[] = "wdhms";
    static const __int128 mult[] = {604800, 86400, 3600, 60, 1};
    __int128 total = 0;
    const char *p = s, *u;
    int last = -1;

    if (reference(s, 0) >= 0) {
        return reference(s, 0);
    }
    while (*p) {
        __int128 v;

        if (!ref_digits(&p, &v)) {
            return -1;
        }
        if (!*p || !(u = strchr(order, *p)) || u - order <= last) {
            return -1;
        }
        last = (int)(u - order);
        total += v * mult[last];
        if (total > INT64_MAX) {
            return -1;
        }
        p++;
    }
    return p == s ? -1 : total;
}

static void check_origin(const char *s)
{
    const char *rest;

    if (!push_origin_valid(s) || !strcmp(s, "*")) {
        return;
    }
    rest = strstr(s, "://");
    if (!rest || !isalpha((unsigned char)s[0])) {
        abort();
    }
    for (rest += 3; *rest; rest++) {
        if (strchr("/?#@ \t\r\n", *rest)) {
            abort();
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s;
    size_t n;
    __int128 want;
    int64_t got, lo, hi;

    if (size > 4096 || !(s = fuzz_value(data, size, &n, 1))) {
        return 0;
    }
    switch (data[0] % 4) {
    case 0:
        got = push_parse_size(s);
        want = reference(s, 1);
        if ((__int128)got != want) {
            abort();
        }
        break;
    case 1:
        /* The range from the first byte, so both ends get hit. */
        lo = data[0] >> 2;
        hi = lo + (data[0] >> 4) * 1000;
        got = push_parse_count(s, lo, hi);
        want = reference(s, 0);
        if (want < lo || want > hi) {
            want = -1;
        }
        if ((__int128)got != want) {
            abort();
        }
        break;
    case 2:
        lo = data[0] >> 3;
        hi = data[0] & 0x80 ? INT64_MAX : lo + (data[0] >> 4) * 100000;
        got = push_parse_seconds(s, lo, hi);
        want = reference_seconds(s);
        if (want < lo || want > hi) {
            want = -1;
        }
        if ((__int128)got != want) {
            abort();
        }
        break;
    default:
        check_origin(s);
        break;
    }
    free(s);
    return 0;
}
