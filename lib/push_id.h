/* push_id.h — message ids, cursors and channel names: the small grammars
 * every transport shares.  Pure C, no httpd or APR types, so it can be
 * unit-tested and fuzzed alone. */
#ifndef PUSH_ID_H
#define PUSH_ID_H

#include <stddef.h>
#include <stdint.h>

/* A message id, nchan-style "<unix-seconds>:<n>": n counts the messages
 * published in that second on that channel, starting at 0.  Ids order by
 * (time, tag).  {0, 0} is "before everything". */
typedef struct {
    int64_t  time;
    uint32_t tag;
} push_msgid_t;

/* Longest formatted id: 19 digits, ':', 10 digits, NUL. */
#define PUSH_MSGID_MAX_LEN 32
/* Longest channel id (nchan's nchan_max_channel_id_length default). */
#define PUSH_CHANNEL_ID_MAX 1024

/* -1, 0 or 1 as a is before, equal to, or after b. */
int push_msgid_cmp(const push_msgid_t *a, const push_msgid_t *b);

/* Parses exactly "T:N" (decimal, no sign, no spaces, T < 2^63, N < 2^32)
 * from s[0..len).  Returns 0 on success, -1 when malformed. */
int push_msgid_parse(const char *s, size_t len, push_msgid_t *out);

/* Writes "T:N" and a NUL into buf (at least PUSH_MSGID_MAX_LEN bytes);
 * returns the length written, without the NUL. */
size_t push_msgid_format(const push_msgid_t *id, char *buf);

/* Parses an entity tag as a long-poll client echoes it in If-None-Match:
 * a bare decimal "N", or quoted "\"N\"", optionally with a W/ prefix, with
 * surrounding spaces allowed.  Returns 0 and the tag, or -1. */
int push_etag_parse(const char *s, size_t len, uint32_t *tag);

/* 1 when s[0..len) is a valid channel id: 1..PUSH_CHANNEL_ID_MAX bytes
 * of UTF-8 with no control character (U+0000-U+001F, U+007F), so that it
 * can go into a header, an event stream's line, a log line or JSON
 * without breaking one; else 0.  Anything else nchan takes (: / @ %
 * spaces, any script) is an id. */
int push_channel_id_valid(const char *s, size_t len);

#endif
