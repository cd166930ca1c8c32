/* push_sink.h — where a subscriber's bytes go (a sink) and where what its
 * client sends comes from (a source).
 *
 * A transport writes through its subscriber's sink and never knows which
 * one it is.  Three kinds exist:
 *   - the socket sink here: non-blocking writes on the connection's
 *     socket, with a pending buffer for what the socket does not take and
 *     optional HTTP/1.1 chunk framing; the stream loop's, for plain
 *     HTTP/1.x;
 *   - the TLS sink (mod_push_tls.c): the connection's own filters
 *     (mod_ssl, then the core output filter) driven without blocking;
 *     the stream loop's, for HTTPS;
 *   - the filter sink (mod_push_sub.c): a brigade through httpd's filters
 *     and a flush, for HTTP/2 and the MPMs without a loop; a worker
 *     thread's.
 *
 * Pure C (POSIX sockets). */
#ifndef PUSH_SINK_H
#define PUSH_SINK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "lib/push_buf.h"

typedef enum {
    PUSH_SINK_SENT = 0,   /* all of it is on its way */
    PUSH_SINK_QUEUED,     /* some waits for the socket to drain */
    PUSH_SINK_GONE        /* the client is gone; nothing more is written */
} push_sink_rc;

/* The most pieces one write takes (a batch of messages, with a notice). */
#define PUSH_SINK_MAX_IOV 64

/* One write's pieces as they go on the wire: bufs[0..nbufs) into vec
 * (PUSH_SINK_MAX_IOV + 2 entries), as one chunk when chunked, its size
 * line written in head (PUSH_SINK_CHUNK_HEAD bytes).  Returns the count
 * of vec, 0 for an empty chunked write (it would read as the last
 * chunk: nothing is written); *body and *total are the body's bytes and
 * all of them. */
#define PUSH_SINK_CHUNK_HEAD 24
struct iovec;
int push_sink_frame(const struct iovec *bufs, int nbufs, int chunked,
                    char *head, struct iovec *vec, size_t *body,
                    size_t *total);

typedef struct push_sink push_sink_t;
struct push_sink {
    /* Writes v[0..n) (n <= PUSH_SINK_MAX_IOV) as one piece of the response
     * body (one chunk, holding one or more events or WebSocket frames),
     * after everything written before. */
    push_sink_rc (*write)(push_sink_t *k, const struct iovec *v, int n);
    /* Bytes accepted but not on the wire yet (at least 1 while any
     * wait, where the count is not known exactly). */
    size_t       (*pending)(const push_sink_t *k);
    /* The socket has room: writes what waits.  SENT when nothing is
     * left, QUEUED while more waits, GONE.  NULL for a sink that never
     * keeps anything (a worker's, which blocks). */
    push_sink_rc (*drain)(push_sink_t *k);
    /* The response ends on our side: a chunked body's last chunk, if
     * nothing waits; 1 when sent.  May be NULL. */
    int          (*finish)(push_sink_t *k);
    /* Frees what the sink holds.  May be NULL. */
    void         (*release)(push_sink_t *k);
    /* Called after each write the socket was offered (it took all, part
     * or, for now, none of it): the subscriber is not idle, its
     * keep-alive is due later.  Not for writes queued behind unsent
     * bytes.  May be NULL. */
    void         (*on_write)(void *baton);
    void          *baton;
    int            gone;       /* a write failed: the client is gone */
    uint64_t       body_bytes; /* body written (accepted), for the log */
    /* Bytes that reached the socket past httpd's filters, which mod_logio
     * did not see (0 for a sink that writes through them). */
    uint64_t       wire_bytes;
};

static inline push_sink_rc push_sink_write(push_sink_t *k,
                                           const struct iovec *v, int n)
{
    return k->gone ? PUSH_SINK_GONE : k->write(k, v, n);
}

static inline push_sink_rc push_sink_write1(push_sink_t *k, const void *d,
                                            size_t len)
{
    struct iovec v;

    v.iov_base = (void *)d;
    v.iov_len = len;
    return push_sink_write(k, &v, 1);
}

/* A non-blocking socket sink.  Past max_pending bytes waiting, the client
 * counts as gone. */
typedef struct {
    push_sink_t sink;
    int         fd;
    int         chunked;       /* HTTP/1.1 chunked body */
    size_t      max_pending;
    push_buf_t  pending;       /* unsent, from pending_off on */
    size_t      pending_off;
} push_socket_sink_t;

void push_socket_sink_init(push_socket_sink_t *k, int fd, int chunked,
                           size_t max_pending);

/* What the client sent. */
typedef struct push_source push_source_t;
struct push_source {
    /* Up to cap bytes into buf: their count, 0 at the end of the stream,
     * PUSH_SOURCE_AGAIN when nothing is there now, PUSH_SOURCE_ERROR. */
    long (*read)(push_source_t *src, unsigned char *buf, size_t cap);
    /* What was read from the socket may wait above it (decrypted, in
     * httpd's filters), where the socket's readiness does not show it:
     * a reader that stops before the source says AGAIN must come back
     * without waiting for the socket. */
    int   hides_input;
};
#define PUSH_SOURCE_AGAIN (-1L)
#define PUSH_SOURCE_ERROR (-2L)

typedef struct {
    push_source_t source;
    int           fd;
} push_socket_source_t;

void push_socket_source_init(push_socket_source_t *src, int fd);

#endif
