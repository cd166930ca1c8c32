/* mod_push_upstream.c — PushPublisherUpstreamRequest <url>, as nchan's
 * nchan_publisher_upstream_request: each message an HTTP or WebSocket
 * publisher sends is POSTed to the URL (a local one, which may be proxied
 * to the application) before it is published, and the answer decides
 * (mod_push_upstream.h). */
#include "apr_strings.h"

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "http_request.h"

#include "mod_push.h"
#include "mod_push_config.h"
#include "mod_push_http.h"
#include "mod_push_subreq.h"
#include "mod_push_upstream.h"

APLOG_USE_MODULE(push);

const char *push_pub_upstream_url(request_rec *r, const push_dir_conf *conf,
                                  const char *channel, int *failed)
{
    const ap_expr_info_t *expr = push_conf_upstream(conf);
    const char *url;

    *failed = 0;
    if (!expr) {
        return NULL;
    }
    if (!(url = push_subreq_url(r, expr, "PushPublisherUpstreamRequest",
                                push_channel_shown(r->pool, channel)))) {
        *failed = 1;
    }
    return url;
}

int push_pub_upstream(request_rec *r, apr_pool_t *p, const char *url,
                      const char *const *ids, unsigned n,
                      const char *publisher_type, const char **body,
                      apr_size_t *len, const char **type, const char **why)
{
    apr_off_t max = push_conf_max_message_size(push_conf(r));
    push_subreq_body_t answer;
    request_rec *sub;
    int status;

    memset(&answer, 0, sizeof(answer));
    answer.pool = p;
    answer.cap = (apr_size_t)max;
    sub = push_subreq_post(r, url, ids, n, *body, *len, *type, &answer);
    apr_table_setn(sub->headers_in, "X-Push-Publisher-Type", publisher_type);
    status = push_subreq_run(sub);
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, "PushPublisherUpstreamRequest "
                  "%s for channel %s: %d", url, ids[0], status);
    switch (status) {
    case HTTP_OK:
    case HTTP_CREATED:
    case HTTP_ACCEPTED:
        /* The application's message instead of the publisher's. */
        if (answer.over) {
            status = HTTP_REQUEST_ENTITY_TOO_LARGE;
            *why = apr_psprintf(p, "The application's message is over "
                                "PushMaxMessageSize (%" APR_OFF_T_FMT
                                " bytes).", max);
            break;
        }
        *body = answer.len ? answer.body : "";
        *len = answer.len;
        *type = sub->content_type && strlen(sub->content_type) <= 255
                ? apr_pstrdup(p, sub->content_type) : NULL;
        status = OK;
        break;
    case HTTP_NOT_MODIFIED:
        status = OK;            /* as the publisher sent it */
        break;
    case HTTP_NO_CONTENT:
        *why = "The application dropped the message.";
        break;
    default:
        *why = apr_psprintf(p, ap_is_HTTP_SERVER_ERROR(status)
                            ? "The application could not be asked "
                              "(PushPublisherUpstreamRequest answered %d)."
                            : "The application refused the message "
                              "(PushPublisherUpstreamRequest answered %d).",
                            status);
        status = ap_is_HTTP_SERVER_ERROR(status) ? HTTP_BAD_GATEWAY
                                                 : HTTP_FORBIDDEN;
        break;
    }
    ap_destroy_sub_req(sub);
    return status;
}
