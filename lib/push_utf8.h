/* push_utf8.h — UTF-8 validation, one-shot and incremental.
 *
 * WebSocket text messages must be valid UTF-8 (RFC 3629: no overlong
 * forms, no surrogates U+D800..U+DFFF, nothing above U+10FFFF), and a
 * message may arrive in many fragments split at any byte.  The incremental
 * validator carries the partial sequence across calls and rejects on the
 * first byte that cannot start or continue a valid sequence, so a bad
 * message is refused at the fragment that breaks it, not at its end.
 *
 * Pure C, no httpd or APR types. */
#ifndef PUSH_UTF8_H
#define PUSH_UTF8_H

#include <stddef.h>

/* Incremental validator state.  Plain data: copy it, zero it with
 * push_utf8_init, no cleanup needed. */
typedef struct {
    unsigned state;
} push_utf8_t;

/* Starts a new text: no partial sequence pending. */
void push_utf8_init(push_utf8_t *u);

/* Validates buf[0..len) as the continuation of what was fed before.
 * Returns 0 while everything so far can still be (the start of) valid
 * UTF-8, -1 from the first invalid byte on; once -1, it stays -1 until
 * push_utf8_init. */
int push_utf8_feed(push_utf8_t *u, const void *buf, size_t len);

/* Returns 0 when the text fed so far is complete valid UTF-8 (no
 * sequence left open), -1 when it is invalid or ends mid-sequence. */
int push_utf8_finish(const push_utf8_t *u);

/* 1 when buf[0..len) is complete, valid UTF-8; else 0. */
int push_utf8_valid(const void *buf, size_t len);

/* Length of the longest prefix of buf[0..len) that is complete, valid
 * UTF-8: cutting there never splits a character.  Equals len exactly when
 * push_utf8_valid(buf, len). */
size_t push_utf8_valid_prefix(const void *buf, size_t len);

#endif
