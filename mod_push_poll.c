/* mod_push_poll.c — the polling transports: a long poll waits for the
 * next message after the client's cursor; a short poll answers at once.
 * One message per response, the cursor in Last-Modified and Etag; or,
 * with PushLongPollMultipart, every message waiting (up to a bound), as
 * multipart/mixed parts or separated raw, the cursor the last one's.
 *
 * Under the event MPM a long poll with nothing to answer yet is parked
 * (mod_push_conn.c): it holds no thread while it waits, and the loop
 * calls this transport's respond when the wait is over. */
#include "apr_strings.h"

#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"

#include "mod_push.h"
#include "mod_push_config.h"
#include "mod_push_conn.h"
#include "mod_push_http.h"
#include "mod_push_store.h"
#include "mod_push_admit.h"
#include "mod_push_sub.h"
#include "mod_push_transport.h"

APLOG_USE_MODULE(push);

/* The headers of an answer whose last message has the id text `id`: the
 * cursor, the id, and the gap before it (gap_id's text), if any. */
static void answer_headers(request_rec *r, const char *id,
                           const char *gap_id)
{
    push_set_cursor_headers(r, id);
    apr_table_setn(r->headers_out, "Cache-Control", "no-cache");
    apr_table_setn(r->headers_out, "X-Push-Message-Id", id);
    if (gap_id) {
        apr_table_setn(r->headers_out, "X-Push-Gap", gap_id);
    }
}

/* The gap's id text, or NULL for none. */
static const char *gap_text(push_sub_t *s, int gap,
                            const push_msgid_t *gap_id)
{
    return gap ? push_sub_id_str(s->r->pool, s, gap_id) : NULL;
}

/* One message, whose id has the text `id`. */
static int reply_message(request_rec *r, const push_message_t *msg,
                         const char *id, const char *gap_id)
{
    answer_headers(r, id, gap_id);
    if (msg->content_type_len) {
        ap_set_content_type(r, msg->content_type);
    }
    if (msg->event_len) {
        /* The publisher's event name, passed on as its Content-Type is. */
        apr_table_setn(r->headers_out, "X-EventSource-Event",
                       apr_pstrmemdup(r->pool, msg->event, msg->event_len));
    }
    ap_set_content_length(r, msg->body_len);
    r->status = HTTP_OK;
    if (!r->header_only && msg->body_len) {
        ap_rwrite(msg->body, (int)msg->body_len, r);
    }
    return OK;
}

/* What one multi-message answer carries at most; the rest waits for the
 * next poll, which comes at once. */
#define MULTI_MAX_MESSAGES 256
#define MULTI_MAX_BYTES    ((apr_size_t)4 << 20)

/* One piece of an answer's body. */
static void add_piece(apr_array_header_t *vec, const void *base, size_t len)
{
    struct iovec *v = apr_array_push(vec);

    v->iov_base = (void *)base;
    v->iov_len = len;
}

/* PushLongPollMultipart: first and the messages after it that the store
 * has now (none after a gap: the next poll is told of it), in one
 * answer.  One message alone is answered as usual, as nchan does. */
static int reply_messages(request_rec *r, push_sub_t *s,
                          const push_message_t *first, int gap,
                          const push_msgid_t *gap_id, int mode)
{
    apr_array_header_t *all = apr_array_make(r->pool, 8,
                                             sizeof(push_message_t));
    apr_array_header_t *vec;
    apr_size_t bytes = first->body_len, len;
    const char *b = push_multipart_boundary(), *sep = NULL;
    const char *gap_str = gap_text(s, gap, gap_id), *last_id;
    char *body;
    int i;

    APR_ARRAY_PUSH(all, push_message_t) = *first;
    last_id = push_sub_id_str(r->pool, s, &first->id);
    push_sub_took(s, first);
    while (all->nelts < MULTI_MAX_MESSAGES && bytes < MULTI_MAX_BYTES) {
        push_message_t m;
        push_msgid_t gid;
        int g = 0;

        if (push_sub_look(s, apr_time_now(), push_pool_copy, r->pool, &m,
                          &g, &gid) != PUSH_FOUND || g) {
            break;
        }
        APR_ARRAY_PUSH(all, push_message_t) = m;
        last_id = push_sub_id_str(r->pool, s, &m.id);
        push_sub_took(s, &m);
        bytes += m.body_len;
    }
    if (all->nelts == 1) {
        return reply_message(r, first, last_id, gap_str);
    }
    if (mode == PUSH_LP_RAW) {
        sep = push_conf_raw_separator(push_conf(r), NULL);
    }
    /* The parts: "--B[\r\nContent-Type: t]\r\n\r\n<body>", joined by
     * "\r\n", then "\r\n--B--\r\n" (nchan's framing, which
     * NchanSubscriber.js reads); raw: each body and the separator. */
    vec = apr_array_make(r->pool, all->nelts * 3 + 1, sizeof(struct iovec));
    for (i = 0; i < all->nelts; i++) {
        const push_message_t *m = &APR_ARRAY_IDX(all, i, push_message_t);

        if (!sep) {
            const char *head = apr_psprintf(
                r->pool, "%s--%s%s%.*s\r\n\r\n", i ? "\r\n" : "", b,
                m->content_type_len ? "\r\nContent-Type: " : "",
                (int)m->content_type_len,
                m->content_type_len ? m->content_type : "");

            add_piece(vec, head, strlen(head));
        }
        add_piece(vec, m->body, m->body_len);
        if (sep) {
            add_piece(vec, sep, strlen(sep));
        }
    }
    if (!sep) {
        const char *end = apr_pstrcat(r->pool, "\r\n--", b, "--\r\n",
                                      NULL);

        add_piece(vec, end, strlen(end));
    }
    body = apr_pstrcatv(r->pool, (struct iovec *)vec->elts, vec->nelts,
                        &len);
    answer_headers(r, last_id, gap_str);
    apr_table_setn(r->headers_out, "X-Push-Messages",
                   apr_itoa(r->pool, all->nelts));
    if (!sep) {
        ap_set_content_type(r, apr_pstrcat(r->pool, "multipart/mixed; "
                                           "boundary=", b, NULL));
    }
    else if (first->content_type_len) {
        ap_set_content_type(r, first->content_type);
    }
    ap_set_content_length(r, (apr_off_t)len);
    r->status = HTTP_OK;
    if (!r->header_only) {
        ap_rwrite(body, (int)len, r);
    }
    return OK;
}

static int reply_not_modified(request_rec *r, const char *cursor)
{
    push_set_cursor_headers(r, cursor);
    apr_table_setn(r->headers_out, "Cache-Control", "no-cache");
    r->status = HTTP_NOT_MODIFIED;
    return OK;
}

/* What a poll's 304 says: the client's cursor, or for a client that had
 * none, the channel's newest id when it asked. */
typedef struct {
    const char  *idle;          /* its text */
    /* PushSubscriberTimeout ends its wait: 408, as nchan answers, not
     * PushLongPollTimeout's 304. */
    apr_int64_t  expiry;
} poll_state;

/* Where the client is now, for a 304: its cursor (the channel's newest
 * id when it had none), or a multiplexed one's multi-id of every
 * channel's cursor. */
static const char *poll_where(apr_pool_t *p, push_sub_t *s,
                              const push_channel_info_t *info)
{
    char *buf;

    if (!s->nmore && !s->has_cursor) {
        return push_msgid_str(p, &info->last_id);
    }
    buf = apr_palloc(p, PUSH_SUB_ID_MAX);
    push_sub_where(s, buf);
    return buf;
}

/* The answer to a poll once its wait is over. */
static int poll_respond(push_sub_t *s, push_outcome_e outcome,
                        const push_message_t *msg, int gap,
                        const push_msgid_t *gap_id)
{
    request_rec *r = s->r;
    const poll_state *ps = s->tstate;
    int multi;

    switch (outcome) {
    case PUSH_OUTCOME_MESSAGE:
        if (gap) {
            push_counters_gap(s->env->counters);
            if (s->env->gap) {
                s->env->gap(s, gap_id);
            }
        }
        multi = push_conf_longpoll_multipart(push_conf(r));
        return multi != PUSH_LP_ONE
               ? reply_messages(r, s, msg, gap, gap_id, multi)
               : reply_message(r, msg, push_sub_id_str(r->pool, s,
                                                       &msg->id),
                               gap_text(s, gap, gap_id));
    case PUSH_OUTCOME_GONE:
        return push_reply_text(r, HTTP_GONE, "Channel '%s' was deleted.",
                               push_sub_member(s, s->active)->channel);
    case PUSH_OUTCOME_CLIENT_GONE:
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, "long-poll client on "
                      "channel %s went away", s->channel);
        r->connection->aborted = 1;
        r->connection->keepalive = AP_CONN_CLOSE;
        return OK;
    case PUSH_OUTCOME_STOPPING:
        /* The client polls again at once, from the same cursor, and
         * reaches a live process. */
        r->connection->keepalive = AP_CONN_CLOSE;
        return reply_not_modified(r, ps->idle);
    case PUSH_OUTCOME_TIMEOUT:
        if (ps->expiry) {
            return push_reply_text(r, HTTP_REQUEST_TIME_OUT, "No message "
                                   "within %" APR_INT64_T_FMT " s "
                                   "(PushSubscriberTimeout).", ps->expiry);
        }
        /* fall through */
    default:
        return reply_not_modified(r, ps->idle);
    }
}

static int poll_serve(request_rec *r, const char *channel,
                      const push_transport_t *t, int wait)
{
    apr_int64_t timeout = push_conf_longpoll_timeout(push_conf(r));
    apr_int64_t expiry = push_conf_subscriber_timeout(push_conf(r));
    push_channel_info_t info;
    push_outcome_e outcome;
    push_message_t msg;
    push_msgid_t gap_id;
    push_status_e st;
    push_sub_t s;
    poll_state *ps;
    int gap = 0, rc;

    if (!push_sub_begin(r, t, channel, &s, &info)) {
        return OK;
    }
    ps = apr_palloc(r->pool, sizeof(*ps));
    ps->idle = poll_where(r->pool, &s, &info);
    ps->expiry = 0;
    if (wait && expiry && (!timeout || expiry <= timeout)) {
        ps->expiry = timeout = expiry;
    }
    s.tstate = ps;
    if (wait && (push_conf_buffer_length(push_conf(r)) == 0
                 || info.keep == 0)
        && push_sub_hold(&s, (apr_uint64_t)push_conf_backlog(push_conf(r)))
           != 0) {
        /* No history (PushMessageBufferLength 0): a message reaches the
         * subscribers that hold for it when it is published, this
         * waiting poll among them. */
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, "long poll on "
                      "channel %s: no room in the push store to hold its "
                      "next message (raise PushSharedMemorySize)",
                      s.channel);
    }
    /* A client polling again right after its last message (the usual
     * case) is known to be caught up: no need to look before waiting. */
    if (s.has_cursor && info.last_id.time != 0
        && push_msgid_cmp(&s.cursor, &info.last_id) >= 0) {
        push_sub_hint(&s, info.version, &s.cursor);
    }
    st = push_sub_look(&s, apr_time_now(), push_pool_copy, r->pool, &msg,
                       &gap, &gap_id);
    if (st == PUSH_FOUND) {
        outcome = PUSH_OUTCOME_MESSAGE;
    }
    else if (st == PUSH_GONE) {
        outcome = PUSH_OUTCOME_GONE;
    }
    else if (!wait) {
        outcome = PUSH_OUTCOME_TIMEOUT;
    }
    else if (push_park_longpoll(r, &s, apr_time_from_sec(timeout))) {
        /* The subscription is the loop's now; so is r.  It holds no
         * thread: its place is for the next subscriber. */
        push_admit_release();
        return SUSPENDED;
    }
    else {
        outcome = push_sub_wait(r, &s, timeout > 0
                                ? apr_time_now() + apr_time_from_sec(timeout)
                                : 0, &msg, &gap, &gap_id);
    }
    /* Answered while still subscribed: a multi-message answer looks
     * further in the store. */
    rc = poll_respond(&s, outcome, &msg, gap, &gap_id);
    push_sub_end(&s);
    return rc;
}

/* Any GET asks for polling: these two are the fallback. */
static int poll_detect(request_rec *r)
{
    (void)r;
    return 1;
}

static int longpoll_handle(request_rec *r, const char *channel);
static int poll_handle(request_rec *r, const char *channel);

static const push_transport_t longpoll_transport = {
    "longpoll", 2, PUSH_T_DEFAULT, 40, NULL,
    poll_detect, longpoll_handle, poll_respond,
    NULL, NULL, NULL, NULL, NULL, NULL
};

/* As in Nchan, a location that allows both polls short-polls. */
static const push_transport_t poll_transport = {
    "poll", 3, 0, 30, NULL,
    poll_detect, poll_handle, poll_respond,
    NULL, NULL, NULL, NULL, NULL, NULL
};

static int longpoll_handle(request_rec *r, const char *channel)
{
    return poll_serve(r, channel, &longpoll_transport, 1);
}

static int poll_handle(request_rec *r, const char *channel)
{
    return poll_serve(r, channel, &poll_transport, 0);
}

void push_poll_register(apr_pool_t *p)
{
    push_transport_register(p, &longpoll_transport);
    push_transport_register(p, &poll_transport);
}
