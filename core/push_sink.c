/* push_sink.c — the socket sink and source (see push_sink.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "core/push_sink.h"

static size_t socket_pending(const push_sink_t *k)
{
    const push_socket_sink_t *s = (const push_socket_sink_t *)k;

    return s->pending.len - s->pending_off;
}

/* Appends v[0..n), from byte `skip` of their concatenation on, behind what
 * waits.  The buffer grows by doubling and is compacted once most of it
 * went out, so a burst of appends costs time linear in its bytes.  -1
 * over max_pending or out of memory. */
static int pending_add(push_socket_sink_t *s, const struct iovec *v, int n,
                       size_t skip)
{
    size_t more = 0;
    int i;

    for (i = 0; i < n; i++) {
        more += v[i].iov_len;
    }
    more -= skip;
    if (socket_pending(&s->sink) + more > s->max_pending) {
        return -1;
    }
    if (s->pending_off && s->pending_off >= s->pending.len / 2) {
        memmove(s->pending.data, s->pending.data + s->pending_off,
                s->pending.len - s->pending_off);
        s->pending.len -= s->pending_off;
        s->pending_off = 0;
    }
    if (push_buf_reserve(&s->pending, more) != 0) {
        return -1;
    }
    for (i = 0; i < n; i++) {
        size_t len = v[i].iov_len;

        if (skip >= len) {
            skip -= len;
            continue;
        }
        memcpy(s->pending.data + s->pending.len,
               (const char *)v[i].iov_base + skip, len - skip);
        s->pending.len += len - skip;
        skip = 0;
    }
    return 0;
}

static push_sink_rc gone(push_socket_sink_t *s)
{
    s->sink.gone = 1;
    return PUSH_SINK_GONE;
}

int push_sink_frame(const struct iovec *bufs, int nbufs, int chunked,
                    char *head, struct iovec *vec, size_t *body,
                    size_t *total)
{
    int i, n = 0;

    *body = *total = 0;
    for (i = 0; i < nbufs; i++) {
        *body += bufs[i].iov_len;
    }
    if (chunked && *body == 0) {
        return 0;
    }
    if (chunked) {
        vec[n].iov_base = head;
        vec[n++].iov_len = (size_t)snprintf(head, PUSH_SINK_CHUNK_HEAD,
                                            "%zx\r\n", *body);
    }
    for (i = 0; i < nbufs; i++) {
        vec[n++] = bufs[i];
    }
    if (chunked) {
        vec[n].iov_base = (void *)"\r\n";
        vec[n++].iov_len = 2;
    }
    for (i = 0; i < n; i++) {
        *total += vec[i].iov_len;
    }
    return n;
}

static push_sink_rc socket_write(push_sink_t *k, const struct iovec *bufs,
                                 int nbufs)
{
    push_socket_sink_t *s = (push_socket_sink_t *)k;
    struct iovec vec[PUSH_SINK_MAX_IOV + 2];
    struct msghdr mh;
    char head[PUSH_SINK_CHUNK_HEAD];
    size_t body, total;
    ssize_t sent;
    int n;

    if (nbufs > PUSH_SINK_MAX_IOV) {
        return gone(s);
    }
    if ((n = push_sink_frame(bufs, nbufs, s->chunked, head, vec, &body,
                             &total)) == 0) {
        return PUSH_SINK_SENT;
    }
    s->sink.body_bytes += body;
    if (socket_pending(k)) {
        /* Behind what is waiting already: queued, in order. */
        return pending_add(s, vec, n, 0) == 0 ? PUSH_SINK_QUEUED : gone(s);
    }
    memset(&mh, 0, sizeof(mh));
    mh.msg_iov = vec;
    mh.msg_iovlen = (size_t)n;
    sent = sendmsg(s->fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (sent < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            return gone(s);
        }
        sent = 0;
    }
    s->sink.wire_bytes += (uint64_t)sent;
    if (k->on_write) {
        k->on_write(k->baton);
    }
    if ((size_t)sent == total) {
        return PUSH_SINK_SENT;
    }
    /* Keep what did not go out; the caller takes nothing more from the
     * store until it has. */
    return pending_add(s, vec, n, (size_t)sent) == 0 ? PUSH_SINK_QUEUED
                                                     : gone(s);
}

static push_sink_rc socket_drain(push_sink_t *sink);
static int socket_finish(push_sink_t *sink);
static void socket_release(push_sink_t *sink);

void push_socket_sink_init(push_socket_sink_t *k, int fd, int chunked,
                           size_t max_pending)
{
    memset(k, 0, sizeof(*k));
    k->sink.write = socket_write;
    k->sink.pending = socket_pending;
    k->sink.drain = socket_drain;
    k->sink.finish = socket_finish;
    k->sink.release = socket_release;
    k->fd = fd;
    k->chunked = chunked;
    k->max_pending = max_pending;
    push_buf_init(&k->pending);
}

static push_sink_rc socket_drain(push_sink_t *sink)
{
    push_socket_sink_t *k = (push_socket_sink_t *)sink;
    size_t left = socket_pending(&k->sink);
    ssize_t sent;

    if (k->sink.gone) {
        return PUSH_SINK_GONE;
    }
    if (!left) {
        return PUSH_SINK_SENT;
    }
    sent = send(k->fd, k->pending.data + k->pending_off, left,
                MSG_DONTWAIT | MSG_NOSIGNAL);
    if (sent < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            return gone(k);
        }
        return PUSH_SINK_QUEUED;
    }
    k->sink.wire_bytes += (uint64_t)sent;
    k->pending_off += (size_t)sent;
    if ((size_t)sent < left) {
        return PUSH_SINK_QUEUED;
    }
    k->pending.len = 0;
    k->pending_off = 0;
    return PUSH_SINK_SENT;
}

static int socket_finish(push_sink_t *sink)
{
    push_socket_sink_t *k = (push_socket_sink_t *)sink;
    static const char last[] = "0\r\n\r\n";

    if (!k->chunked || k->sink.gone || socket_pending(&k->sink)) {
        return 0;
    }
    return send(k->fd, last, sizeof(last) - 1, MSG_DONTWAIT | MSG_NOSIGNAL)
           == (ssize_t)(sizeof(last) - 1);
}

static void socket_release(push_sink_t *sink)
{
    push_socket_sink_t *k = (push_socket_sink_t *)sink;

    push_buf_free(&k->pending);
    k->pending_off = 0;
}

static long socket_read(push_source_t *src, unsigned char *buf, size_t cap)
{
    push_socket_source_t *s = (push_socket_source_t *)src;
    ssize_t n = recv(s->fd, buf, cap, MSG_DONTWAIT);

    if (n >= 0) {
        return (long)n;
    }
    return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR
           ? PUSH_SOURCE_AGAIN : PUSH_SOURCE_ERROR;
}

void push_socket_source_init(push_socket_source_t *src, int fd)
{
    src->source.read = socket_read;
    src->source.hides_input = 0;
    src->fd = fd;
}
