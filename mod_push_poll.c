/* mod_push_poll.c — the polling transports: a long poll waits for the
 * next message after the client's cursor; a short poll answers at once.
 * One message per response, the cursor in Last-Modified and Etag. */
#include "apr_strings.h"

#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"

#include "mod_push.h"
#include "mod_push_config.h"
#include "mod_push_http.h"

APLOG_USE_MODULE(push);

static int reply_message(request_rec *r, const push_message_t *msg,
                         int gap, const push_msgid_t *gap_id)
{
    push_set_cursor_headers(r, &msg->id);
    apr_table_setn(r->headers_out, "Cache-Control", "no-cache");
    apr_table_setn(r->headers_out, "X-Push-Message-Id",
                   push_msgid_str(r->pool, &msg->id));
    if (gap) {
        apr_table_setn(r->headers_out, "X-Push-Gap",
                       push_msgid_str(r->pool, gap_id));
    }
    if (msg->content_type_len) {
        ap_set_content_type(r, msg->content_type);
    }
    ap_set_content_length(r, msg->body_len);
    r->status = HTTP_OK;
    if (!r->header_only && msg->body_len) {
        ap_rwrite(msg->body, (int)msg->body_len, r);
    }
    return OK;
}

static int reply_not_modified(request_rec *r, const push_msgid_t *cursor)
{
    push_set_cursor_headers(r, cursor);
    apr_table_setn(r->headers_out, "Cache-Control", "no-cache");
    r->status = HTTP_NOT_MODIFIED;
    return OK;
}

/* The answer to a poll once its wait is over. */
static int reply_poll(request_rec *r, const char *channel, push_wait_e w,
                      const push_message_t *msg, int gap,
                      const push_msgid_t *gap_id,
                      const push_msgid_t *idle_cursor)
{
    switch (w) {
    case PUSH_WAIT_MESSAGE:
        return reply_message(r, msg, gap, gap_id);
    case PUSH_WAIT_GONE:
        return push_reply_text(r, HTTP_GONE, "Channel '%s' was deleted.",
                               channel);
    case PUSH_WAIT_CLIENT_GONE:
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, "long-poll client on "
                      "channel %s went away", channel);
        r->connection->aborted = 1;
        r->connection->keepalive = AP_CONN_CLOSE;
        return OK;
    case PUSH_WAIT_STOPPING:
        /* The client polls again at once, from the same cursor, and
         * reaches a live process. */
        r->connection->keepalive = AP_CONN_CLOSE;
        /* fall through */
    default:
        return reply_not_modified(r, idle_cursor);
    }
}

int push_poll_subscriber(request_rec *r, const push_dir_conf *conf,
                         const char *channel, int wait)
{
    push_transport_e transport = wait ? PUSH_TRANSPORT_LONGPOLL
                                      : PUSH_TRANSPORT_POLL;
    push_msgid_t cursor = {0, 0}, gap_id;
    push_channel_info_t info;
    push_message_t msg;
    push_sub_t sub;
    apr_int64_t timeout = push_conf_longpoll_timeout(conf);
    apr_time_t deadline = 0;
    push_wait_hint_t hint;
    push_wait_e w;
    int has_cursor, gap = 0;

    if (!push_subscriber_begin(r, conf, channel, transport, &sub, &info,
                               &cursor, &has_cursor)) {
        return OK;
    }
    /* A client polling again right after its last message (the usual
     * case) is known to be caught up: no need to look before waiting. */
    hint.valid = has_cursor && push_msgid_cmp(&cursor, &info.last_id) >= 0
                 && info.last_id.time != 0;
    hint.version = info.version;
    if (timeout > 0) {
        deadline = apr_time_now() + apr_time_from_sec(timeout);
    }
    if (wait && push_park_possible(r)) {
        /* Under the event MPM a long poll waits without a thread
         * (mod_push_park.c) when there is nothing for it now. */
        w = push_wait_next(r, r->pool, &sub, has_cursor ? &cursor : NULL,
                           0, 0, 0, &hint, &msg, &gap, &gap_id);
        if (w == PUSH_WAIT_TIMEOUT
            && push_park_longpoll(r, conf, channel, &sub,
                                  has_cursor ? &cursor : NULL,
                                  has_cursor ? &cursor : &info.last_id,
                                  &hint)) {
            return SUSPENDED;
        }
    }
    else {
        w = PUSH_WAIT_TIMEOUT;
    }
    if (w == PUSH_WAIT_TIMEOUT) {
        w = push_wait_next(r, r->pool, &sub, has_cursor ? &cursor : NULL,
                           deadline, 0, wait, &hint, &msg, &gap, &gap_id);
    }
    push_subscriber_end(&sub);
    return reply_poll(r, channel, w, &msg, gap, &gap_id,
                      has_cursor ? &cursor : &info.last_id);
}

int push_longpoll_resume(request_rec *r, const char *channel,
                         const push_sub_t *sub, const push_msgid_t *cursor,
                         const push_msgid_t *idle_cursor,
                         push_resume_e why)
{
    push_msgid_t gap_id;
    push_message_t msg;
    int gap = 0;
    push_wait_e w = push_wait_next(r, r->pool, sub, cursor, 0, 0, 0, NULL,
                                   &msg, &gap, &gap_id);

    if (w == PUSH_WAIT_TIMEOUT) {
        if (why == PUSH_RESUME_LOOK) {
            return SUSPENDED;
        }
        if (why == PUSH_RESUME_STOP) {
            w = PUSH_WAIT_STOPPING;
        }
    }
    return reply_poll(r, channel, w, &msg, gap, &gap_id, idle_cursor);
}
