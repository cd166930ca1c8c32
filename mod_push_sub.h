/* mod_push_sub.h — a subscriber in httpd: its start and end, and the
 * worker-thread driver (mod_push_sub.c). */
#ifndef MOD_PUSH_SUB_H
#define MOD_PUSH_SUB_H

#include "httpd.h"
#include "util_filter.h"

#include "core/push_sub.h"
#include "core/push_transport.h"
#include "mod_push_filters.h"

/* The start every subscriber shares: the client's cursor (400 when
 * malformed), admission (503 with Retry-After when the server holds as
 * many as it can, mod_push_admit.c), the store subscription (507), its
 * count, PushFirstMessage newest, and a streaming one's hold.  1 to go
 * on, 0 after a reply.  A channel set (a multiplexed request) subscribes
 * to each; *info is then the first channel's, but for keep, which is 0
 * when any of them keeps no history. */
int  push_sub_begin(request_rec *r, const push_transport_t *t,
                    const char *channel, push_sub_t *s,
                    push_channel_info_t *info);
/* Ends what begin started. */
void push_sub_end(push_sub_t *s);

/* A streaming transport's handler, after push_sub_begin: a 200 with
 * content_type (NULL: none), without the filters that compress or
 * buffer (mod_deflate, mod_brotli, SSI; no-gzip set), no caching; the headers
 * flushed with preamble (may be empty) so the client knows at once; then
 * push_sub_stream. */
int  push_sub_stream_response(request_rec *r, push_sub_t *s,
                              const char *content_type, const char *preamble,
                              apr_size_t preamble_len);

/* Table entries shared by streams that cannot say anything but messages
 * (chunked, http-raw-stream): a gap while connected ends the stream; no
 * keep-alive; nothing to say at the end. */
size_t     push_stream_gap_ends(push_sub_t *s, const push_msgid_t *gap_id,
                                char *buf, size_t cap);
int        push_stream_idle_quiet(push_sub_t *s);
push_end_e push_stream_end_quiet(push_sub_t *s, push_stop_e why);

/* A stream whose headers (or 101) went out through `out`: parked in the
 * stream loop when the MPM, connection and filters allow (SUSPENDED; r is
 * the loop's from then on), or run on this thread until it ends (OK).
 * in: READS transports' filter source.  chunked: the response body is
 * HTTP/1.1-chunked. */
int  push_sub_stream(request_rec *r, push_sub_t *s, push_filter_sink_t *out,
                     push_filter_source_t *in, int chunked);

/* A one-shot subscriber (long poll) waits on this thread for the next
 * message after its cursor, until deadline (0: none), the channel's
 * deletion, a stop, or the client's hang-up; a message is copied in
 * r->pool. */
push_outcome_e push_sub_wait(request_rec *r, push_sub_t *s,
                             apr_time_t deadline, push_message_t *msg,
                             int *gap, push_msgid_t *gap_id);

#endif
