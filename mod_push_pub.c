/* mod_push_pub.c — the publisher: POST/PUT publish, GET channel info,
 * DELETE channel, a WebSocket that publishes (mod_push_ws.c) (SetHandler
 * push-publisher). */
#include "apr_strings.h"

#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"

#include "mod_push.h"
#include "mod_push_authz.h"
#include "mod_push_config.h"
#include "mod_push_events.h"
#include "mod_push_http.h"
#include "mod_push_pub.h"
#include "mod_push_redis.h"
#include "mod_push_publish.h"
#include "mod_push_upstream.h"
#include "mod_push_store.h"
#include "mod_push_subreq.h"
#include "mod_push_transport.h"

APLOG_USE_MODULE(push);

static int publish(request_rec *r, const push_dir_conf *conf,
                   const char *channel)
{
    const char *ctype = apr_table_get(r->headers_in, "Content-Type");
    const char *event = push_conf_es_event(conf, NULL);

    if (!event) {
        event = apr_table_get(r->headers_in, "X-EventSource-Event");
    }
    apr_off_t max = push_conf_max_message_size(conf);
    const char *id_str = NULL, *ids[PUSH_MUX_MAX], *url;
    push_channel_info_t info, all;
    unsigned n, done;
    int up;
    push_message_t msg;
    push_msgid_t id;
    push_status_e st;
    apr_size_t len;
    char *body;
    int rv;

    if (ctype && strlen(ctype) > 255) {
        return push_reply_text(r, HTTP_BAD_REQUEST,
                               "Content-Type is longer than 255 bytes.");
    }
    if (event && (strlen(event) > 255 || strpbrk(event, "\r\n"))) {
        return push_reply_text(r, HTTP_BAD_REQUEST,
                               "X-EventSource-Event must be at most 255 "
                               "bytes on one line.");
    }
    rv = push_read_body(r, max, &body, &len);
    if (rv == HTTP_REQUEST_ENTITY_TOO_LARGE) {
        return push_reply_text(r, rv, "Message too large: the limit "
                               "(PushMaxMessageSize) is %" APR_OFF_T_FMT
                               " bytes.", max);
    }
    if (rv != OK) {
        return rv;
    }
    n = push_channel_set_split(apr_pstrdup(r->pool, channel), ids,
                               PUSH_MUX_MAX);
    if ((url = push_pub_upstream_url(r, conf, channel, &up)) || up) {
        const char *why, *data = body;

        if (!url) {
            return push_reply_text(r, HTTP_INTERNAL_SERVER_ERROR, "The "
                                   "message could not be passed to the "
                                   "application.");
        }
        up = push_pub_upstream(r, r->pool, url, ids, n, "http", &data,
                               &len, &ctype, &why);
        if (up == HTTP_NO_CONTENT) {
            r->status = HTTP_NO_CONTENT;    /* dropped, as it asked */
            return OK;
        }
        if (up != OK) {
            return push_reply_text(r, up, "%s", why);
        }
        body = (char *)data;
    }
    memset(&msg, 0, sizeof(msg));
    msg.body = body;
    msg.body_len = len;
    msg.content_type = ctype ? ctype : "";
    msg.content_type_len = ctype ? strlen(ctype) : 0;
    msg.event = event ? event : "";
    msg.event_len = event ? strlen(event) : 0;
    st = push_publish_to(r, conf, ids, n, &msg, 1, &all, &info, &id, &done);
    if (st != PUSH_OK && done > 0) {
        /* The channels before this one have it: a retry would give them
         * a second copy.  Said, so the publisher can tell. */
        apr_table_setn(r->err_headers_out, "X-Push-Published-To",
                       apr_psprintf(r->pool, "%u of %u", done, n));
    }
    switch (st) {
    case PUSH_OK:
        break;
    case PUSH_TOO_BIG:
        return push_reply_text(r, HTTP_INSUFFICIENT_STORAGE,
                               "Message cannot fit in the push store "
                               "(PushSharedMemorySize) even after evicting "
                               "every other message.");
    case PUSH_NO_CHANNEL_SLOT:
        return push_reply_no_channel(r, ids[done]);
    case PUSH_UNAVAILABLE:
        apr_table_setn(r->err_headers_out, "Retry-After", "1");
        return push_reply_text(r, HTTP_SERVICE_UNAVAILABLE,
                               "Redis (PushRedis) did not take the message "
                               "within PushRedisTimeout: nothing was "
                               "published; try again.");
    default:
        return push_reply_text(r, HTTP_BAD_REQUEST, "Message refused.");
    }
    /* Formatted once: the header and the JSON both say it. */
    id_str = push_msgid_str(r->pool, &id);
    r->status = all.subscribers ? HTTP_CREATED : HTTP_ACCEPTED;
    if (n > 1) {
        /* Each channel gave it an id of its own: none is the answer's,
         * as nchan answers a publish to several channels. */
        push_reply_channel_info(r, push_channel_shown(r->pool, channel),
                                &all, NULL);
        return OK;
    }
    apr_table_setn(r->headers_out, "X-Push-Message-Id", id_str);
    push_reply_channel_info(r, channel, &info, id_str);
    return OK;
}

/* DELETE, or GET (del 0): each channel of the request's set; 404 when
 * none of them exists. */
static int delete_or_info(request_rec *r, const char *channel, int del)
{
    const char *ids[PUSH_MUX_MAX];
    push_channel_info_t info, all;
    unsigned n, i, found = 0;

    memset(&all, 0, sizeof(all));
    n = push_channel_set_split(apr_pstrdup(r->pool, channel), ids,
                               PUSH_MUX_MAX);
    for (i = 0; i < n; i++) {
        long long had = 0;
        apr_uint32_t elsewhere = 0;
        push_status_e st;

        if (push_redis_on(r->server)) {
            /* Redis first: a DELETE ends every server's subscribers, and
             * the info is of the channel as Redis has it; both count the
             * other servers' subscribers (those a DELETE ends there). */
            elsewhere = push_redis_subscribers_elsewhere(r, ids[i]);
            if (!del) {
                push_redis_sync(r, ids[i]);
            }
            else if (push_redis_delete_to(r, ids[i], &had) != PUSH_OK) {
                apr_table_setn(r->err_headers_out, "Retry-After", "1");
                return push_reply_text(r, HTTP_SERVICE_UNAVAILABLE,
                                       "Redis (PushRedis) did not take the "
                                       "delete of '%s' within "
                                       "PushRedisTimeout; try again.",
                                       push_channel_shown(r->pool, ids[i]));
            }
        }
        st = del ? push_store_delete(push_store(), ids[i], strlen(ids[i]),
                                     apr_time_sec(r->request_time), &info)
                 : push_store_info(push_store(), ids[i], strlen(ids[i]),
                                   apr_time_sec(r->request_time), &info);
        if (del && st != PUSH_OK && (had > 0 || elsewhere > 0)) {
            /* Not here, but in Redis, or followed elsewhere. */
            memset(&info, 0, sizeof(info));
            info.messages = (apr_uint32_t)had;
            st = PUSH_OK;
        }
        if (!del && st != PUSH_OK && elsewhere > 0) {
            /* A channel with subscribers on other servers exists, even
             * with no message yet and none of them here. */
            memset(&info, 0, sizeof(info));
            st = PUSH_OK;
        }
        if (st == PUSH_OK) {
            info.subscribers += elsewhere;
        }
        if (st != PUSH_OK) {
            continue;
        }
        found++;
        if (del) {
            push_event(r, PUSH_EV_CHANNEL_DELETE, ids[i]);
            ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, "deleted channel "
                          "%s (%u messages, %u subscribers)", ids[i],
                          info.messages, info.subscribers);
        }
        push_channel_info_add(&all, &info);
    }
    if (!found) {
        return push_reply_text(r, HTTP_NOT_FOUND, "Channel '%s' not found.",
                               push_channel_shown(r->pool, channel));
    }
    if (n == 1) {
        push_reply_channel_info(r, channel, &info, NULL);
        return OK;
    }
    push_reply_channel_info(r, push_channel_shown(r->pool, channel), &all,
                            NULL);
    return OK;
}

static int publisher_handler(request_rec *r)
{
    const push_dir_conf *conf;
    const char *channel;
    static const char allow[] = "GET, POST, PUT, DELETE, OPTIONS";

    /* push-pubsub: its POST, PUT and DELETE are a publisher's; GET and
     * OPTIONS go to the subscriber handler. */
    if (strcmp(r->handler, "push-publisher") && !push_pubsub_publishes(r)) {
        return DECLINED;
    }
    conf = push_conf(r);
    if (!push_store()) {
        return push_reply_text(r, HTTP_SERVICE_UNAVAILABLE,
                               "The push store is not available.");
    }
    push_add_cors(r, conf);
    if (r->method_number == M_OPTIONS) {
        return push_reply_preflight(r, conf, allow, "Content-Type, "
                               "X-EventSource-Event, If-Modified-Since, "
                               "If-None-Match, Last-Event-ID");
    }
    if (r->method_number != M_GET && r->method_number != M_POST
        && r->method_number != M_PUT && r->method_number != M_DELETE) {
        apr_table_setn(r->headers_out, "Allow", allow);
        return push_reply_text(r, HTTP_METHOD_NOT_ALLOWED,
                               "Method %s not allowed: a publisher takes "
                               "%s.", r->method, allow);
    }
    if (!(channel = push_authorized_channel(r, conf, 1))) {
        return OK;
    }
    if (r->method_number == M_GET && push_ws_asks(r)) {
        /* nchan's websocket publisher: each message it sends is a
         * publish, answered with the channel's info. */
        return push_ws_publisher(r, channel);
    }
    switch (r->method_number) {
    case M_POST:
    case M_PUT:
        return publish(r, conf, channel);
    case M_DELETE:
        return delete_or_info(r, channel, 1);
    default:
        return delete_or_info(r, channel, 0);
    }
}

void push_pub_register_hooks(apr_pool_t *p)
{
    (void)p;
    ap_hook_handler(publisher_handler, NULL, NULL, APR_HOOK_MIDDLE);
}
