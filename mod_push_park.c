/* mod_push_park.c — event streams that give their worker thread back.
 *
 * Under the event MPM a Server-Sent Events stream or a WebSocket on a
 * plain HTTP/1.x connection need not hold a thread while it waits.  Once
 * its response headers (or 101) are out, the handler hands the
 * connection to this process's stream loop and returns SUSPENDED.  The loop is one thread with an
 * epoll set holding:
 *   - one wake-up registration per channel (push_notify), however many
 *     streams of this process follow it;
 *   - every parked socket, for hang-ups (and for room to write, while
 *     the rest of an event waits to be sent).
 * When a channel changes, the loop writes the message's event or frame,
 * built once per process by the frame cache, to each of the channel's
 * streams without blocking.  What a WebSocket client sends is read here
 * too and handed to mod_push_ws.c's frame handling (pongs, Close,
 * publishing).  A stream whose socket is full keeps its cursor and
 * the unsent rest of one event, and catches up from the store when the
 * socket drains: a slow client delays nobody, and costs one event of
 * memory at most.  Keep-alive comments are due PushPingInterval after a
 * stream's last write; streams sharing an interval sit in one list in
 * due order, so the loop only wakes when one is due.
 *
 * httpd 2.4 has no call that gives a suspended connection back to the
 * MPM, so a stream that ends is finished here the way the MPM would:
 * the request is logged (its EOR bucket), and the connection's pool,
 * with the socket, is destroyed.
 *
 * TLS, HTTP/2, and the worker and prefork MPMs keep the thread-per-stream
 * loops of mod_push_sse.c and mod_push_ws.c.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "apr_atomic.h"
#include "apr_optional.h"
#include "apr_strings.h"

#include "httpd.h"
#include "http_config.h"
#include "http_connection.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "http_ssl.h"
#include "ap_mpm.h"
#include "mpm_common.h"

#include "mod_push.h"
#include "push_sse.h"

APLOG_USE_MODULE(push);

extern module AP_MODULE_DECLARE_DATA push_module;

/* A stream that ends right after it was parked is finished a little
 * later: the worker that suspended it may still be returning through
 * the MPM, which touches the connection once more after the
 * suspend_connection hook. */
#define PARK_REAP_GRACE  apr_time_from_msec(200)
/* How long a WebSocket that sent its Close waits for the client's
 * (RFC 6455 7.1.1), as the threaded loop does. */
#define PARK_WS_CLOSE_WAIT apr_time_from_sec(2)
/* What a stream may hold unsent (one event, or a few control frames
 * queued behind it) before the client counts as gone. */
#define PARK_PENDING_MAX (64 * 1024 * 1024)

enum { PARK_WAKE, PARK_CHANNEL, PARK_STREAM };

typedef struct park_channel park_channel;
typedef struct park_timer   park_timer;
typedef struct park_stream  park_stream;

struct park_stream {
    int                 kind;           /* PARK_STREAM: epoll tag */
    request_rec        *r;
    conn_rec           *c;
    apr_socket_t       *sock;
    int                 fd;
    const char         *channel;        /* in r->pool */
    push_sub_t          sub;
    push_msgid_t        cursor;
    int                 has_cursor;
    push_wait_hint_t    hint;
    int                 chunked;        /* HTTP/1.1 chunked body */
    void               *ws;             /* a WebSocket's state, or NULL */
    apr_interval_time_t ping_every;

    park_channel       *chan;
    park_stream        *chan_prev, *chan_next;
    park_timer         *timer;
    park_stream        *t_prev, *t_next;
    apr_time_t          ping_at;

    char               *pending;        /* unsent rest of one write */
    apr_size_t          pending_len, pending_off;
    int                 want_out;       /* EPOLLOUT registered */

    apr_time_t          parked_at;
    unsigned long       delivered;
    int                 ended;          /* 1 client gone, 2 server side */
    park_stream        *next;           /* incoming or reap list */
};

struct park_channel {
    int                 kind;           /* PARK_CHANNEL */
    apr_uint32_t        slot;
    push_notify_gen_t  *gen;
    int                 fd;             /* in the epoll set, or -1 */
    park_stream        *streams;
    park_channel       *next_dead;
};

struct park_timer {
    apr_interval_time_t every;
    park_stream        *head, *tail;
    park_timer         *next;
};

typedef struct {
    int                 kind;           /* PARK_WAKE */
    int                 epfd, wakefd;
    pthread_t           thread;
    pthread_mutex_t     lock;
    park_stream        *incoming;       /* handed over, not yet adopted */
    int                 quit;
    apr_uint32_t        nslots;
    park_channel      **chans;          /* by store slot */
    park_timer         *timers;
    park_stream        *reap;           /* ended, to finish */
    park_channel       *dead_chans;     /* freed after the epoll batch */
    apr_pool_t         *scratch;        /* frames built here; cleared */
    apr_uint32_t        parked;         /* streams held (atomic) */
} park_loop;

static park_loop *loop;
static int loop_usable;
static APR_OPTIONAL_FN_TYPE(ap_logio_add_bytes_out) *logio_add_bytes_out;

/* ------------------------------------------------------------------ */
/* Lists                                                                */

static void timer_unlink(park_stream *s)
{
    park_timer *t = s->timer;

    if (!t) {
        return;
    }
    if (s->t_prev) s->t_prev->t_next = s->t_next; else t->head = s->t_next;
    if (s->t_next) s->t_next->t_prev = s->t_prev; else t->tail = s->t_prev;
    s->t_prev = s->t_next = NULL;
    s->timer = NULL;
}

/* The stream wrote just now: its keep-alive is due one interval later,
 * after every other stream of the same interval. */
static void timer_touch(park_stream *s, apr_time_t now)
{
    park_timer *t = s->timer;

    if (s->ping_every <= 0) {
        return;
    }
    if (!t) {
        for (t = loop->timers; t && t->every != s->ping_every; t = t->next)
            ;
        if (!t) {
            if (!(t = calloc(1, sizeof(*t)))) {
                return;
            }
            t->every = s->ping_every;
            t->next = loop->timers;
            loop->timers = t;
        }
    }
    else {
        timer_unlink(s);
    }
    s->timer = t;
    s->ping_at = now + t->every;
    s->t_prev = t->tail;
    s->t_next = NULL;
    if (t->tail) t->tail->t_next = s; else t->head = s;
    t->tail = s;
}

static int epoll_set(int op, int fd, apr_uint32_t events, void *tag)
{
    struct epoll_event ev;

    memset(&ev, 0, sizeof(ev));
    ev.events = events;
    ev.data.ptr = tag;
    return epoll_ctl(loop->epfd, op, fd, &ev);
}

/* ------------------------------------------------------------------ */
/* Channels: one wake-up registration each                              */

static void channel_release(park_channel *ch)
{
    if (ch->fd >= 0) {
        epoll_ctl(loop->epfd, EPOLL_CTL_DEL, ch->fd, NULL);
        ch->fd = -1;
    }
    push_wait_unwatch(ch->slot, ch->gen);
    ch->gen = NULL;
    loop->chans[ch->slot] = NULL;
    ch->next_dead = loop->dead_chans;
    loop->dead_chans = ch;
}

static park_channel *channel_get(apr_uint32_t slot)
{
    park_channel *ch;

    if (slot >= loop->nslots) {
        return NULL;
    }
    if ((ch = loop->chans[slot]) != NULL) {
        return ch;
    }
    if (!(ch = calloc(1, sizeof(*ch)))) {
        return NULL;
    }
    ch->kind = PARK_CHANNEL;
    ch->slot = slot;
    ch->fd = -1;
    /* Registered before any stream looks in the store: a publish after
     * the look is sure to fire it. */
    if (!(ch->gen = push_wait_watch(slot))) {
        free(ch);
        return NULL;
    }
    ch->fd = push_wait_fd(ch->gen);
    if (epoll_set(EPOLL_CTL_ADD, ch->fd, EPOLLIN, ch) != 0) {
        push_wait_unwatch(slot, ch->gen);
        free(ch);
        return NULL;
    }
    loop->chans[slot] = ch;
    return ch;
}

/* ------------------------------------------------------------------ */
/* Writing                                                              */

static void stream_end(park_stream *s, int how);
static void stream_ws_close(park_stream *s, int gone);
static int  stream_send(park_stream *s, const struct iovec *bufs, int nbufs);

/* A WebSocket is read as well; an event stream only watched for a
 * hang-up (what a client sends it is not a hang-up). */
static apr_uint32_t stream_events(const park_stream *s)
{
    return s->ws ? EPOLLIN | EPOLLRDHUP : EPOLLRDHUP;
}

/* For mod_push_ws.c: one frame, header and payload. */
static int ws_park_send(void *park, const void *hdr, apr_size_t hlen,
                        const void *payload, apr_size_t plen)
{
    park_stream *s = park;
    struct iovec v[2];

    if (s->ended) {
        return -1;
    }
    v[0].iov_base = (void *)hdr;
    v[0].iov_len = hlen;
    v[1].iov_base = (void *)payload;
    v[1].iov_len = plen;
    return stream_send(s, v, plen ? 2 : 1) < 0 ? -1 : 0;
}

/* Sends bufs as one piece of the body (one chunk when chunked) without
 * blocking.  0 when all went out, 1 when the rest waits for the socket
 * to drain, -1 when the client is gone (the stream is ended). */
static int stream_send(park_stream *s, const struct iovec *bufs, int nbufs)
{
    struct iovec vec[6];
    char head[24];
    apr_size_t body = 0, total = 0, sent = 0;
    apr_status_t rv;
    int i, n = 0;

    for (i = 0; i < nbufs; i++) {
        body += bufs[i].iov_len;
    }
    if (s->chunked) {
        vec[n].iov_base = head;
        vec[n++].iov_len = apr_snprintf(head, sizeof(head), "%" APR_UINT64_T_HEX_FMT
                                        CRLF, (apr_uint64_t)body);
    }
    for (i = 0; i < nbufs; i++) {
        vec[n++] = bufs[i];
    }
    if (s->chunked) {
        vec[n].iov_base = CRLF;
        vec[n++].iov_len = 2;
    }
    for (i = 0; i < n; i++) {
        total += vec[i].iov_len;
    }
    if (s->pending) {
        /* Behind what is waiting already: queued, in order. */
        apr_size_t have = s->pending_len - s->pending_off;
        char *more;

        if (have + total > PARK_PENDING_MAX
            || !(more = malloc(have + total))) {
            stream_end(s, 1);
            return -1;
        }
        memcpy(more, s->pending + s->pending_off, have);
        for (i = 0; i < n; i++) {
            memcpy(more + have, vec[i].iov_base, vec[i].iov_len);
            have += vec[i].iov_len;
        }
        free(s->pending);
        s->pending = more;
        s->pending_len = have;
        s->pending_off = 0;
        s->r->bytes_sent += body;
        return 1;
    }
    rv = apr_socket_sendv(s->sock, vec, n, &sent);
    if (rv != APR_SUCCESS && !APR_STATUS_IS_EAGAIN(rv)) {
        stream_end(s, 1);
        return -1;
    }
    s->r->bytes_sent += body;
    if (logio_add_bytes_out && sent) {
        logio_add_bytes_out(s->c, sent);
    }
    timer_touch(s, apr_time_now());
    if (sent == total) {
        return 0;
    }
    /* Keep what did not go out; nothing more is taken from the store
     * until it has. */
    if (!(s->pending = malloc(total - sent))) {
        stream_end(s, 1);
        return -1;
    }
    s->pending_len = total - sent;
    s->pending_off = 0;
    for (i = 0; i < n; i++) {
        apr_size_t len = vec[i].iov_len;

        if (sent >= len) {
            sent -= len;
            continue;
        }
        memcpy(s->pending + s->pending_off, (char *)vec[i].iov_base + sent,
               len - sent);
        s->pending_off += len - sent;
        sent = 0;
    }
    s->pending_off = 0;
    if (!s->want_out) {
        s->want_out = 1;
        epoll_set(EPOLL_CTL_MOD, s->fd, stream_events(s) | EPOLLOUT, s);
    }
    return 1;
}

static int stream_send1(park_stream *s, const void *data, apr_size_t len)
{
    struct iovec v;

    v.iov_base = (void *)data;
    v.iov_len = len;
    return stream_send(s, &v, 1);
}

/* An SSE event with no id ("push-gap", "push-deleted"), in scratch. */
static struct iovec sse_notice(const char *event, const char *data)
{
    apr_size_t elen = strlen(event), dlen = strlen(data);
    apr_size_t size = push_sse_event_size(0, elen, data, dlen);
    struct iovec v;

    v.iov_base = apr_palloc(loop->scratch, size);
    v.iov_len = push_sse_event(v.iov_base, NULL, 0, event, elen, data, dlen);
    return v;
}

/* Everything the store has for the stream after its cursor, as long as
 * the socket takes it. */
static void stream_deliver(park_stream *s)
{
    while (!s->ended && !s->pending) {
        struct iovec v[2];
        push_message_t msg;
        push_msgid_t gap_id;
        push_frame_t *f;
        int gap = 0, rc;
        push_wait_e w;

        w = push_wait_next(s->r, NULL, &s->sub,
                           s->has_cursor ? &s->cursor : NULL, 0, 0, 0,
                           &s->hint, &msg, &gap, &gap_id);
        if (w == PUSH_WAIT_GONE) {
            if (s->ws) {
                stream_ws_close(s, 1);
                return;
            }
            v[0] = sse_notice("push-deleted", s->channel);
            if (stream_send(s, v, 1) >= 0) {
                stream_end(s, 2);
            }
            return;
        }
        if (w != PUSH_WAIT_MESSAGE) {
            return;     /* nothing new */
        }
        f = s->ws ? push_frame_for(s->r, loop->scratch, &s->sub,
                                   s->has_cursor ? &s->cursor : NULL,
                                   &msg.id, push_ws_variant(s->ws),
                                   push_ws_encode, s->ws)
                  : push_frame_for(s->r, loop->scratch, &s->sub,
                                   s->has_cursor ? &s->cursor : NULL,
                                   &msg.id, PUSH_VARIANT_SSE,
                                   push_sse_encode, NULL);
        if (!f) {
            continue;   /* gone meanwhile: look again */
        }
        if (gap && !s->ws) {
            /* Said before the message, in the same write, so it is said
             * once even when the socket is full. */
            char id[PUSH_MSGID_MAX_LEN];

            push_msgid_format(&gap_id, id);
            v[0] = sse_notice("push-gap", id);
        }
        gap = gap && !s->ws;
        v[gap].iov_base = (void *)f->data;
        v[gap].iov_len = f->len;
        rc = stream_send(s, v, gap + 1);
        if (s->ws && rc >= 0) {
            push_ws_park_count_sent(s->ws);
        }
        s->cursor = f->key.id;
        s->has_cursor = 1;
        s->delivered++;
        push_frame_done(f);
        if (rc < 0) {
            return;
        }
    }
}

/* The socket has room again. */
static void stream_drain(park_stream *s)
{
    apr_size_t len = s->pending_len - s->pending_off;
    apr_status_t rv = apr_socket_send(s->sock, s->pending + s->pending_off,
                                      &len);

    if (rv != APR_SUCCESS && !APR_STATUS_IS_EAGAIN(rv)) {
        stream_end(s, 1);
        return;
    }
    if (logio_add_bytes_out && len) {
        logio_add_bytes_out(s->c, len);
    }
    s->pending_off += len;
    if (s->pending_off < s->pending_len) {
        return;
    }
    free(s->pending);
    s->pending = NULL;
    s->want_out = 0;
    epoll_set(EPOLL_CTL_MOD, s->fd, stream_events(s), s);
    if (s->chan) {
        stream_deliver(s);
    }
}

/* ------------------------------------------------------------------ */
/* Adopting, ending and finishing streams                               */

/* Gives back the memory the connection's allocator keeps for reuse
 * (chiefly the 8 KB buffer the request was read into): a parked stream
 * allocates nothing more until it ends, and idles for hours. */
static void stream_trim(park_stream *s)
{
    apr_allocator_t *a = apr_pool_allocator_get(s->c->pool);
    int i;

    if (!a || apr_allocator_owner_get(a) != s->c->pool) {
        return;
    }
    apr_allocator_max_free_set(a, 1);
    /* Each round takes a kept block (or a new one) and, over the new
     * limit, frees it for good. */
    for (i = 0; i < 2; i++) {
        apr_memnode_t *m = apr_allocator_alloc(a, 1);

        if (m) {
            apr_allocator_free(a, m);
        }
    }
}

static void stream_adopt(park_stream *s)
{
    park_channel *ch = loop_usable ? channel_get(s->sub.slot) : NULL;

    if (!ch || epoll_set(EPOLL_CTL_ADD, s->fd, stream_events(s), s) != 0) {
        /* Stopping (or out of descriptors): end it as a stopping server
         * does, the client reconnects elsewhere. */
        s->ended = 2;
        s->next = loop->reap;
        loop->reap = s;
        return;
    }
    stream_trim(s);
    s->chan = ch;
    s->chan_next = ch->streams;
    if (ch->streams) {
        ch->streams->chan_prev = s;
    }
    ch->streams = s;
    timer_touch(s, apr_time_now());
    /* Whatever came in since the handler last looked. */
    stream_deliver(s);
}

/* No more messages for the stream. */
static void stream_detach(park_stream *s)
{
    park_channel *ch = s->chan;

    if (!ch) {
        return;
    }
    if (s->chan_prev) s->chan_prev->chan_next = s->chan_next;
    else ch->streams = s->chan_next;
    if (s->chan_next) s->chan_next->chan_prev = s->chan_prev;
    s->chan = NULL;
    s->chan_prev = s->chan_next = NULL;
    if (!ch->streams) {
        channel_release(ch);
    }
}

static void stream_end(park_stream *s, int how)
{
    if (s->ended) {
        return;
    }
    s->ended = how;
    stream_detach(s);
    timer_unlink(s);
    epoll_ctl(loop->epfd, EPOLL_CTL_DEL, s->fd, NULL);
    s->next = loop->reap;
    loop->reap = s;
}

/* A WebSocket's Close (channel deleted, server stopping): no more
 * messages, and the client's Close is awaited a little. */
static void stream_ws_close(park_stream *s, int gone)
{
    stream_detach(s);
    push_ws_park_close(s->ws, gone);
    if (s->ended) {
        return;
    }
    timer_unlink(s);
    s->ping_every = PARK_WS_CLOSE_WAIT;
    timer_touch(s, apr_time_now());
}

/* What a WebSocket client sent, read until the socket has no more. */
static void stream_ws_read(park_stream *s, apr_uint32_t events)
{
    unsigned char buf[16384];
    int got = 0;

    while (!s->ended) {
        apr_size_t len = sizeof(buf);
        apr_status_t rv = apr_socket_recv(s->sock, (char *)buf, &len);

        if (len > 0) {
            got = 1;
            if (push_ws_park_input(s->ws, buf, len)) {
                stream_end(s, 2);   /* Close exchanged, or refused */
                return;
            }
        }
        if (APR_STATUS_IS_EAGAIN(rv)) {
            break;
        }
        if (rv != APR_SUCCESS || len == 0) {
            stream_end(s, 1);
            return;
        }
    }
    if (!s->ended && !got
        && (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))) {
        stream_end(s, 1);
    }
}

/* What the MPM does at the end of a connection, for one we hold. */
static void stream_finish(park_stream *s)
{
    request_rec *r = s->r;
    conn_rec *c = s->c;

    push_store_unsubscribe(push_get_store(), &s->sub);
    if (s->ended == 2 && !s->pending && s->chunked) {
        /* The last chunk: the response is complete, not cut off. */
        apr_size_t len = 5;

        apr_socket_send(s->sock, "0" CRLF CRLF, &len);
    }
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, "event stream on channel "
                  "%s ended (%s) after %lu messages (parked)", s->channel,
                  s->ended == 1 ? "client went away" : "server side",
                  s->delivered);
    if (s->ended == 1) {
        c->aborted = 1;
    }
    c->keepalive = AP_CONN_CLOSE;
    /* Logs the request and frees its pool. */
    ap_process_request_after_handler(r);
    /* The MPM counts a suspended connection until its pool goes. */
    if (c->cs) {
        c->cs->state = CONN_STATE_SUSPENDED;
    }
    /* Whatever the client sent is read first: closing on unread bytes
     * would reset the connection and could cut off the last event. */
    for (;;) {
        char sink[2048];
        apr_size_t len = sizeof(sink);

        if (apr_socket_recv(s->sock, sink, &len) != APR_SUCCESS || !len) {
            break;
        }
    }
    apr_socket_shutdown(s->sock, APR_SHUTDOWN_WRITE);
    apr_pool_destroy(c->pool);
    free(s->pending);
    free(s);
    apr_atomic_dec32(&loop->parked);
}

/* Finishes the ended streams parked long enough ago; the time until
 * the next one may be finished, or -1. */
static apr_interval_time_t reap(apr_time_t now)
{
    park_stream **pp = &loop->reap, *s;
    apr_interval_time_t wait = -1;

    while ((s = *pp) != NULL) {
        if (now - s->parked_at >= PARK_REAP_GRACE) {
            *pp = s->next;
            stream_finish(s);
        }
        else {
            apr_interval_time_t left = s->parked_at + PARK_REAP_GRACE - now;

            if (wait < 0 || left < wait) {
                wait = left;
            }
            pp = &s->next;
        }
    }
    return wait;
}

/* ------------------------------------------------------------------ */
/* The loop                                                             */

static void channel_fired(park_channel *ch)
{
    park_stream *s, *next;

    /* Out of the set before the generation may be closed. */
    epoll_ctl(loop->epfd, EPOLL_CTL_DEL, ch->fd, NULL);
    ch->fd = -1;
    ch->gen = push_wait_rewatch(ch->slot, ch->gen);
    if (!ch->gen) {
        /* The server is stopping or restarting: the clients reconnect
         * (with Last-Event-ID) to a live process and lose nothing. */
        for (s = ch->streams; s; s = next) {
            next = s->chan_next;
            if (s->ws) {
                stream_ws_close(s, 0);
            }
            else {
                stream_end(s, 2);
            }
        }
        return;
    }
    ch->fd = push_wait_fd(ch->gen);
    epoll_set(EPOLL_CTL_ADD, ch->fd, EPOLLIN, ch);
    for (s = ch->streams; s; s = next) {
        next = s->chan_next;   /* s may end */
        stream_deliver(s);
    }
}

static void stream_event(park_stream *s, apr_uint32_t events)
{
    if (s->ended) {
        return;
    }
    if ((events & EPOLLOUT) && s->pending) {
        stream_drain(s);
    }
    if (s->ws && (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))) {
        stream_ws_read(s, events);
    }
    else if (!s->ended && (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))) {
        stream_end(s, 1);
    }
}

/* Pings the streams that have been quiet for their interval; the time
 * until the next one is due, or -1. */
static apr_interval_time_t ping_due(apr_time_t now)
{
    apr_interval_time_t wait = -1;
    park_timer *t;

    for (t = loop->timers; t; t = t->next) {
        park_stream *s;

        while ((s = t->head) != NULL && s->ping_at <= now) {
            if (s->ws && push_ws_park_closing(s->ws)) {
                stream_end(s, 2);      /* no Close from the client */
            }
            else if (s->ws) {
                timer_touch(s, now);
                if (push_ws_park_ping(s->ws)) {
                    stream_end(s, 2);
                }
            }
            else if (s->pending) {
                timer_touch(s, now);   /* not idle: still writing */
            }
            else {
                stream_send1(s, ": ping\n\n", 8);
            }
        }
        if (s && (wait < 0 || s->ping_at - now < wait)) {
            wait = s->ping_at - now;
        }
    }
    return wait;
}

static void adopt_incoming(void)
{
    park_stream *s, *next;
    apr_uint64_t count;

    if (read(loop->wakefd, &count, sizeof(count)) < 0 && errno != EAGAIN) {
        return;
    }
    pthread_mutex_lock(&loop->lock);
    s = loop->incoming;
    loop->incoming = NULL;
    pthread_mutex_unlock(&loop->lock);
    for (; s; s = next) {
        next = s->next;
        s->next = NULL;
        stream_adopt(s);
    }
}

static void *loop_main(void *arg)
{
    struct epoll_event evs[256];

    (void)arg;
    for (;;) {
        apr_time_t now = apr_time_now();
        apr_interval_time_t wait = ping_due(now), w2 = reap(now);
        int i, n, quit, timeout_ms;

        if (w2 >= 0 && (wait < 0 || w2 < wait)) {
            wait = w2;
        }
        apr_pool_clear(loop->scratch);
        pthread_mutex_lock(&loop->lock);
        quit = loop->quit;
        pthread_mutex_unlock(&loop->lock);
        if (quit) {
            break;
        }
        timeout_ms = wait < 0 ? -1 : (int)((wait + 999) / 1000);
        n = epoll_wait(loop->epfd, evs, 256, timeout_ms);
        for (i = 0; i < n; i++) {
            int kind = *(int *)evs[i].data.ptr;

            if (kind == PARK_WAKE) {
                adopt_incoming();
            }
            else if (kind == PARK_CHANNEL) {
                park_channel *ch = evs[i].data.ptr;

                if (ch->gen) {   /* not released earlier in this batch */
                    channel_fired(ch);
                }
            }
            else {
                stream_event(evs[i].data.ptr, evs[i].events);
            }
        }
        while (loop->dead_chans) {
            park_channel *ch = loop->dead_chans;

            loop->dead_chans = ch->next_dead;
            free(ch);
        }
    }
    return NULL;
}

/* ------------------------------------------------------------------ */
/* Handing over (worker threads)                                        */

/* Body filters that may stay above the connection while bytes bypass
 * them: they have nothing left to do once the headers are out. */
static int filters_bypassable(request_rec *r)
{
    static const char *const ok[] = {
        "chunk", "http_outerror", "byterange", "content_length",
        "http_header", "log_input_output", "core", NULL
    };
    ap_filter_t *f;

    for (f = r->output_filters; f; f = f->next) {
        int i;

        for (i = 0; ok[i] && strcasecmp(ok[i], f->frec->name); i++)
            ;
        if (!ok[i]) {
            return 0;
        }
    }
    return 1;
}

static int park_hand_over(request_rec *r, const push_dir_conf *conf,
                          const char *channel, const push_sub_t *sub,
                          const push_msgid_t *cursor, int has_cursor,
                          const push_wait_hint_t *hint, void *ws)
{
    conn_rec *c = r->connection;
    apr_socket_t *sock = ap_get_conn_socket(c);
    apr_os_sock_t fd;
    park_stream *s;

    if (!loop || !loop_usable || c->master || !c->cs || c->aborted
        || r->main || r->prev || !sock || apr_os_sock_get(&fd, sock) != APR_SUCCESS
        || ap_ssl_conn_is_ssl(c) || !filters_bypassable(r)
        || ap_get_module_config(c->conn_config, &push_module)) {
        return 0;
    }
    if (!(s = calloc(1, sizeof(*s)))) {
        return 0;
    }
    s->kind = PARK_STREAM;
    s->r = r;
    s->c = c;
    s->sock = sock;
    s->fd = fd;
    s->channel = apr_pstrdup(r->pool, channel);
    s->sub = *sub;
    s->has_cursor = has_cursor;
    if (has_cursor) {
        s->cursor = *cursor;
    }
    if (hint) {
        s->hint = *hint;
    }
    s->chunked = ws ? 0 : r->chunked;
    s->ws = ws;
    if (ws) {
        push_ws_park_attach(ws, ws_park_send, s);
    }
    s->ping_every = apr_time_from_sec(push_conf_ping_interval(conf));
    apr_socket_timeout_set(sock, 0);
    /* Handed to the loop by push_park_suspended, once the MPM has let
     * go of the connection. */
    ap_set_module_config(c->conn_config, &push_module, s);
    /* It holds no thread: its place is for the next subscriber. */
    push_subscriber_leave();
    apr_atomic_inc32(&loop->parked);
    return 1;
}

int push_park_sse(request_rec *r, const push_dir_conf *conf,
                  const char *channel, const push_sub_t *sub,
                  const push_msgid_t *cursor, int has_cursor,
                  const push_wait_hint_t *hint)
{
    return park_hand_over(r, conf, channel, sub, cursor, has_cursor, hint,
                          NULL);
}

int push_park_ws(request_rec *r, const push_dir_conf *conf,
                 const char *channel, const push_sub_t *sub,
                 const push_msgid_t *cursor, int has_cursor,
                 const push_wait_hint_t *hint, void *ws)
{
    return park_hand_over(r, conf, channel, sub, cursor, has_cursor, hint,
                          ws);
}

/* suspend_connection hook: the MPM is done with the connection. */
static void push_park_suspended(conn_rec *c, request_rec *r)
{
    park_stream *s = ap_get_module_config(c->conn_config, &push_module);
    apr_uint64_t one = 1;

    (void)r;
    if (!s || !loop) {
        return;
    }
    ap_set_module_config(c->conn_config, &push_module, NULL);
    s->parked_at = apr_time_now();
    pthread_mutex_lock(&loop->lock);
    s->next = loop->incoming;
    loop->incoming = s;
    pthread_mutex_unlock(&loop->lock);
    if (write(loop->wakefd, &one, sizeof(one)) < 0) {
        /* eventfd cannot be full here; nothing else to do */
    }
}

unsigned push_park_count(void)
{
    return loop ? apr_atomic_read32(&loop->parked) : 0;
}

/* Wakes the loop for good; its streams end at their channels' wake-ups
 * (push_notify_shutdown fires them all). */
static apr_status_t park_loop_stop(void *data)
{
    apr_uint64_t one = 1;

    (void)data;
    pthread_mutex_lock(&loop->lock);
    loop->quit = 1;
    pthread_mutex_unlock(&loop->lock);
    if (write(loop->wakefd, &one, sizeof(one)) < 0) {
        /* nothing to do */
    }
    pthread_join(loop->thread, NULL);
    loop_usable = 0;
    return APR_SUCCESS;
}

void push_park_child_init(apr_pool_t *pchild, server_rec *s)
{
    push_store_stats_t st;
    int async = 0;
    sigset_t all, old;
    int rv;

    if (ap_mpm_query(AP_MPMQ_IS_ASYNC, &async) != APR_SUCCESS || !async
        || !push_get_store()) {
        return;
    }
    logio_add_bytes_out = APR_RETRIEVE_OPTIONAL_FN(ap_logio_add_bytes_out);
    push_store_stats(push_get_store(), 0, &st);
    loop = apr_pcalloc(pchild, sizeof(*loop));
    loop->kind = PARK_WAKE;
    loop->nslots = st.channel_slots;
    loop->chans = apr_pcalloc(pchild, sizeof(*loop->chans) * loop->nslots);
    loop->epfd = epoll_create1(EPOLL_CLOEXEC);
    loop->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    apr_pool_create(&loop->scratch, pchild);
    apr_pool_tag(loop->scratch, "push_park_scratch");
    if (loop->epfd < 0 || loop->wakefd < 0
        || pthread_mutex_init(&loop->lock, NULL) != 0
        || epoll_set(EPOLL_CTL_ADD, loop->wakefd, EPOLLIN, loop) != 0) {
        ap_log_error(APLOG_MARK, APLOG_ERR, errno, s, "cannot set up the "
                     "push stream loop: event streams keep their threads");
        loop = NULL;
        return;
    }
    loop_usable = 1;
    /* httpd's signals must reach the MPM's own threads, not this one. */
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    rv = pthread_create(&loop->thread, NULL, loop_main, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rv != 0) {
        loop_usable = 0;
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, s, "cannot start the push "
                     "stream loop: event streams keep their threads");
        loop = NULL;
        return;
    }
    apr_pool_cleanup_register(pchild, NULL, park_loop_stop,
                              apr_pool_cleanup_null);
}

void push_park_register_hooks(void)
{
    ap_hook_suspend_connection(push_park_suspended, NULL, NULL,
                               APR_HOOK_MIDDLE);
}
