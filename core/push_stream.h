/* push_stream.h — a streaming subscriber (event stream, WebSocket) held by
 * the stream loop.
 *
 * The stream rides on a loop item its owner keeps (the connection's record
 * in mod_push_conn.c, or a unit test's); the owner's callbacks hand each
 * loop event to the functions below while the connection streams.  They
 * write through a sink (the socket's own, or one the owner gives with
 * push_stream_use, such as a TLS connection's): a socket that is full
 * keeps the unsent rest
 * (one batch) and the cursor, and the stream catches up from the store
 * when it drains (the loop holds its messages), so a slow client delays
 * nobody.  A client that sends is read a budget at a time, and not while
 * its socket is full.  A keep-alive is due PushPingInterval
 * after the last write.  What the client sends is read here and handed to
 * the transport.  When the stream is over, its item is ended
 * (push_loop_end): the owner's finish then calls push_stream_finish.
 *
 * Pure C. */
#ifndef PUSH_STREAM_H
#define PUSH_STREAM_H

#include "core/push_loop.h"
#include "core/push_sink.h"
#include "core/push_sub.h"

/* What a stream may hold unsent before the client counts as gone.  It
 * holds one write at most (a batch of up to 64 KB, or one larger
 * message, and control frames queued behind it): nothing more is
 * written, or read, while that waits.  So this is a safety net a little
 * above PushMaxMessageSize's ceiling, never reached by design. */
#define PUSH_STREAM_PENDING_MAX ((size_t)1 << 30 | (size_t)1 << 20)

typedef struct {
    push_sub_t           *sub;        /* its sink is `sink` */
    push_loop_item_t     *it;
    push_sink_t          *sink;       /* &out.sink, or the owner's */
    push_source_t        *source;     /* &in.source, or the owner's */
    push_socket_sink_t    out;
    push_socket_source_t  in;
    /* The last read stopped at its budget, with more perhaps waiting
     * where the socket does not show it (source->hides_input). */
    int                   read_more;
    int64_t               ping_every; /* microseconds; 0: none */
    /* A client that takes none of what waits for it for this long
     * (httpd's Timeout, as for any write) is closed; 0: never. */
    int64_t               write_timeout;
    int64_t               stalled_since;  /* output waits since; 0: none */
    int64_t               unsent_seen;    /* in the socket at the last look */
    int                   closing;    /* awaiting the client's Close */
    /* PushSubscriberTimeout: a stream that gets no message for this long
     * ends (PUSH_STOP_TIMEOUT); 0: never. */
    int64_t               idle_limit;
    /* What the channel's hold last heard of it (push_loop_moved): told
     * again only when one of them changed, since the loop then looks
     * over every follower of the channel. */
    uint64_t              told_pos, told_chan_pos;
    int                   told_pending;
} push_stream_t;

/* Sets the stream up on the connection's descriptor (before hand-over).
 * chunked: HTTP/1.1 chunk framing for each write. */
void push_stream_init(push_stream_t *st, push_sub_t *sub,
                      push_loop_item_t *it, int chunked, int64_t ping_every,
                      int64_t write_timeout);

/* Before push_stream_start: the stream writes to sink and reads from
 * source instead of the descriptor's own socket sink and source. */
void push_stream_use(push_stream_t *st, push_sink_t *sink,
                     push_source_t *source);

/* Adopted by the loop: follows the channel, watches the socket, and
 * delivers what came since the handler looked.  -1 when the channel
 * cannot be followed (stopping, out of descriptors): the owner ends it. */
int  push_stream_start(push_stream_t *st);
void push_stream_io(push_stream_t *st, uint32_t events);
void push_stream_due(push_stream_t *st, int64_t now);
/* Its expiry (idle_limit, set with push_stream_init's caller) passed. */
void push_stream_expired(push_stream_t *st, int64_t now);
void push_stream_wake(push_stream_t *st);
void push_stream_unwatchable(push_stream_t *st);
/* After the item ended: the chunked body's last chunk when the stream
 * ended on our side with nothing unsent; frees the buffers. */
void push_stream_finish(push_stream_t *st);

#endif
