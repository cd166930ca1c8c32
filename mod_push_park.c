/* mod_push_park.c — subscribers that give their worker thread back.
 *
 * Under the event MPM a subscriber on a plain HTTP/1.x connection need
 * not hold a thread while it waits.  Its handler hands the connection to
 * this process's stream loop and returns SUSPENDED:
 *   - an event stream or a WebSocket once its headers (or 101) are out;
 *   - a long poll that found nothing to answer yet.
 * The loop is one thread with an epoll set holding one wake-up
 * registration per channel (push_notify), however many subscribers of
 * this process follow it, and every connection it holds.
 *
 * Event streams and WebSockets are written by the loop itself: when a
 * channel changes it writes the message's event or frame, built once per
 * process by the frame cache, to each stream without blocking.  What a
 * WebSocket client sends is read here too and handed to mod_push_ws.c's
 * frame handling (pongs, Close, publishing).  A stream whose socket is
 * full keeps its cursor and the unsent rest of one event, and catches up
 * from the store when the socket drains: a slow client delays nobody.
 * Keep-alive comments are due PushPingInterval after a stream's last
 * write.
 *
 * A long poll's answer is an ordinary HTTP response, and after it the
 * connection is kept alive for the client's next poll.  httpd 2.4 has no
 * call that gives a suspended connection back to the MPM, so the loop
 * keeps it and does, for these connections, what the event MPM does for
 * its own: it waits for the next request (KeepAliveTimeout), for room to
 * write the rest of a response (Timeout), or for the client to finish a
 * lingering close.  Whatever runs httpd's hooks and filters (a long
 * poll's answer, the next request) runs on the MPM's worker threads, a
 * few at a time, reached with ap_mpm_register_timed_callback; the loop
 * only watches.
 *
 * A connection that ends here is finished the way the MPM would: its
 * request (if any) is logged through its EOR bucket, and the
 * connection's pool, with the socket, is destroyed.
 *
 * TLS, HTTP/2, and the worker and prefork MPMs keep the thread-per-
 * subscriber loops of mod_push.c, mod_push_sse.c and mod_push_ws.c.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
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
#include "scoreboard.h"

#include "mod_push.h"
#include "mod_push_http.h"
#include "lib/push_sse.h"

APLOG_USE_MODULE(push);

extern module AP_MODULE_DECLARE_DATA push_module;

/* A connection that ends right after the MPM suspended it is finished a
 * little later: the worker that suspended it may still be returning
 * through the MPM, which touches the connection once more after the
 * suspend_connection hook. */
#define PARK_REAP_GRACE  apr_time_from_msec(200)
/* How long a WebSocket that sent its Close waits for the client's
 * (RFC 6455 7.1.1), as the threaded loop does. */
#define PARK_WS_CLOSE_WAIT apr_time_from_sec(2)
/* What a stream may hold unsent (one event, or a few control frames
 * queued behind it) before the client counts as gone. */
#define PARK_PENDING_MAX (64 * 1024 * 1024)
/* A lingering close reads what the client still sends for this long
 * (the event MPM's own figure). */
#define PARK_LINGER_TIME apr_time_from_sec(2)
/* Worker threads one child's loop uses at once.  Enough to keep both
 * cores of a small machine busy; few enough that a hook that blocks
 * does not take the MPM's threads from its other connections. */
#define PARK_WORKERS 4
/* How long a worker with nothing to do waits for more before it goes
 * back to the MPM: polls come back in a stream while a message fans out,
 * and taking a thread from the MPM costs more than keeping it a little. */
#define PARK_WORKER_LINGER_MS 25
/* How much of a request head the loop looks at before handing the
 * request to a worker; a longer head is handed over unseen. */
#define PARK_HEAD_PEEK 8192
/* A long poll's answer up to this size is written by the loop itself,
 * through the request's filters: they are all ones that neither block
 * nor hold data back (filters_bypassable), and the core output filter
 * sets aside, without blocking, what the socket does not take.  Larger
 * answers go to a worker, which may wait for the client. */
#define PARK_INLINE_ANSWER_MAX (16 * 1024)

/* epoll tags */
enum { PARK_WAKE, PARK_CHANNEL, PARK_CONN };

/* What a held connection waits for. */
typedef enum {
    PM_STREAM,      /* event stream or WebSocket: its channel, pings */
    PM_LONGPOLL,    /* long poll: its channel, PushLongPollTimeout */
    PM_KEEPALIVE,   /* the next request, KeepAliveTimeout */
    PM_FLUSH,       /* room for the rest of a response, Timeout */
    PM_LINGER,      /* the client's end of a closing connection */
    PM_WORKER       /* a worker thread: queued, or running */
} park_mode;

/* What a worker is to do with a connection. */
typedef enum {
    JOB_REQUEST,    /* a request came in: process it */
    JOB_FLUSH,      /* the socket has room: write the rest */
    JOB_LP_LOOK,    /* the long poll's channel has something for it */
    JOB_LP_TIMEOUT, /* the long poll waited PushLongPollTimeout */
    JOB_LP_STOP     /* the server is stopping: 304 and close */
} park_job;

typedef struct park_channel park_channel;
typedef struct park_timer   park_timer;
typedef struct park_conn    park_conn;

struct park_conn {
    int                 kind;           /* PARK_CONN: epoll tag */
    park_mode           mode;
    park_job            job;
    int                 handing;        /* a handler parked it; the
                                         * suspend hook hands it over */
    conn_rec           *c;
    apr_socket_t       *sock;
    int                 fd;
    int                 in_epoll;
    int                 forget;         /* another module's connection now */

    /* The subscription (PM_STREAM, PM_LONGPOLL); r is NULL between
     * requests. */
    request_rec        *r;
    const char         *channel;        /* in r->pool */
    push_sub_t          sub;
    int                 subscribed;
    push_msgid_t        cursor;
    int                 has_cursor;
    push_msgid_t        idle_cursor;    /* a long poll's 304 says this */
    push_wait_hint_t    hint;
    int                 chunked;        /* HTTP/1.1 chunked body */
    int                 inline_ok;      /* the loop may answer it */
    void               *ws;             /* a WebSocket's state, or NULL */
    apr_interval_time_t ping_every;
    apr_interval_time_t lp_timeout;

    park_channel       *chan;
    park_conn          *chan_prev, *chan_next;

    /* One deadline at a time: the next ping, the wait for a Close, the
     * long poll's timeout, the keep-alive, write or linger time. */
    park_timer         *timer;
    park_conn          *t_prev, *t_next;
    apr_time_t          due;
    int                 head_started;   /* part of a request head is in */

    char               *pending;        /* unsent rest of one write */
    apr_size_t          pending_len, pending_off;
    int                 want_out;       /* EPOLLOUT registered */

    apr_time_t          parked_at;
    unsigned long       delivered;
    int                 ended;          /* 1 client gone, 2 server side */
    park_conn          *next;           /* incoming, work or reap list */
};

struct park_channel {
    int                 kind;           /* PARK_CHANNEL */
    apr_uint32_t        slot;
    push_notify_gen_t  *gen;
    int                 fd;             /* in the epoll set, or -1 */
    park_conn          *conns;
    park_channel       *next_dead;
};

/* The connections due after the same interval, in due order. */
struct park_timer {
    apr_interval_time_t every;
    park_conn          *head, *tail;
    park_timer         *next;
};

typedef struct {
    int                 kind;           /* PARK_WAKE */
    int                 epfd, wakefd;
    pthread_t           thread;
    pthread_mutex_t     lock;           /* incoming, work, workers */
    park_conn          *incoming;       /* handed over, not yet adopted */
    park_conn          *work, *work_tail;   /* for the workers */
    int                 workers;        /* callbacks registered or running */
    int                 idle_workers;   /* of those, waiting for work */
    pthread_cond_t      work_cond;      /* work for an idle worker */
    int                 quit;
    apr_uint32_t        stopping;       /* the child is stopping */
    apr_uint32_t        abandon;        /* ... at once: touch nothing */
    int                 stop_seen;
    apr_uint32_t        nslots;
    park_channel      **chans;          /* by store slot */
    park_timer         *timers;
    park_conn          *reap;           /* ended, to finish */
    park_channel       *dead_chans;     /* freed after the epoll batch */
    apr_pool_t         *scratch;        /* frames built here; cleared */
    apr_pool_t         *pchild;         /* scoreboard handles (locked) */
    apr_uint32_t        parked;         /* subscribers held (atomic) */
    apr_uint32_t        conns;          /* connections held (atomic) */
} park_loop;

static park_loop *loop;
static int loop_usable;
static APR_OPTIONAL_FN_TYPE(ap_logio_add_bytes_out) *logio_add_bytes_out;

/* ------------------------------------------------------------------ */
/* Lists                                                                */

static void timer_unlink(park_conn *s)
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

/* The connection is due `every` from now, after every other one with
 * the same interval; none when every is 0. */
static void timer_arm(park_conn *s, apr_interval_time_t every,
                      apr_time_t now)
{
    park_timer *t;

    timer_unlink(s);
    if (every <= 0) {
        return;
    }
    for (t = loop->timers; t && t->every != every; t = t->next)
        ;
    if (!t) {
        if (!(t = calloc(1, sizeof(*t)))) {
            return;
        }
        t->every = every;
        t->next = loop->timers;
        loop->timers = t;
    }
    s->timer = t;
    s->due = now + every;
    s->t_prev = t->tail;
    s->t_next = NULL;
    if (t->tail) t->tail->t_next = s; else t->head = s;
    t->tail = s;
}

/* A stream wrote just now: its ping is one interval away again. */
static void timer_touch(park_conn *s, apr_time_t now)
{
    if (s->timer) {
        timer_arm(s, s->timer->every, now);
    }
}

static int epoll_set(int op, int fd, apr_uint32_t events, void *tag)
{
    struct epoll_event ev;

    memset(&ev, 0, sizeof(ev));
    ev.events = events;
    ev.data.ptr = tag;
    return epoll_ctl(loop->epfd, op, fd, &ev);
}

/* What the loop waits for on the connection.  Outside PM_STREAM the
 * registration is one-shot: it disarms itself when it fires, so handing
 * the connection to a worker costs no epoll call, and the next mode
 * re-arms it with one. */
static int conn_watch(park_conn *s, apr_uint32_t events)
{
    int rv = epoll_set(s->in_epoll ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, s->fd,
                       events, s);

    if (rv == 0) {
        s->in_epoll = 1;
    }
    return rv;
}

static void conn_unwatch(park_conn *s)
{
    if (s->in_epoll) {
        epoll_ctl(loop->epfd, EPOLL_CTL_DEL, s->fd, NULL);
        s->in_epoll = 0;
        s->want_out = 0;
    }
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
    /* Registered before any subscriber looks in the store: a publish
     * after the look is sure to fire it. */
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

static int channel_join(park_conn *s)
{
    park_channel *ch = loop_usable ? channel_get(s->sub.slot) : NULL;

    if (!ch) {
        return 0;
    }
    s->chan = ch;
    s->chan_prev = NULL;
    s->chan_next = ch->conns;
    if (ch->conns) {
        ch->conns->chan_prev = s;
    }
    ch->conns = s;
    return 1;
}

/* No more messages for the subscriber. */
static void channel_leave(park_conn *s)
{
    park_channel *ch = s->chan;

    if (!ch) {
        return;
    }
    if (s->chan_prev) s->chan_prev->chan_next = s->chan_next;
    else ch->conns = s->chan_next;
    if (s->chan_next) s->chan_next->chan_prev = s->chan_prev;
    s->chan = NULL;
    s->chan_prev = s->chan_next = NULL;
    if (!ch->conns) {
        channel_release(ch);
    }
}

/* ------------------------------------------------------------------ */
/* Writing an event stream or WebSocket                                 */

static void conn_end(park_conn *s, int how);
static void stream_ws_close(park_conn *s, int gone);
static int  stream_send(park_conn *s, const struct iovec *bufs, int nbufs);

/* A WebSocket is read as well; an event stream only watched for a
 * hang-up (what a client sends it is not a hang-up). */
static apr_uint32_t stream_events(const park_conn *s)
{
    return s->ws ? EPOLLIN | EPOLLRDHUP : EPOLLRDHUP;
}

/* For mod_push_ws.c: one frame, header and payload. */
static int ws_park_send(void *park, const void *hdr, apr_size_t hlen,
                        const void *payload, apr_size_t plen)
{
    park_conn *s = park;
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

/* Appends bufs, from byte `skip` of their concatenation on, to what the
 * stream has waiting; -1 over PARK_PENDING_MAX or out of memory. */
static int pending_add(park_conn *s, const struct iovec *vec, int n,
                       apr_size_t skip)
{
    apr_size_t have = s->pending ? s->pending_len - s->pending_off : 0;
    apr_size_t more = 0;
    char *buf;
    int i;

    for (i = 0; i < n; i++) {
        more += vec[i].iov_len;
    }
    more -= skip;
    if (have + more > PARK_PENDING_MAX || !(buf = malloc(have + more))) {
        return -1;
    }
    if (have) {
        memcpy(buf, s->pending + s->pending_off, have);
    }
    for (i = 0; i < n; i++) {
        apr_size_t len = vec[i].iov_len;

        if (skip >= len) {
            skip -= len;
            continue;
        }
        memcpy(buf + have, (char *)vec[i].iov_base + skip, len - skip);
        have += len - skip;
        skip = 0;
    }
    free(s->pending);
    s->pending = buf;
    s->pending_len = have;
    s->pending_off = 0;
    return 0;
}

/* Sends bufs as one piece of the body (one chunk when chunked) without
 * blocking.  0 when all went out, 1 when the rest waits for the socket
 * to drain, -1 when the client is gone (the stream is ended). */
static int stream_send(park_conn *s, const struct iovec *bufs, int nbufs)
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
        vec[n++].iov_len = apr_snprintf(head, sizeof(head),
                                        "%" APR_UINT64_T_HEX_FMT CRLF,
                                        (apr_uint64_t)body);
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
        if (pending_add(s, vec, n, 0) != 0) {
            conn_end(s, 1);
            return -1;
        }
        s->r->bytes_sent += body;
        return 1;
    }
    rv = apr_socket_sendv(s->sock, vec, n, &sent);
    if (rv != APR_SUCCESS && !APR_STATUS_IS_EAGAIN(rv)) {
        conn_end(s, 1);
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
    if (pending_add(s, vec, n, sent) != 0) {
        conn_end(s, 1);
        return -1;
    }
    if (!s->want_out) {
        s->want_out = 1;
        conn_watch(s, stream_events(s) | EPOLLOUT);
    }
    return 1;
}

static int stream_send1(park_conn *s, const void *data, apr_size_t len)
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
static void stream_deliver(park_conn *s)
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
                conn_end(s, 2);
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
static void stream_drain(park_conn *s)
{
    apr_size_t len = s->pending_len - s->pending_off;
    apr_status_t rv = apr_socket_send(s->sock, s->pending + s->pending_off,
                                      &len);

    if (rv != APR_SUCCESS && !APR_STATUS_IS_EAGAIN(rv)) {
        conn_end(s, 1);
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
    conn_watch(s, stream_events(s));
    if (s->chan) {
        stream_deliver(s);
    }
}

/* A WebSocket's Close (channel deleted, server stopping): no more
 * messages, and the client's Close is awaited a little. */
static void stream_ws_close(park_conn *s, int gone)
{
    channel_leave(s);
    push_ws_park_close(s->ws, gone);
    if (!s->ended) {
        timer_arm(s, PARK_WS_CLOSE_WAIT, apr_time_now());
    }
}

/* What a WebSocket client sent, read until the socket has no more. */
static void stream_ws_read(park_conn *s, apr_uint32_t events)
{
    unsigned char buf[16384];
    int got = 0;

    while (!s->ended) {
        apr_size_t len = sizeof(buf);
        apr_status_t rv = apr_socket_recv(s->sock, (char *)buf, &len);

        if (len > 0) {
            got = 1;
            if (push_ws_park_input(s->ws, buf, len)) {
                conn_end(s, 2);   /* Close exchanged, or refused */
                return;
            }
        }
        if (APR_STATUS_IS_EAGAIN(rv)) {
            break;
        }
        if (rv != APR_SUCCESS || len == 0) {
            conn_end(s, 1);
            return;
        }
    }
    if (!s->ended && !got
        && (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))) {
        conn_end(s, 1);
    }
}

/* ------------------------------------------------------------------ */
/* Worker threads                                                       */

/* The scoreboard entry of the worker thread running this, so what it
 * does for a held connection shows (and counts) under its own name;
 * NULL when it cannot be found. */
static ap_sb_handle_t *worker_sbh(void)
{
    static __thread ap_sb_handle_t *mine;
    apr_proc_t me;
    int child, i, threads = 0;
    pthread_t self = pthread_self();

    if (mine) {
        return mine;
    }
    me.pid = getpid();
    if ((child = ap_find_child_by_pid(&me)) < 0
        || ap_mpm_query(AP_MPMQ_HARD_LIMIT_THREADS, &threads) != APR_SUCCESS) {
        return NULL;
    }
    for (i = 0; i < threads; i++) {
        worker_score *ws = ap_get_scoreboard_worker_from_indexes(child, i);

        if (ws && pthread_equal(ws->tid, self)) {
            pthread_mutex_lock(&loop->lock);
            ap_create_sb_handle(&mine, loop->pchild, child, i);
            pthread_mutex_unlock(&loop->lock);
            break;
        }
    }
    return mine;
}

/* Gives a connection (back) to the loop, in the mode it is set to. */
static void loop_take(park_conn *s)
{
    apr_uint64_t one = 1;
    int first;

    pthread_mutex_lock(&loop->lock);
    first = !loop->incoming;
    s->next = loop->incoming;
    loop->incoming = s;
    pthread_mutex_unlock(&loop->lock);
    /* One wake-up for a batch: the loop takes the whole list. */
    if (first && write(loop->wakefd, &one, sizeof(one)) < 0) {
        /* an eventfd is never full here */
    }
}

/* Back to the loop between requests, or for the rest of a response. */
static void worker_release(park_conn *s, park_mode mode)
{
    conn_rec *c = s->c;

    s->mode = mode;
    ap_set_module_config(c->conn_config, &push_module, NULL);
    /* The MPM's way for a connection no thread runs (notify_suspend). */
    c->sbh = NULL;
    apr_socket_timeout_set(s->sock, 0);
    loop_take(s);
}

static apr_status_t flush_output(conn_rec *c)
{
    ap_filter_t *f = c->output_filters;

    while (f->next) {
        f = f->next;
    }
    /* The core output filter: a NULL brigade writes what it holds,
     * without blocking. */
    return f->frec->filter_func.out_func(f, NULL);
}

/* After a request, what the event MPM does in process_socket: flush,
 * then keep the connection alive, or close it.  The mode it waits in
 * next; PM_WORKER when a pipelined request is already in. */
static park_mode after_request(conn_rec *c)
{
    if (c->cs->state != CONN_STATE_WRITE_COMPLETION
        || flush_output(c) != APR_SUCCESS) {
        return PM_LINGER;
    }
    if (c->data_in_output_filters) {
        return PM_FLUSH;
    }
    if (c->keepalive != AP_CONN_KEEPALIVE || c->aborted
        || apr_atomic_read32(&loop->stopping)) {
        return PM_LINGER;
    }
    return c->data_in_input_filters ? PM_WORKER : PM_KEEPALIVE;
}

/* On a worker, after a request (or a long poll's answer). */
static void worker_continue(park_conn *s)
{
    conn_rec *c = s->c;
    park_mode next;

    while (c->cs->state != CONN_STATE_SUSPENDED) {
        if ((next = after_request(c)) != PM_WORKER) {
            worker_release(s, next);
            return;
        }
        /* A pipelined request: run it here. */
        c->cs->state = CONN_STATE_PROCESSING;
        ap_run_process_connection(c);
    }
    /* A handler parked it again (or another module took it): tell the
     * suspend hooks, as the MPM would; ours gives it to the loop. */
    c->sbh = NULL;
    if (!s->handing) {
        /* Not ours any more: out of the loop's set now, and the record
         * goes back for the loop to free (an event for it may still be
         * in the loop's hands). */
        ap_set_module_config(c->conn_config, &push_module, NULL);
        conn_unwatch(s);
        s->forget = 1;
        loop_take(s);
    }
    ap_run_suspend_connection(c, NULL);
}

static push_resume_e resume_why(park_job job)
{
    return job == JOB_LP_LOOK ? PUSH_RESUME_LOOK
           : job == JOB_LP_TIMEOUT ? PUSH_RESUME_TIMEOUT : PUSH_RESUME_STOP;
}

/* A long poll was answered (rc from push_longpoll_resume): the
 * subscription ends, and so does the request. */
static void longpoll_end(park_conn *s, int rc)
{
    request_rec *r = s->r;

    push_store_unsubscribe(push_get_store(), &s->sub);
    s->subscribed = 0;
    s->r = NULL;
    apr_atomic_dec32(&loop->parked);
    ap_die(rc, r);
    /* Logs the request and frees its pool; the connection state says
     * what comes next. */
    ap_process_request_after_handler(r);
}

static void worker_run(park_conn *s, ap_sb_handle_t *sbh)
{
    conn_rec *c = s->c;
    request_rec *r;
    int rc;

    c->sbh = sbh;
    apr_socket_timeout_set(s->sock, c->base_server->timeout);
    /* A handler that parks the connection again reuses this record. */
    ap_set_module_config(c->conn_config, &push_module, s);
    s->handing = 0;
    switch (s->job) {
    case JOB_REQUEST:
        ap_update_child_status_from_conn(sbh, SERVER_BUSY_READ, c);
        c->cs->state = CONN_STATE_PROCESSING;
        ap_run_process_connection(c);
        break;
    case JOB_FLUSH:
        ap_update_child_status(sbh, SERVER_BUSY_WRITE, NULL);
        c->cs->state = CONN_STATE_WRITE_COMPLETION;
        break;
    default:
        r = s->r;
        ap_update_child_status(sbh, SERVER_BUSY_WRITE, r);
        rc = push_longpoll_resume(r, s->channel, &s->sub,
                                  s->has_cursor ? &s->cursor : NULL,
                                  &s->idle_cursor, resume_why(s->job));
        if (rc == SUSPENDED) {
            /* Nothing for it after all (the message went meanwhile). */
            worker_release(s, PM_LONGPOLL);
            return;
        }
        longpoll_end(s, rc);
        break;
    }
    worker_continue(s);
}

/* The next connection of the work queue, waiting a little for one;
 * NULL when the worker should go back to the MPM.  Called locked. */
static park_conn *work_next(void)
{
    park_conn *s;
    int waited = 0;

    while (!(s = loop->work)) {
        struct timespec until;

        if (waited || loop->quit || apr_atomic_read32(&loop->abandon)) {
            return NULL;
        }
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_nsec += PARK_WORKER_LINGER_MS * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        loop->idle_workers++;
        waited = pthread_cond_timedwait(&loop->work_cond, &loop->lock,
                                        &until) == ETIMEDOUT;
        loop->idle_workers--;
    }
    loop->work = s->next;
    if (!loop->work) {
        loop->work_tail = NULL;
    }
    s->next = NULL;
    return s;
}

/* A timed callback of the MPM: runs connections from the work queue
 * until it stays empty. */
static void worker_drain(void *baton)
{
    ap_sb_handle_t *sbh = worker_sbh();

    (void)baton;
    for (;;) {
        park_conn *s;

        pthread_mutex_lock(&loop->lock);
        if (!(s = work_next())) {
            loop->workers--;
        }
        pthread_mutex_unlock(&loop->lock);
        if (!s) {
            break;
        }
        worker_run(s, sbh);
    }
}

/* Loop side: the connection goes to a worker. */
static void work_add(park_conn *s, park_job job)
{
    channel_leave(s);
    timer_unlink(s);
    s->mode = PM_WORKER;
    s->job = job;
    s->next = NULL;
    pthread_mutex_lock(&loop->lock);
    if (loop->work_tail) {
        loop->work_tail->next = s;
    }
    else {
        loop->work = s;
    }
    loop->work_tail = s;
    if (loop->idle_workers) {
        pthread_cond_signal(&loop->work_cond);
    }
    pthread_mutex_unlock(&loop->lock);
}

/* Enough workers for the queue, PARK_WORKERS at most. */
static void work_start(void)
{
    int want = 0;
    park_conn *s;

    pthread_mutex_lock(&loop->lock);
    for (s = loop->work; s && loop->workers + want < PARK_WORKERS;
         s = s->next) {
        want++;
    }
    loop->workers += want;
    pthread_mutex_unlock(&loop->lock);
    while (want-- > 0) {
        if (ap_mpm_register_timed_callback(0, worker_drain, NULL)
            != APR_SUCCESS) {
            pthread_mutex_lock(&loop->lock);
            loop->workers--;
            pthread_mutex_unlock(&loop->lock);
        }
    }
}

/* ------------------------------------------------------------------ */
/* Long polls and the connection between requests                      */

/* A long poll's channel changed (or it was just parked): a worker
 * answers when the store has something for it. */
static void conn_adopt(park_conn *s);

/* After an answer written by the loop. */
static void loop_continue(park_conn *s)
{
    park_mode next = after_request(s->c);

    if (next == PM_WORKER) {
        work_add(s, JOB_REQUEST);     /* a pipelined request */
        return;
    }
    s->mode = next;
    conn_adopt(s);
}

/* The answer to a long poll, by the loop when it is small and the
 * filters allow, else by a worker. */
static void longpoll_answer(park_conn *s, park_job job, apr_size_t size)
{
    int rc;

    if (!s->inline_ok || size > PARK_INLINE_ANSWER_MAX) {
        work_add(s, job);
        return;
    }
    rc = push_longpoll_resume(s->r, s->channel, &s->sub,
                              s->has_cursor ? &s->cursor : NULL,
                              &s->idle_cursor, resume_why(job));
    if (rc == SUSPENDED) {
        return;     /* nothing after all: it waits on */
    }
    channel_leave(s);
    timer_unlink(s);
    longpoll_end(s, rc);
    loop_continue(s);
}

static void longpoll_look(park_conn *s)
{
    push_message_t msg;
    push_wait_e w = push_wait_next(s->r, NULL, &s->sub,
                                   s->has_cursor ? &s->cursor : NULL, 0, 0,
                                   0, &s->hint, &msg, NULL, NULL);

    if (w == PUSH_WAIT_MESSAGE) {
        longpoll_answer(s, JOB_LP_LOOK, msg.body_len);
    }
    else if (w == PUSH_WAIT_GONE) {
        longpoll_answer(s, JOB_LP_LOOK, 0);
    }
}

/* Whether the socket holds a whole request head (or more than the loop
 * looks at); 0 when not yet, -1 when the client closed. */
static int head_complete(park_conn *s)
{
    char buf[PARK_HEAD_PEEK];
    ssize_t n = recv(s->fd, buf, sizeof(buf), MSG_PEEK | MSG_DONTWAIT);
    ssize_t i;

    if (n == 0) {
        return -1;
    }
    if (n < 0) {
        return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR
               ? 0 : -1;
    }
    if (n == (ssize_t)sizeof(buf)) {
        return 1;
    }
    for (i = 1; i < n; i++) {
        if (buf[i] == '\n' && (buf[i - 1] == '\n'
            || (i >= 2 && buf[i - 1] == '\r' && buf[i - 2] == '\n'))) {
            return 1;
        }
    }
    return 0;
}

static void keepalive_event(park_conn *s, apr_uint32_t events)
{
    int head = head_complete(s);

    if (head > 0) {
        work_add(s, JOB_REQUEST);
    }
    else if (head < 0 || (events & (EPOLLHUP | EPOLLERR))) {
        conn_end(s, 1);
    }
    else {
        if (!s->head_started) {
            /* A request has begun: it has Timeout to arrive whole. */
            s->head_started = 1;
            timer_arm(s, s->c->base_server->timeout, apr_time_now());
        }
        if (conn_watch(s, EPOLLIN | EPOLLRDHUP | EPOLLONESHOT) != 0) {
            conn_end(s, 1);
        }
    }
}

static void linger_read(park_conn *s)
{
    for (;;) {
        char sink[2048];
        apr_size_t len = sizeof(sink);
        apr_status_t rv = apr_socket_recv(s->sock, sink, &len);

        if (APR_STATUS_IS_EAGAIN(rv)) {
            if (conn_watch(s, EPOLLIN | EPOLLRDHUP | EPOLLONESHOT) != 0) {
                conn_end(s, 2);
            }
            return;
        }
        if (rv != APR_SUCCESS || !len) {
            conn_end(s, 2);
            return;
        }
    }
}

/* ------------------------------------------------------------------ */
/* Adopting, ending and finishing connections                           */

/* Gives back the memory the connection's allocator keeps for reuse
 * (chiefly the 8 KB buffer the request was read into): a waiting
 * subscriber allocates nothing until it is answered. */
static void conn_trim(park_conn *s)
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
    /* The MPM's limit again: a connection that goes on to more requests
     * reuses its blocks instead of mapping new ones for each. */
    apr_allocator_max_free_set(a, ap_max_mem_free);
}

static void conn_adopt(park_conn *s)
{
    apr_time_t now = apr_time_now();
    int stopping = apr_atomic_read32(&loop->stopping) != 0;

    s->head_started = 0;
    if (s->forget) {
        s->ended = 2;
        s->next = loop->reap;
        loop->reap = s;
        return;
    }
    switch (s->mode) {
    case PM_STREAM:
        if (!channel_join(s) || conn_watch(s, stream_events(s)) != 0) {
            /* Stopping (or out of descriptors): end it as a stopping
             * server does, the client reconnects elsewhere. */
            channel_leave(s);
            conn_end(s, 2);
            return;
        }
        conn_trim(s);
        timer_arm(s, s->ping_every, now);
        /* Whatever came in since the handler last looked. */
        stream_deliver(s);
        return;
    case PM_LONGPOLL:
        if (stopping || !channel_join(s)) {
            work_add(s, JOB_LP_STOP);
            return;
        }
        /* A pipelined request is not a hang-up: only the end counts. */
        if (conn_watch(s, EPOLLRDHUP | EPOLLONESHOT) != 0) {
            channel_leave(s);
            conn_end(s, 1);
            return;
        }
        timer_arm(s, s->lp_timeout, now);
        longpoll_look(s);
        return;
    case PM_KEEPALIVE:
        if (stopping
            || conn_watch(s, EPOLLIN | EPOLLRDHUP | EPOLLONESHOT) != 0) {
            conn_end(s, 2);
            return;
        }
        timer_arm(s, s->c->base_server->keep_alive_timeout, now);
        return;
    case PM_FLUSH:
        if (conn_watch(s, EPOLLOUT | EPOLLRDHUP | EPOLLONESHOT) != 0) {
            conn_end(s, 1);
            return;
        }
        timer_arm(s, s->c->base_server->timeout, now);
        return;
    case PM_LINGER:
    default:
        s->mode = PM_LINGER;
        /* Our side is done; what the client still sends is read and
         * dropped, so closing does not reset what it has yet to read. */
        if (apr_socket_shutdown(s->sock, APR_SHUTDOWN_WRITE) != APR_SUCCESS
            || conn_watch(s, EPOLLIN | EPOLLRDHUP | EPOLLONESHOT) != 0) {
            conn_end(s, 2);
            return;
        }
        timer_arm(s, PARK_LINGER_TIME, now);
        return;
    }
}

static void conn_end(park_conn *s, int how)
{
    if (s->ended) {
        return;
    }
    s->ended = how;
    channel_leave(s);
    timer_unlink(s);
    conn_unwatch(s);
    s->next = loop->reap;
    loop->reap = s;
}

/* What the MPM does at the end of a connection, for one we hold. */
static void conn_finish(park_conn *s)
{
    request_rec *r = s->r;
    conn_rec *c = s->c;

    if (s->forget) {
        free(s);
        apr_atomic_dec32(&loop->conns);
        return;
    }
    if (s->subscribed) {
        push_store_unsubscribe(push_get_store(), &s->sub);
        apr_atomic_dec32(&loop->parked);
    }
    if (r) {
        if (s->ended == 2 && !s->pending && s->chunked) {
            /* The last chunk: the response is complete, not cut off. */
            apr_size_t len = 5;

            apr_socket_send(s->sock, "0" CRLF CRLF, &len);
        }
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, "%s on channel %s "
                      "ended (%s) after %lu messages (parked)",
                      s->mode == PM_LONGPOLL ? "long poll"
                      : s->ws ? "websocket" : "event stream", s->channel,
                      s->ended == 1 ? "client went away" : "server side",
                      s->delivered);
        if (s->ended == 1) {
            c->aborted = 1;
        }
        c->keepalive = AP_CONN_CLOSE;
        /* Logs the request and frees its pool. */
        ap_process_request_after_handler(r);
    }
    /* The MPM counts a suspended connection until its pool goes. */
    if (c->cs) {
        c->cs->state = CONN_STATE_SUSPENDED;
    }
    if (s->mode != PM_LINGER) {
        /* Whatever the client sent is read first: closing on unread
         * bytes would reset the connection and could cut off the last
         * event. */
        for (;;) {
            char sink[2048];
            apr_size_t len = sizeof(sink);

            if (apr_socket_recv(s->sock, sink, &len) != APR_SUCCESS
                || !len) {
                break;
            }
        }
        apr_socket_shutdown(s->sock, APR_SHUTDOWN_WRITE);
    }
    apr_pool_destroy(c->pool);
    free(s->pending);
    free(s);
    apr_atomic_dec32(&loop->conns);
}

/* Finishes the ended connections parked long enough ago; the time until
 * the next one may be finished, or -1. */
static apr_interval_time_t reap(apr_time_t now)
{
    park_conn **pp = &loop->reap, *s;
    apr_interval_time_t wait = -1;

    while ((s = *pp) != NULL) {
        if (now - s->parked_at >= PARK_REAP_GRACE) {
            *pp = s->next;
            conn_finish(s);
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
    park_conn *s, *next;

    /* Out of the set before the generation may be closed. */
    epoll_ctl(loop->epfd, EPOLL_CTL_DEL, ch->fd, NULL);
    ch->fd = -1;
    ch->gen = push_wait_rewatch(ch->slot, ch->gen);
    if (!ch->gen) {
        /* The server is stopping or restarting: the clients come back
         * (with Last-Event-ID, or their long poll's cursor) to a live
         * process and lose nothing. */
        for (s = ch->conns; s; s = next) {
            next = s->chan_next;
            if (s->mode == PM_LONGPOLL) {
                longpoll_answer(s, JOB_LP_STOP, 0);
            }
            else if (s->ws) {
                stream_ws_close(s, 0);
            }
            else {
                conn_end(s, 2);
            }
        }
        return;
    }
    ch->fd = push_wait_fd(ch->gen);
    epoll_set(EPOLL_CTL_ADD, ch->fd, EPOLLIN, ch);
    for (s = ch->conns; s; s = next) {
        next = s->chan_next;   /* s may leave */
        if (s->mode == PM_LONGPOLL) {
            longpoll_look(s);
        }
        else {
            stream_deliver(s);
        }
    }
}

static void conn_event(park_conn *s, apr_uint32_t events)
{
    int hangup = (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0;

    if (s->ended) {
        return;
    }
    switch (s->mode) {
    case PM_STREAM:
        if ((events & EPOLLOUT) && s->pending) {
            stream_drain(s);
        }
        if (s->ws && (hangup || (events & EPOLLIN))) {
            stream_ws_read(s, events);
        }
        else if (!s->ended && hangup) {
            conn_end(s, 1);
        }
        return;
    case PM_LONGPOLL:
        if (hangup) {
            conn_end(s, 1);
        }
        return;
    case PM_KEEPALIVE:
        keepalive_event(s, events);
        return;
    case PM_FLUSH:
        if (events & (EPOLLHUP | EPOLLERR)) {
            conn_end(s, 1);
        }
        else if (events & EPOLLOUT) {
            work_add(s, JOB_FLUSH);
        }
        return;
    case PM_LINGER:
        linger_read(s);
        return;
    default:
        return;
    }
}

/* A connection's deadline passed. */
static void conn_due(park_conn *s, apr_time_t now)
{
    switch (s->mode) {
    case PM_STREAM:
        if (s->ws && push_ws_park_closing(s->ws)) {
            conn_end(s, 2);      /* no Close from the client */
        }
        else if (s->ws) {
            timer_touch(s, now);
            if (push_ws_park_ping(s->ws)) {
                conn_end(s, 2);
            }
        }
        else if (s->pending) {
            timer_touch(s, now);   /* not idle: still writing */
        }
        else {
            stream_send1(s, ": ping\n\n", 8);
        }
        return;
    case PM_LONGPOLL:
        longpoll_answer(s, JOB_LP_TIMEOUT, 0);
        return;
    case PM_FLUSH:
        conn_end(s, 1);          /* the client reads nothing */
        return;
    default:
        conn_end(s, 2);          /* keep-alive or linger time over */
        return;
    }
}

/* Runs what is due; the time until the next deadline, or -1. */
static apr_interval_time_t timers_due(apr_time_t now)
{
    apr_interval_time_t wait = -1;
    park_timer *t;

    for (t = loop->timers; t; t = t->next) {
        park_conn *s;

        /* conn_due takes s off this list or puts it at the end, later. */
        while ((s = t->head) != NULL && s->due <= now) {
            conn_due(s, now);
            if (t->head == s && s->due <= now) {
                timer_unlink(s);   /* nothing re-armed it */
            }
        }
        if (s && (wait < 0 || s->due - now < wait)) {
            wait = s->due - now;
        }
    }
    return wait;
}

/* The server is stopping: what waits between requests is closed, as
 * the MPM closes its kept-alive connections. */
static void stop_idle(void)
{
    park_timer *t;

    for (t = loop->timers; t; t = t->next) {
        park_conn *s, *next;

        for (s = t->head; s; s = next) {
            next = s->t_next;
            if (s->mode == PM_KEEPALIVE) {
                conn_end(s, 2);
            }
        }
    }
}

static void adopt_incoming(void)
{
    park_conn *s, *next;
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
        conn_adopt(s);
    }
}

static void *loop_main(void *arg)
{
    struct epoll_event evs[256];

    (void)arg;
    for (;;) {
        apr_time_t now = apr_time_now();
        apr_interval_time_t wait, w2;
        int i, n, quit, timeout_ms;

        if (apr_atomic_read32(&loop->abandon)) {
            pthread_mutex_lock(&loop->lock);
            quit = loop->quit;
            pthread_mutex_unlock(&loop->lock);
            if (quit) {
                break;
            }
            /* Only the quit from park_loop_stop is awaited now. */
            {
                struct pollfd pfd = { loop->wakefd, POLLIN, 0 };
                apr_uint64_t count;

                if (poll(&pfd, 1, 100) > 0
                    && read(loop->wakefd, &count, sizeof(count)) < 0) {
                    /* EAGAIN: another wake-up took it */
                }
            }
            continue;
        }
        if (apr_atomic_read32(&loop->stopping) && !loop->stop_seen) {
            loop->stop_seen = 1;
            stop_idle();
        }
        wait = timers_due(now);
        w2 = reap(now);
        if (w2 >= 0 && (wait < 0 || w2 < wait)) {
            wait = w2;
        }
        work_start();
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
                park_conn *s = evs[i].data.ptr;

                /* A worker's now (an armed one-shot that fired late, or
                 * handed over earlier in this batch): not ours to act on. */
                if (s->mode != PM_WORKER) {
                    conn_event(s, evs[i].events);
                }
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

int push_park_possible(request_rec *r)
{
    conn_rec *c = r->connection;
    park_conn *held = ap_get_module_config(c->conn_config, &push_module);

    return loop && loop_usable && !apr_atomic_read32(&loop->stopping)
           && !c->master && c->cs && !c->aborted && !r->main && !r->prev
           && ap_get_conn_socket(c) && !ap_ssl_conn_is_ssl(c)
           && (!held || !held->handing);
}

/* The record the connection is held by: the one a worker runs it with,
 * or a new one. */
static park_conn *park_record(request_rec *r)
{
    conn_rec *c = r->connection;
    park_conn *s = ap_get_module_config(c->conn_config, &push_module);
    apr_os_sock_t fd;

    if (s) {
        return s;
    }
    if (apr_os_sock_get(&fd, ap_get_conn_socket(c)) != APR_SUCCESS
        || !(s = calloc(1, sizeof(*s)))) {
        return NULL;
    }
    s->kind = PARK_CONN;
    s->c = c;
    s->sock = ap_get_conn_socket(c);
    s->fd = fd;
    apr_atomic_inc32(&loop->conns);
    ap_set_module_config(c->conn_config, &push_module, s);
    return s;
}

static park_conn *park_subscriber(request_rec *r, const char *channel,
                                  const push_sub_t *sub,
                                  const push_msgid_t *cursor,
                                  const push_wait_hint_t *hint)
{
    park_conn *s = park_record(r);

    if (!s) {
        return NULL;
    }
    s->r = r;
    s->channel = apr_pstrdup(r->pool, channel);
    s->sub = *sub;
    s->subscribed = 1;
    s->has_cursor = cursor != NULL;
    if (cursor) {
        s->cursor = *cursor;
    }
    if (hint) {
        s->hint = *hint;
    }
    else {
        memset(&s->hint, 0, sizeof(s->hint));
    }
    s->delivered = 0;
    s->handing = 1;
    apr_socket_timeout_set(s->sock, 0);
    /* It holds no thread: its place is for the next subscriber. */
    push_subscriber_leave();
    apr_atomic_inc32(&loop->parked);
    return s;
}

static int park_stream(request_rec *r, const push_dir_conf *conf,
                       const char *channel, const push_sub_t *sub,
                       const push_msgid_t *cursor,
                       const push_wait_hint_t *hint, void *ws)
{
    park_conn *s;

    if (!push_park_possible(r) || !filters_bypassable(r)
        || !(s = park_subscriber(r, channel, sub, cursor, hint))) {
        return 0;
    }
    s->mode = PM_STREAM;
    s->chunked = ws ? 0 : r->chunked;
    s->ws = ws;
    if (ws) {
        push_ws_park_attach(ws, ws_park_send, s);
    }
    s->ping_every = apr_time_from_sec(push_conf_ping_interval(conf));
    return 1;
}

int push_park_sse(request_rec *r, const push_dir_conf *conf,
                  const char *channel, const push_sub_t *sub,
                  const push_msgid_t *cursor, int has_cursor,
                  const push_wait_hint_t *hint)
{
    return park_stream(r, conf, channel, sub, has_cursor ? cursor : NULL,
                       hint, NULL);
}

int push_park_ws(request_rec *r, const push_dir_conf *conf,
                 const char *channel, const push_sub_t *sub,
                 const push_msgid_t *cursor, int has_cursor,
                 const push_wait_hint_t *hint, void *ws)
{
    return park_stream(r, conf, channel, sub, has_cursor ? cursor : NULL,
                       hint, ws);
}

int push_park_longpoll(request_rec *r, const push_dir_conf *conf,
                       const char *channel, const push_sub_t *sub,
                       const push_msgid_t *cursor,
                       const push_msgid_t *idle_cursor,
                       const push_wait_hint_t *hint)
{
    park_conn *s;

    if (!push_park_possible(r)
        || !(s = park_subscriber(r, channel, sub, cursor, hint))) {
        return 0;
    }
    s->mode = PM_LONGPOLL;
    s->chunked = 0;
    s->ws = NULL;
    s->inline_ok = filters_bypassable(r);
    s->idle_cursor = *idle_cursor;
    s->lp_timeout = apr_time_from_sec(push_conf_longpoll_timeout(conf));
    return 1;
}

/* suspend_connection hook: the MPM (or a worker of ours) is done with
 * the connection. */
static void push_park_suspended(conn_rec *c, request_rec *r)
{
    park_conn *s = loop ? ap_get_module_config(c->conn_config, &push_module)
                        : NULL;

    (void)r;
    if (!s || !s->handing) {
        return;
    }
    ap_set_module_config(c->conn_config, &push_module, NULL);
    s->handing = 0;
    s->parked_at = apr_time_now();
    loop_take(s);
}

unsigned push_park_count(void)
{
    return loop ? apr_atomic_read32(&loop->parked) : 0;
}

unsigned push_park_connections(void)
{
    return loop ? apr_atomic_read32(&loop->conns) : 0;
}

/* The child is stopping (may run in a signal handler: atomic stores
 * and a write).  Gracefully, the MPM waits for every connection, so the
 * loop finishes its own; otherwise the MPM tears itself down at once,
 * and finishing a connection (which calls back into the MPM) could use
 * what is already gone: the loop lets the process exit close them. */
void push_park_stopping(int graceful)
{
    apr_uint64_t one = 1;

    if (!loop) {
        return;
    }
    if (!graceful) {
        apr_atomic_set32(&loop->abandon, 1);
    }
    apr_atomic_set32(&loop->stopping, 1);
    if (write(loop->wakefd, &one, sizeof(one)) < 0) {
        /* nothing to do */
    }
}

/* Wakes the loop for good; its streams end at their channels' wake-ups
 * (push_notify_shutdown fires them all). */
static apr_status_t park_loop_stop(void *data)
{
    apr_uint64_t one = 1;

    (void)data;
    pthread_mutex_lock(&loop->lock);
    loop->quit = 1;
    pthread_cond_broadcast(&loop->work_cond);
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
    pthread_condattr_t cattr;
    int rv;

    if (ap_mpm_query(AP_MPMQ_IS_ASYNC, &async) != APR_SUCCESS || !async
        || !push_get_store()) {
        return;
    }
    logio_add_bytes_out = APR_RETRIEVE_OPTIONAL_FN(ap_logio_add_bytes_out);
    push_store_stats(push_get_store(), 0, &st);
    loop = apr_pcalloc(pchild, sizeof(*loop));
    loop->kind = PARK_WAKE;
    loop->pchild = pchild;
    loop->nslots = st.channel_slots;
    loop->chans = apr_pcalloc(pchild, sizeof(*loop->chans) * loop->nslots);
    loop->epfd = epoll_create1(EPOLL_CLOEXEC);
    loop->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    apr_pool_create(&loop->scratch, pchild);
    apr_pool_tag(loop->scratch, "push_park_scratch");
    if (loop->epfd < 0 || loop->wakefd < 0
        || pthread_mutex_init(&loop->lock, NULL) != 0
        || pthread_condattr_init(&cattr) != 0
        || pthread_condattr_setclock(&cattr, CLOCK_MONOTONIC) != 0
        || pthread_cond_init(&loop->work_cond, &cattr) != 0
        || epoll_set(EPOLL_CTL_ADD, loop->wakefd, EPOLLIN, loop) != 0) {
        ap_log_error(APLOG_MARK, APLOG_ERR, errno, s, "cannot set up the "
                     "push stream loop: subscribers keep their threads");
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
                     "stream loop: subscribers keep their threads");
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
