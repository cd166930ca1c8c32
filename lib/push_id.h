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

/* The id right after id ({T, N+1}, or {T+1, 0} after tag 2^32-1), and
 * the one right before it ({T, N-1}, or {T-1, 2^32-1} before tag 0;
 * {0, 0} has none and is its own). */
push_msgid_t push_msgid_next(push_msgid_t id);
push_msgid_t push_msgid_prev(push_msgid_t id);

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

/* Multiplexed subscribers (one subscriber, several channels, as nchan's
 * multi-channel ids).  An id is one time and a tag per channel,
 * "T:t0,t1,[t2]": the bracketed tag is the channel whose message the id
 * names; -1 (or "-") is a channel that has nothing at time T, i.e. that
 * has everything before it.  Up to PUSH_MUX_MAX channels. */
#define PUSH_MUX_MAX 255
/* Longest multi-id: time, ':', PUSH_MUX_MAX tags of up to 10 digits and
 * a comma each, the brackets, NUL. */
#define PUSH_MUX_ID_MAX (20 + PUSH_MUX_MAX * 11 + 3)

/* Writes the multi-id of a subscriber whose channel i is at cursors[i]
 * (has[i] 0: nothing taken from it yet), active bracketed, and a NUL into
 * buf (PUSH_MUX_ID_MAX bytes); returns the length.  T is the newest
 * cursor's time; a channel whose cursor is older is -1. */
size_t push_mux_id_format(const push_msgid_t *cursors, const int *has,
                          unsigned n, unsigned active, char *buf);

/* Parses a multi-id "T:tags" (or the tags alone, as a long poll's
 * If-None-Match echoes them, quoted or weak, with the time from
 * If-Modified-Since: push_mux_tags_parse) for n channels into a cursor
 * per channel: tag k is channel k's {T, k}; -1, and every channel past
 * the last tag given, is {T-1, 2^32-1} (everything before T).  A plain
 * "T:N" is channel 0's.  At most one tag bracketed; more tags than
 * channels, or anything else, is malformed.  0, or -1. */
int push_mux_id_parse(const char *s, size_t len, unsigned n,
                      push_msgid_t *cursors);
int push_mux_tags_parse(const char *s, size_t len, int64_t time, unsigned n,
                        push_msgid_t *cursors);

/* A set of channel ids, as a multiplexed location names them: the ids
 * joined by PUSH_CHANNEL_SET_SEP, a control character no id holds.
 * push_channel_set_split cuts set in place and points ids[0..max) at
 * its ids; returns how many (0 when there are more than max). */
#define PUSH_CHANNEL_SET_SEP '\x1f'
unsigned push_channel_set_split(char *set, const char **ids, unsigned max);

#endif
