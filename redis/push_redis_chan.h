/* push_redis_chan.h — a channel in Redis: its keys, the publish script,
 * reading it back, and the wake notice its publishes send.
 *
 * Every key of channel <id> carries the hash tag {c:<id>}, so in a
 * Redis Cluster they all live in one slot:
 *
 *   <prefix>{c:<id>}:s   a STREAM, one entry per message, entry id
 *                        <sec>-<n> for message id <sec>:<n>; fields d
 *                        (body), t (content type), e (SSE event)
 *   <prefix>{c:<id>}:m   a HASH: lt, ln (the last id issued: ids never
 *                        go back while it lives, even when the stream
 *                        is trimmed empty), ep (the channel's epoch: a
 *                        Redis that lost the channel gives it a new one)
 *   <prefix>{c:<id>}:n   a HASH: each server's count of the channel's
 *                        subscribers (push_redis_count.h)
 *   <prefix>{c:<id>}     the pub/sub channel its publishes are told on
 *
 * Publishing is one script, so concurrent publishers on any number of
 * servers get one order: it takes t = max(Redis TIME, lt), n = ln + 1
 * in the same second (else 0), adds the entry, trims by length and by
 * age, records lt/ln, and publishes the notice (id, previous id, epoch,
 * and the message itself when small).  Its reply is the id, so a
 * publisher's 201 means Redis has the message, and the count of the
 * channel's subscribers on the other servers.  Pure C over a
 * push_redis_conn_t; no httpd or APR types. */
#ifndef PUSH_REDIS_CHAN_H
#define PUSH_REDIS_CHAN_H

#include <stddef.h>
#include <stdint.h>

#include "lib/push_id.h"
#include "redis/push_redis_conn.h"

/* A notice carries the message when its body is at most this: larger
 * ones are read from the stream (pub/sub output buffers are small). */
#define PUSH_REDIS_INLINE_MAX 4096

/* The names of a channel (malloc'd; push_redis_keys_free). */
typedef struct {
    char  *stream, *meta, *count, *pubsub;
    size_t stream_len, meta_len, count_len, pubsub_len;
} push_redis_keys_t;

int  push_redis_keys(push_redis_keys_t *k, const char *prefix,
                     const char *chan, size_t chan_len);
void push_redis_keys_free(push_redis_keys_t *k);

/* A message as Redis gives it back (pointers into the reply or notice
 * it came from). */
typedef struct {
    push_msgid_t id;
    push_msgid_t prev;        /* the channel's id before it ({0,0}: none;
                               * from the stream, not from notices) */
    const char  *body;
    size_t       body_len;
    const char  *content_type;
    size_t       content_type_len;
    const char  *event;
    size_t       event_len;
} push_redis_msg_t;

/* What a publish did. */
typedef struct {
    push_msgid_t id;
    push_msgid_t prev;        /* the channel's id before; {0,0}: first */
    uint64_t     epoch;
    uint32_t     keep;        /* the publish's buffer length and timeout */
    uint32_t     timeout;
    long long    receivers;   /* servers told (PUBLISH's count; not in a
                               * notice) */
    long long    others;      /* subscribers on the other servers (not
                               * in a notice) */
    int          hole;        /* prev is the id left out past the floor
                               * (not in a notice) */
} push_redis_published_t;

/* Publishes msg (its id is ignored) keeping `keep` messages (0: none
 * but what is in flight) and those at most `timeout` seconds old (0: no
 * limit), for the server named `server` (whose own subscribers are not
 * in out->others; NULL: a publisher with none), whose copy's last id of
 * the channel is *floor (NULL or {0,0}: none): the id given is after
 * it, even from a Redis that lost the channel (and then one past the
 * id after it: out->prev is an id nobody has, a gap for every copy at
 * the floor or behind it).  0 and *out; or -1 with
 * the reason in err: the connection broke (push_redis_broken), or Redis
 * refused (an error reply). */
int push_redis_publish(push_redis_conn_t *c, const push_redis_keys_t *k,
                       const char *server, const push_msgid_t *floor,
                       const push_redis_msg_t *msg, uint32_t keep,
                       uint32_t timeout, int timeout_ms,
                       push_redis_published_t *out, char *err,
                       size_t errlen);

/* For a copy whose last id *floor is past Redis' (Redis went back, or
 * forgot the channel): Redis' last id becomes the one after the floor,
 * given in *last, and 1; 0 with Redis' last id in *last when it was
 * already past the floor (another server did it); -1 with the reason in
 * err.  *epoch (may be NULL) is the channel's epoch after (made when
 * Redis had forgotten the channel). */
int push_redis_floor(push_redis_conn_t *c, const push_redis_keys_t *k,
                     const push_msgid_t *floor, int timeout_ms,
                     push_msgid_t *last, uint64_t *epoch, char *err,
                     size_t errlen);

/* A channel as Redis has it, read back. */
typedef struct {
    int               exists;    /* 0: no such channel (the rest is 0) */
    push_msgid_t      last;      /* the last id issued */
    uint64_t          epoch;
    uint32_t          keep;      /* the last publish's buffer length */
    uint32_t          timeout;   /* ... and message timeout (s) */
    push_redis_msg_t *msgs;      /* the messages read, oldest first */
    unsigned          n;
    redisReply       *reply;     /* what msgs point into */
} push_redis_state_t;

/* The channel's state and its messages after `after` ({0,0}: from the
 * oldest), at most `count` of them, in one script (they agree).  0 and
 * *st (push_redis_state_free when done), or -1 with the reason in err. */
int  push_redis_read(push_redis_conn_t *c, const push_redis_keys_t *k,
                     const push_msgid_t *after, unsigned count,
                     int timeout_ms, push_redis_state_t *st, char *err,
                     size_t errlen);
void push_redis_state_free(push_redis_state_t *st);

/* A publish's notice, as a pub/sub message gives it: 0 and the fields
 * (*inline_msg 1 when msg holds the message, pointing into data; else
 * read it from the stream), or -1 when data is not one. */
int push_redis_notice_parse(const char *data, size_t len,
                            push_redis_published_t *n, int *inline_msg,
                            push_redis_msg_t *msg);

/* Deletes the channel's messages (its meta stays, so later ids go on
 * after the deleted ones) and tells every server ("delete" on the pub/sub
 * channel).  0 and *had (the messages Redis had), or -1 with the reason
 * in err. */
int push_redis_delete(push_redis_conn_t *c, const push_redis_keys_t *k,
                      int timeout_ms, long long *had, char *err,
                      size_t errlen);
/* 1 when a pub/sub message is a delete's notice. */
int push_redis_notice_is_delete(const char *data, size_t len);

/* "<sec>-<n>" as Redis writes a stream id, into push_msgid_t; -1 when
 * it is not one that fits (n over 32 bits). */
int push_redis_stream_id(const char *s, size_t len, push_msgid_t *id);

#endif
