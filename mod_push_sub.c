/* mod_push_sub.c — what every subscriber shares: its start and end (the
 * client's cursor, a per-child place, the store subscription), waiting
 * for the next message, and the per-process encodings of a message. */
#include <poll.h>
#include <errno.h>

#include "apr_atomic.h"
#include "apr_strings.h"

#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "ap_mpm.h"

#include "mod_push.h"
#include "mod_push_config.h"
#include "mod_push_http.h"

APLOG_USE_MODULE(push);

static apr_uint32_t child_subscribers;
static int          subscribers_cap;

void push_sub_child_init(server_rec *s)
{
    int threads = 1;
    int cap = push_conf_subscribers_per_child(s);

    ap_mpm_query(AP_MPMQ_MAX_THREADS, &threads);
    if (threads < 1) {
        threads = 1;
    }
    subscribers_cap = cap > 0 ? cap
                      : (threads * 3 / 4 > 0 ? threads * 3 / 4 : 1);
}

unsigned push_subscribers_held(void)
{
    return apr_atomic_read32(&child_subscribers);
}

int push_subscribers_cap(void)
{
    return subscribers_cap;
}

static void *pool_alloc(void *ctx, size_t size)
{
    return apr_palloc((apr_pool_t *)ctx, size);
}

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

/* Takes a per-child subscriber place; 0 (after replying 503) when full. */
int push_subscriber_enter(request_rec *r)
{
    if (!push_get_notifier()) {
        push_reply_text(r, HTTP_SERVICE_UNAVAILABLE,
                        "Subscribers are not available in this server "
                        "process.");
        return 0;
    }
    if (apr_atomic_inc32(&child_subscribers) >= (apr_uint32_t)subscribers_cap) {
        apr_atomic_dec32(&child_subscribers);
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, "subscriber refused: "
                      "this child already holds %d (PushMaxSubscribersPerChild)",
                      subscribers_cap);
        apr_table_setn(r->err_headers_out, "Retry-After", "1");
        push_reply_text(r, HTTP_SERVICE_UNAVAILABLE, "Too many subscribers "
                        "in this server process; retry shortly.");
        return 0;
    }
    return 1;
}

void push_subscriber_leave(void)
{
    apr_atomic_dec32(&child_subscribers);
}

int push_subscriber_begin(request_rec *r, const push_dir_conf *conf,
                          const char *channel, push_transport_e transport,
                          push_sub_t *sub, push_channel_info_t *info,
                          push_msgid_t *cursor, int *has_cursor)
{
    if ((*has_cursor = push_request_cursor(r, cursor)) < 0
        || !push_subscriber_enter(r)) {
        return 0;
    }
    if (push_store_subscribe(push_get_store(), channel, strlen(channel), transport,
                             apr_time_sec(apr_time_now()), sub, info)
        != PUSH_OK) {
        push_subscriber_leave();
        push_reply_text(r, HTTP_INSUFFICIENT_STORAGE, "Every channel slot "
                        "of the push store is in use; raise "
                        "PushSharedMemorySize.");
        return 0;
    }
    if (!*has_cursor && push_conf_first_newest(conf)) {
        /* "newest": everything after what the channel has now. */
        *cursor = info->last_id;
        *has_cursor = 1;
    }
    return 1;
}

void push_subscriber_end(const push_sub_t *sub)
{
    push_store_unsubscribe(push_get_store(), sub);
    push_subscriber_leave();
}

/* For transports that poll more than the channel (WebSocket): a
 * registration for the channel's wake-ups, NULL when the server is
 * stopping. */
push_notify_gen_t *push_wait_watch(apr_uint32_t slot)
{
    if (push_stopping()) {
        push_notify_shutdown(push_get_notifier());
    }
    return push_notify_watch(push_get_notifier(), slot);
}

int push_wait_fd(const push_notify_gen_t *gen)
{
    return push_notify_fd(gen);
}

push_notify_gen_t *push_wait_rewatch(apr_uint32_t slot,
                                     push_notify_gen_t *gen)
{
    if (push_stopping()) {
        push_notify_shutdown(push_get_notifier());
    }
    return push_notify_rewatch(push_get_notifier(), slot, gen);
}

void push_wait_unwatch(apr_uint32_t slot, push_notify_gen_t *gen)
{
    if (gen) {
        push_notify_unwatch(push_get_notifier(), slot, gen);
    }
}

/* Waits for the next message after *cursor (NULL: the oldest buffered).
 * `deadline` 0 waits for ever; otherwise it is when to give up.
 * `ping_every` > 0 returns PUSH_WAIT_PING after that much idle time. */
push_wait_e push_wait_next(request_rec *r, apr_pool_t *p,
                           const push_sub_t *sub,
                           const push_msgid_t *cursor, apr_time_t deadline,
                           apr_interval_time_t ping_every, int wait,
                           push_wait_hint_t *hint, push_message_t *msg,
                           int *gap, push_msgid_t *gap_id)
{
    int fd = wait ? client_fd(r) : -1;
    apr_time_t ping_at = ping_every > 0 ? apr_time_now() + ping_every : 0;
    /* Registered before the first look, so a publish after it wakes us. */
    push_notify_gen_t *gen = wait ? push_wait_watch(sub->slot) : NULL;
    int woken = 0;

    if (gap) {
        *gap = 0;
    }
    for (;;) {
        push_status_e st;
        struct pollfd pfd[2];
        apr_time_t now, until;
        int timeout_ms, n;

        if (hint && hint->valid
            && push_store_channel_version(push_get_store(), sub->slot)
               == hint->version) {
            /* Nothing published or deleted since a look that found no
             * more: no need to take the store's lock. */
            st = PUSH_NONE;
        }
        else {
            st = push_store_next(push_get_store(), sub, cursor,
                                 apr_time_sec(apr_time_now()),
                                 p ? pool_alloc : NULL, p, msg, gap, gap_id);
            if (hint) {
                hint->valid = (st == PUSH_FOUND || st == PUSH_NONE)
                              && msg->newest;
                hint->version = msg->version;
            }
        }
        if (st == PUSH_FOUND || st == PUSH_GONE || !gen) {
            push_wait_unwatch(sub->slot, gen);
            if (st == PUSH_FOUND) {
                return PUSH_WAIT_MESSAGE;
            }
            if (st == PUSH_GONE) {
                return PUSH_WAIT_GONE;
            }
            return wait ? PUSH_WAIT_STOPPING : PUSH_WAIT_TIMEOUT;
        }
        if (woken) {
            /* Woken, but nothing for us (another channel's change, or a
             * message already gone): wait on the current generation, and
             * look once more, since a publish may have come in between. */
            woken = 0;
            gen = push_notify_rewatch(push_get_notifier(), sub->slot, gen);
            continue;
        }
        now = apr_time_now();
        until = deadline;
        if (ping_at && (!until || ping_at < until)) {
            until = ping_at;
        }
        timeout_ms = until ? (int)((until - now + 999) / 1000) : -1;
        if (until && timeout_ms <= 0) {
            timeout_ms = 0;
        }
        pfd[0].fd = push_notify_fd(gen);
        pfd[0].events = POLLIN;
        pfd[0].revents = 0;
        /* POLLRDHUP, not POLLIN: a pipelined request is not a hang-up,
         * and TLS records would look like data. */
        pfd[1].fd = fd;
        pfd[1].events = POLLRDHUP;
        pfd[1].revents = 0;
        n = poll(pfd, fd >= 0 ? 2 : 1, timeout_ms);
        if ((n < 0 && errno != EINTR)
            || (n > 0 && (pfd[1].revents & (POLLRDHUP | POLLHUP | POLLERR)))) {
            push_wait_unwatch(sub->slot, gen);
            return PUSH_WAIT_CLIENT_GONE;
        }
        if (n <= 0 && push_stopping()) {
            push_notify_shutdown(push_get_notifier());
        }
        now = apr_time_now();
        if (deadline && now >= deadline) {
            push_wait_unwatch(sub->slot, gen);
            /* A message may have arrived in the same instant. */
            st = push_store_next(push_get_store(), sub, cursor,
                                 apr_time_sec(now), p ? pool_alloc : NULL,
                                 p, msg, gap, gap_id);
            return st == PUSH_FOUND ? PUSH_WAIT_MESSAGE
                   : st == PUSH_GONE ? PUSH_WAIT_GONE : PUSH_WAIT_TIMEOUT;
        }
        if (ping_at && now >= ping_at) {
            push_wait_unwatch(sub->slot, gen);
            return PUSH_WAIT_PING;
        }
        /* Look first with the fired registration still held: usually
         * the message is there and no new registration is needed. */
        woken = n > 0 && (pfd[0].revents & (POLLIN | POLLHUP | POLLERR));
        if (!woken && push_notify_stopping(push_get_notifier())) {
            woken = 1;   /* rewatch gives NULL: one last look, then stop */
        }
    }
}

/* The encoding of message *id (just found by an id-only look at the
 * store) in this variant: from this process's cache, or built by encode()
 * from a fresh copy of the message and cached for the other subscribers.
 * The frame's key.id is the message it encodes.  NULL when the message
 * went away in between (or out of memory): look again. */
push_frame_t *push_frame_for(request_rec *r, apr_pool_t *p,
                             const push_sub_t *sub,
                             const push_msgid_t *cursor,
                             const push_msgid_t *id, apr_uint32_t variant,
                             push_encode_fn encode, void *ctx)
{
    push_frame_key_t key;
    push_message_t msg;
    push_frame_t *f;
    const void *data;
    apr_size_t len;

    memset(&key, 0, sizeof(key));
    key.slot = sub->slot;
    key.epoch = sub->epoch;
    key.id = *id;
    key.variant = variant;
    if (push_get_frames()) {
        int must_build;

        /* Waits while another thread of this process builds it. */
        f = push_frame_cache_acquire(push_get_frames(), &key, &must_build);
        if (f) {
            push_store_count_encoding(push_get_store(), 1);
            return f;
        }
        if (!must_build) {
            return NULL;
        }
    }
    if (push_store_next(push_get_store(), sub, cursor, apr_time_sec(apr_time_now()),
                        pool_alloc, p, &msg, NULL, NULL) != PUSH_FOUND
        || push_msgid_cmp(&msg.id, id) != 0
        || encode(ctx, r, p, &msg, &data, &len) != APR_SUCCESS) {
        /* Gone (evicted) since the look: the caller looks again. */
        if (push_get_frames()) {
            push_frame_cache_abandon(push_get_frames(), &key);
        }
        return NULL;
    }
    push_store_count_encoding(push_get_store(), 0);
    if (push_get_frames()) {
        return push_frame_cache_put(push_get_frames(), &key, data, len);
    }
    /* No cache (out of memory at startup): a private frame. */
    if ((f = malloc(sizeof(*f) + len)) != NULL) {
        f->key = key;
        f->refs = 1;
        f->len = len;
        memcpy(f->data, data, len);
    }
    return f;
}

void push_frame_done(push_frame_t *f)
{
    if (push_get_frames()) {
        push_frame_release(push_get_frames(), f);
    }
    else {
        free(f);
    }
}
