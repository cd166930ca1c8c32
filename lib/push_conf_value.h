/* push_conf_value.h — the grammars of mod_push's directive values: sizes
 * ("64K", "1M", "2g", "512kb"), whole numbers in a range, durations
 * ("30", "5m", "1h30m"), and origins for PushAllowOrigin.  Pure C, no httpd or APR types: unit-tested in
 * t/unit/test_conf_value.c and fuzzed in fuzz/fuzz_conf_value.c.  The
 * directives (mod_push_config.c) add the ranges and the messages. */
#ifndef PUSH_CONF_VALUE_H
#define PUSH_CONF_VALUE_H

#include <stdint.h>

/* "<digits>[K|M|G][B]" (suffixes in either case; K = 1024) into bytes.
 * No sign, no spaces, nothing after.  -1 when malformed or beyond
 * INT64_MAX. */
int64_t push_parse_size(const char *s);

/* "<digits>" in [min, max] (0 <= min <= max).  No sign, no spaces.  -1
 * when malformed or out of range. */
int64_t push_parse_count(const char *s, int64_t min, int64_t max);

/* A duration in seconds, in [min, max]: bare digits are seconds, or one
 * or more "<digits><unit>" with units s, m (60), h (3600), d (86400), w
 * (604800), largest first, each at most once ("90", "5m", "1h30m",
 * "2d12h").  No sign, no spaces.  -1 when malformed, out of range or
 * beyond INT64_MAX. */
int64_t push_parse_seconds(const char *s, int64_t min, int64_t max);

/* 1 when s is "*" or a serialized origin as browsers send it in Origin
 * (RFC 6454): scheme "://" host [":" port], scheme letters, digits, "+",
 * "-", "." starting with a letter; host a name or an IPv4 address
 * (letters, digits, "-", "."), or an IPv6 address in brackets; port 1 to
 * 65535; no path, query, user or trailing dot-less junk.  Else 0. */
int push_origin_valid(const char *s);

#endif
