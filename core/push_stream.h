/* push_stream.h — a streaming subscriber (event stream, WebSocket) held by
 * the stream loop.
 *
 * The stream rides on a loop item its owner keeps (the connection's record
 * in mod_push_conn.c, or a unit test's); the owner's callbacks hand each
 * loop event to the functions below while the connection streams.  They
 * write through a socket sink: a socket that is full keeps the unsent rest
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

/* What a stream may hold unsent (one event, or a few control frames
 * queued behind it) before the client counts as gone. */
#define PUSH_STREAM_PENDING_MAX (64 * 1024 * 1024)

typedef struct {
    push_sub_t           *sub;        /* its sink is `out` */
    push_loop_item_t     *it;
    push_socket_sink_t    out;
    push_socket_source_t  in;
    int64_t               ping_every; /* microseconds; 0: none */
    int                   closing;    /* awaiting the client's Close */
} push_stream_t;

/* Sets the stream up on the connection's descriptor (before hand-over).
 * chunked: HTTP/1.1 chunk framing for each write. */
void push_stream_init(push_stream_t *st, push_sub_t *sub,
                      push_loop_item_t *it, int chunked, int64_t ping_every);

/* Adopted by the loop: follows the channel, watches the socket, and
 * delivers what came since the handler looked.  -1 when the channel
 * cannot be followed (stopping, out of descriptors): the owner ends it. */
int  push_stream_start(push_stream_t *st);
void push_stream_io(push_stream_t *st, uint32_t events);
void push_stream_due(push_stream_t *st, int64_t now);
void push_stream_wake(push_stream_t *st);
void push_stream_unwatchable(push_stream_t *st);
/* After the item ended: the chunked body's last chunk when the stream
 * ended on our side with nothing unsent; frees the buffers. */
void push_stream_finish(push_stream_t *st);

#endif
