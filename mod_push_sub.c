/* mod_push_sub.c — what every subscriber does in httpd: its start (the
 * client's cursor, a per-child place, the store subscription) and end,
 * and the worker-thread driver: a subscriber that cannot be parked
 * (HTTP/2, the worker and prefork MPMs, filters the loop cannot pass
 * by) runs here on its thread, through httpd's filters
 * (mod_push_filters.c), with the same delivery step the stream loop
 * uses. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>

#include "apr_atomic.h"
#include "apr_strings.h"

#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "ap_mpm.h"

#include "mod_push.h"
#include "mod_push_admit.h"
#include "mod_push_config.h"
#include "mod_push_conn.h"
#include "mod_push_events.h"
#include "mod_push_http.h"
#include "mod_push_presence.h"
#include "mod_push_redis.h"
#include "mod_push_store.h"
#include "mod_push_sub.h"

APLOG_USE_MODULE(push);

/* ------------------------------------------------------------------ */
/* Start and end                                                        */

/* The channel's own limits, as nchan has them, each 0 after replying 403
 * when it refuses.  Before subscribing: PushSubscribeExistingChannelsOnly. */
static int channel_exists_ok(request_rec *r, const push_env_t *env,
                             const char *channel)
{
    push_channel_info_t now;

    if (push_conf_existing_only(push_conf(r))
        && push_store_info(&env->store, channel, strlen(channel),
                           apr_time_sec(apr_time_now()), &now)
           == PUSH_NOT_FOUND) {
        push_reply_text(r, HTTP_FORBIDDEN, "Channel %s does not exist "
                        "(PushSubscribeExistingChannelsOnly): it has "
                        "neither messages nor subscribers.", channel);
        return 0;
    }
    return 1;
}

/* Once counted (*info: the channel then, this subscriber included):
 * PushMaxChannelSubscribers. */
static int channel_room_ok(request_rec *r, const char *channel,
                           const push_channel_info_t *info)
{
    apr_int64_t max = push_conf_max_channel_subscribers(push_conf(r));

    if (max && info->subscribers > max) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, "channel %s: refusing "
                      "a subscriber past PushMaxChannelSubscribers %"
                      APR_INT64_T_FMT, channel, max);
        push_reply_text(r, HTTP_FORBIDDEN, "Channel %s has as many "
                        "subscribers as it may (PushMaxChannelSubscribers %"
                        APR_INT64_T_FMT ").", channel, max);
        return 0;
    }
    return 1;
}

/* PushFirstMessage for a subscriber without a cursor: the cursor just
 * before the message it starts at (none for the oldest), found by
 * walking the buffer's ids (no copies) from its oldest. */
static void first_cursor(push_sub_t *s, apr_int64_t first,
                         const push_channel_info_t *info)
{
    apr_int64_t skip;
    push_message_t m;
    int64_t now = apr_time_sec(apr_time_now());

    if (first == PUSH_FIRST_NEWEST || first > (apr_int64_t)info->messages) {
        /* Everything after what the channel has now. */
        s->cursor = info->last_id;
        s->has_cursor = 1;
        return;
    }
    skip = first > 0 ? first - 1 : (apr_int64_t)info->messages + first;
    while (skip-- > 0
           && push_store_next(&s->env->store, &s->ref,
                              s->has_cursor ? &s->cursor : NULL, now, NULL,
                              NULL, &m, NULL, NULL) == PUSH_FOUND) {
        s->cursor = m.id;
        s->has_cursor = 1;
    }
}

/* Subscribes s (one channel of the subscriber) in the store: 0 after
 * replying when refused (507, PushMaxChannelSubscribers); *info is the
 * channel then. */
static int member_subscribe(request_rec *r, push_sub_t *s,
                            push_channel_info_t *info)
{
    if (push_redis_on(r->server)) {
        push_redis_sync(r, s->channel);
    }
    if (push_store_subscribe(&s->env->store, s->channel, strlen(s->channel),
                             apr_time_sec(apr_time_now()), &s->ref, info)
        != PUSH_OK) {
        push_reply_no_channel(r, s->channel);
        return 0;
    }
    if (!channel_room_ok(r, s->channel, info)) {
        push_store_unsubscribe(&s->env->store, &s->ref);
        return 0;
    }
    return 1;
}

/* Where a newly subscribed channel of the subscriber starts: the
 * client's cursor, else PushFirstMessage. */
static void member_cursor(request_rec *r, push_sub_t *s,
                          const push_channel_info_t *info)
{
    if (!s->has_cursor) {
        first_cursor(s, push_conf_first_message(push_conf(r)), info);
    }
    else if (push_msgid_cmp(&s->cursor, &info->last_id) > 0) {
        /* A cursor past anything the channel ever issued (a clock, a
         * client or another server's): it would wait for ever.  It
         * means the newest, as nchan takes it: the next message is
         * delivered. */
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, "%s on channel %s: "
                      "cursor %s is past the channel's last message; "
                      "taken as its newest", s->t->name, s->channel,
                      push_msgid_str(r->pool, &s->cursor));
        s->cursor = info->last_id;
    }
}

int push_sub_begin(request_rec *r, const push_transport_t *t,
                   const char *channel, push_sub_t *s,
                   push_channel_info_t *info)
{
    const push_env_t *env = push_env();
    const char *ids[PUSH_MUX_MAX];
    push_msgid_t cursors[PUSH_MUX_MAX];
    unsigned n = 1, i;
    int has, no_history = 0;

    memset(s, 0, sizeof(*s));
    memset(cursors, 0, sizeof(cursors));
    if (!env) {
        push_reply_text(r, HTTP_SERVICE_UNAVAILABLE,
                        "Subscribers are not available in this server "
                        "process.");
        return 0;
    }
    ids[0] = channel;
    if (strchr(channel, PUSH_CHANNEL_SET_SEP)) {
        /* A multiplexed request: a subscription per channel. */
        n = push_channel_set_split(apr_pstrdup(r->pool, channel), ids,
                                   PUSH_MUX_MAX);
        if (n == 0) {
            push_reply_text(r, HTTP_BAD_REQUEST, "Too many channels: a "
                            "multiplexed request names at most %d.",
                            PUSH_MUX_MAX);
            return 0;
        }
        s->nmore = n - 1;
        s->more = apr_pcalloc(r->pool, s->nmore * sizeof(push_sub_t *));
    }
    if ((has = push_request_cursors(r, n, cursors)) < 0) {
        return 0;
    }
    for (i = 0; i < n; i++) {
        push_sub_t *m = i ? (s->more[i - 1] = apr_pcalloc(r->pool,
                                                           sizeof(*m)))
                          : s;

        m->t = t;
        m->env = env;
        m->r = r;
        m->channel = ids[i];
        m->has_cursor = has;
        m->cursor = cursors[i];
        if (!channel_exists_ok(r, env, m->channel)) {
            return 0;
        }
    }
    if (!push_admit_take(r)) {
        return 0;
    }
    for (i = 0; i < n; i++) {
        push_channel_info_t mine;

        if (!member_subscribe(r, push_sub_member(s, i), i ? &mine : info)) {
            while (i-- > 0) {
                push_store_unsubscribe(&env->store,
                                       &push_sub_member(s, i)->ref);
            }
            push_admit_release();
            return 0;
        }
        member_cursor(r, push_sub_member(s, i), i ? &mine : info);
        no_history |= (i ? mine.keep : info->keep) == 0;
    }
    if (no_history) {
        info->keep = 0;     /* one of them keeps no history */
    }
    push_sub_count(s, 1);
    for (i = 0; i < n; i++) {
        push_event(r, PUSH_EV_SUBSCRIBER_ENQUEUE, ids[i]);
    }
    if ((t->flags & PUSH_T_STREAM)
        && push_sub_hold(s, (uint64_t)push_conf_backlog(push_conf(r))) != 0) {
        /* It still streams, as it would have without holds: what the
         * buffer length drops before it is delivered is a gap, said. */
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, "%s on channel %s: "
                      "no room in the push store to hold its messages "
                      "(raise PushSharedMemorySize)", t->name, s->channel);
    }
    return 1;
}

void push_sub_end(push_sub_t *s)
{
    push_sub_release(s);
    push_admit_release();
}

/* Compressing or buffering filters (mod_deflate, mod_brotli, SSI, ...)
 * would hold events back or mangle them: an event stream passes only
 * through the protocol, transcoding (chunking) and connection filters. */
static void strip_content_filters(request_rec *r)
{
    ap_filter_t *f = r->output_filters;

    while (f && f->frec->ftype < AP_FTYPE_PROTOCOL) {
        ap_filter_t *next = f->next;

        ap_remove_output_filter(f);
        f = next;
    }
    apr_table_setn(r->subprocess_env, "no-gzip", "1");
    apr_table_setn(r->subprocess_env, "no-brotli", "1");
}

int push_sub_stream_response(request_rec *r, push_sub_t *s,
                             const char *content_type, const char *preamble,
                             apr_size_t preamble_len)
{
    push_filter_sink_t out;

    strip_content_filters(r);
    r->status = HTTP_OK;
    if (content_type) {
        ap_set_content_type(r, content_type);
    }
    apr_table_setn(r->headers_out, "Cache-Control", "no-cache, no-transform");
    apr_table_setn(r->headers_out, "X-Accel-Buffering", "no");
    push_filter_sink_init(&out, r, r->output_filters);
    push_sink_write1(&out.sink, preamble, preamble_len);
    return push_sub_stream(r, s, &out, NULL, r->chunked);
}

size_t push_stream_gap_ends(push_sub_t *s, const push_msgid_t *gap_id,
                            char *buf, size_t cap)
{
    (void)gap_id;
    (void)buf;
    (void)cap;
    return s->live ? PUSH_NOTICE_END : 0;
}

int push_stream_idle_quiet(push_sub_t *s)
{
    (void)s;
    return 0;   /* anything written would read as a message */
}

push_end_e push_stream_end_quiet(push_sub_t *s, push_stop_e why)
{
    (void)s;
    (void)why;
    return PUSH_END_NOW;
}

/* ------------------------------------------------------------------ */
/* Waiting on a worker thread                                           */

/* The raw descriptor of the client's TCP connection (for HTTP/2 streams,
 * the connection carrying them), or -1. */
static int client_fd(request_rec *r)
{
    conn_rec *c = r->connection->master ? r->connection->master
                                        : r->connection;
    apr_socket_t *sock = ap_get_conn_socket(c);
    apr_os_sock_t fd;

    if (!sock || apr_os_sock_get(&fd, sock) != APR_SUCCESS) {
        return -1;
    }
    return fd;
}

/* What one wait in poll(2) saw. */
enum { SAW_CHANNEL = 1, SAW_CLIENT = 2, SAW_HANGUP = 4, SAW_ERROR = 8 };

/* The wake-up registrations of every channel a subscriber follows (one,
 * or a multiplexed one's each); ok 0 once the process is stopping (none
 * is given out then). */
typedef struct {
    const push_sub_t   *s;
    push_notify_gen_t **gen;
    int                *fired;
    unsigned            n;
    int                 ok;
} sub_watch;

static void watch_close(sub_watch *w)
{
    unsigned i;

    for (i = 0; i < w->n; i++) {
        push_env_unwatch(w->s->env,
                         push_sub_member((push_sub_t *)w->s, i)->ref.chan,
                         w->gen[i]);
        w->gen[i] = NULL;
    }
    w->ok = 0;
}

/* Registered before the subscriber's first look, so a publish after it
 * wakes it. */
static void watch_open(sub_watch *w, push_sub_t *s, apr_pool_t *p)
{
    unsigned i;

    w->s = s;
    w->n = s->channel ? s->nmore + 1 : 0;
    w->gen = apr_pcalloc(p, w->n * sizeof(*w->gen));
    w->fired = apr_pcalloc(p, w->n * sizeof(*w->fired));
    w->ok = 1;
    for (i = 0; i < w->n; i++) {
        if (!(w->gen[i] = push_env_watch(s->env,
                                         push_sub_member(s, i)->ref.chan))) {
            watch_close(w);
            return;
        }
    }
}

/* On the current generation from now: the channels that fired (all: a
 * check whether the process is stopping). */
static void watch_renew(sub_watch *w, int all)
{
    unsigned i;

    for (i = 0; i < w->n && w->ok; i++) {
        if (all || w->fired[i]) {
            w->fired[i] = 0;
            w->gen[i] = push_env_rewatch(
                w->s->env, push_sub_member((push_sub_t *)w->s, i)->ref.chan,
                w->gen[i]);
            if (!w->gen[i]) {
                watch_close(w);
            }
        }
    }
}

/* Waits until a channel's registration fires, the client's socket shows
 * `events`, or until `until` (0: no limit). */
static int wait_once(sub_watch *w, int fd, short events, apr_time_t until)
{
    struct pollfd one[2], *pfd = one;
    int n, timeout_ms = -1, saw = 0, nfds = 0;
    unsigned i;

    if (until) {
        apr_interval_time_t left = until - apr_time_now();

        timeout_ms = left > 0 ? (int)((left + 999) / 1000) : 0;
    }
    if (w->ok && w->n > 1) {
        pfd = malloc((w->n + 1) * sizeof(*pfd));
        if (!pfd) {
            return SAW_ERROR;
        }
    }
    /* POLLRDHUP, not POLLIN, for a client that is only watched: a
     * pipelined request is not a hang-up, and TLS records would look
     * like data. */
    if (fd >= 0) {
        pfd[nfds].fd = fd;
        pfd[nfds].events = events;
        pfd[nfds++].revents = 0;
    }
    for (i = 0; w->ok && i < w->n; i++) {
        pfd[nfds].fd = push_notify_fd(w->gen[i]);
        pfd[nfds].events = POLLIN;
        pfd[nfds++].revents = 0;
    }
    n = poll(pfd, nfds, timeout_ms);
    if (n < 0) {
        saw = errno == EINTR ? 0 : SAW_ERROR;
    }
    else {
        if (fd >= 0 && pfd[0].revents) {
            saw |= (pfd[0].revents & POLLIN) ? SAW_CLIENT : 0;
            saw |= (pfd[0].revents & (POLLRDHUP | POLLHUP | POLLERR))
                   ? SAW_HANGUP : 0;
        }
        for (i = 0; w->ok && i < w->n; i++) {
            if (pfd[(fd >= 0) + i].revents & (POLLIN | POLLHUP | POLLERR)) {
                w->fired[i] = 1;
                saw |= SAW_CHANNEL;
            }
        }
    }
    if (pfd != one) {
        free(pfd);
    }
    return saw;
}

push_outcome_e push_sub_wait(request_rec *r, push_sub_t *s,
                             apr_time_t deadline, push_message_t *msg,
                             int *gap, push_msgid_t *gap_id)
{
    int fd = client_fd(r);
    push_outcome_e outcome;
    sub_watch w;

    watch_open(&w, s, r->pool);
    for (;;) {
        push_status_e st = push_sub_look(s, apr_time_now(), push_pool_copy,
                                         r->pool, msg, gap, gap_id);
        int saw;

        if (st == PUSH_FOUND || st == PUSH_GONE || !w.ok) {
            outcome = st == PUSH_FOUND ? PUSH_OUTCOME_MESSAGE
                      : st == PUSH_GONE ? PUSH_OUTCOME_GONE
                      : PUSH_OUTCOME_STOPPING;
            break;
        }
        if (deadline && apr_time_now() >= deadline) {
            outcome = PUSH_OUTCOME_TIMEOUT;
            break;
        }
        saw = wait_once(&w, fd, POLLRDHUP, deadline);
        if (saw & (SAW_HANGUP | SAW_ERROR)) {
            outcome = PUSH_OUTCOME_CLIENT_GONE;
            break;
        }
        /* Woken: on the current generation from now, and look again
         * (nothing, or a message already gone, waits on). */
        watch_renew(&w, !(saw & SAW_CHANNEL) && push_stopping());
    }
    watch_close(&w);
    return outcome;
}

/* A streaming subscriber on this thread: its keep-alive (or the wait for
 * a Close) is due at `due`; writes put a keep-alive off (`touch`). */
typedef struct {
    apr_time_t          due;
    apr_interval_time_t every;
    int                 touch;
} thread_timer;

static void thread_wrote(void *baton)
{
    thread_timer *tt = baton;

    if (tt->every && tt->touch) {
        tt->due = apr_time_now() + tt->every;
    }
}

/* Delivers, waits, and handles what the client sends and the deadlines,
 * until the stream is over; 1 when it ended because the client went
 * away.  *ended_by: why messages stopped, when they did. */
static int run_on_thread(request_rec *r, push_sub_t *s,
                         push_filter_source_t *in,
                         apr_interval_time_t ping_every,
                         push_stop_e *ended_by)
{
    int reads = (s->t->flags & PUSH_T_READS) != 0;
    int fd = client_fd(r);
    sub_watch w;
    thread_timer tt;
    int closing = 0, client_gone = 0, more_input = 0;
    /* PushSubscriberTimeout: from the start, and again from each
     * message; not for a publisher's WebSocket, which gets none. */
    apr_interval_time_t idle = !s->channel ? 0
        : apr_time_from_sec(push_conf_subscriber_timeout(push_conf(r)));
    apr_time_t expires = idle ? apr_time_now() + idle : 0;
    unsigned long seen = s->delivered;

    watch_open(&w, s, r->pool);
    tt.every = ping_every;
    tt.due = ping_every ? apr_time_now() + ping_every : 0;
    tt.touch = !(s->t->flags & PUSH_T_PING_FIXED);
    s->sink->on_write = thread_wrote;
    s->sink->baton = &tt;
    for (;;) {
        push_stop_e why = PUSH_STOP_STOPPING;
        int saw, stop = (!w.ok || (!w.n && push_stopping())) && !closing;
        apr_time_t until;

        if (!closing) {
            /* Stopping too: what the store has goes out first, and the
             * client resumes after it. */
            push_deliver_e d = push_sub_deliver(s, apr_time_now());

            if (d == PUSH_DELIVER_CLOSED || d == PUSH_DELIVER_FAILED) {
                client_gone = d == PUSH_DELIVER_CLOSED;
                break;
            }
            if (d == PUSH_DELIVER_GONE || d == PUSH_DELIVER_GAP) {
                why = d == PUSH_DELIVER_GONE ? PUSH_STOP_DELETED
                                             : PUSH_STOP_GAP;
                stop = 1;
            }
            else if (idle && s->delivered != seen) {
                seen = s->delivered;
                expires = apr_time_now() + idle;
            }
            else if (expires && apr_time_now() >= expires) {
                why = PUSH_STOP_TIMEOUT;
                stop = 1;
            }
        }
        if (stop) {
            *ended_by = why;
            watch_close(&w);
            if (s->t->on_end(s, why) != PUSH_END_AWAIT_CLOSE
                || s->sink->gone) {
                break;
            }
            closing = 1;
            tt.every = 0;
            tt.due = apr_time_now() + PUSH_CLOSE_WAIT_USEC;
        }
        /* More input already read (the filters may hold it where poll
         * cannot see): what it published went out above; on with it. */
        until = tt.due;
        if (!closing && expires && (!until || expires < until)) {
            until = expires;
        }
        if (!w.n && !closing) {
            /* Following no channel, nothing wakes it when the server
             * stops: it looks every second. */
            apr_time_t look = apr_time_now() + apr_time_from_sec(1);

            if (!until || look < until) {
                until = look;
            }
        }
        saw = wait_once(&w, fd, reads ? POLLIN | POLLRDHUP : POLLRDHUP,
                        more_input ? apr_time_now() : until);
        if (saw & SAW_ERROR) {
            client_gone = 1;
            break;
        }
        if (reads && (more_input || (saw & (SAW_CLIENT | SAW_HANGUP)))) {
            int got, rc = push_sub_read(s, &in->source, &got);

            more_input = rc == PUSH_INPUT_MORE;
            if (more_input) {
                rc = 0;
            }
            /* A hang-up with nothing left to read is the end, whatever
             * the filters said (they may hold a partial TLS record). */
            if (rc || (!got && (saw & SAW_HANGUP))) {
                client_gone = rc != PUSH_INPUT_END;
                break;
            }
        }
        else if (saw & SAW_HANGUP) {
            client_gone = 1;
            break;
        }
        watch_renew(&w, !saw && push_stopping());
        if (tt.due && apr_time_now() >= tt.due) {
            if (closing) {
                break;          /* no Close from the client */
            }
            tt.due = apr_time_now() + tt.every;
            if (s->t->on_idle(s) || s->sink->gone) {
                break;
            }
        }
    }
    watch_close(&w);
    return client_gone || s->sink->gone;
}

int push_sub_stream(request_rec *r, push_sub_t *s, push_filter_sink_t *out,
                    push_filter_source_t *in, int chunked)
{
    apr_interval_time_t ping =
        apr_time_from_sec(push_conf_ping_interval(push_conf(r)));

    int client_gone = out->sink.gone;
    /* Only a subscriber whose headers went out has arrived, and so
     * leaves (PushSubscribeRequest, PushUnsubscribeRequest). */
    int arrived = !client_gone;
    push_stop_e ended_by = PUSH_STOP_STOPPING;

    s->sink = &out->sink;
    if (arrived) {
        push_presence_tell(r, s, 0);
    }
    if (!client_gone && !s->on_thread
        && push_park_stream(r, s, chunked, ping)) {
        /* The subscription is the loop's now; so is r.  It holds no
         * thread: its place is for the next subscriber. */
        push_admit_release();
        return SUSPENDED;
    }
    if (!client_gone) {
        client_gone = run_on_thread(r, s, in, ping, &ended_by);
    }
    /* Out of the channel's count before the application hears of it: a
     * client that comes back at once is not refused for it. */
    push_sub_end(s);
    if (arrived) {
        push_presence_tell(r, s, 1);
    }
    /* The response ends here.  But for a deleted channel's, whose client
     * is told so, the connection closes after it: a client that went
     * away, or one that is to come back to a live process. */
    if (client_gone) {
        r->connection->aborted = 1;
    }
    if (client_gone || ended_by != PUSH_STOP_DELETED) {
        r->connection->keepalive = AP_CONN_CLOSE;
    }
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, "%s on channel %s ended "
                  "(%s) after %lu messages", s->t->name,
                  s->channel ? s->channel : "(none: a publisher's)",
                  client_gone ? "client went away" : "server side",
                  s->delivered);
    return OK;
}
