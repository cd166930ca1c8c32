/* mod_push_authz.c — PushAuthorizeRequest <url>, as nchan's
 * nchan_authorize_request: before a subscriber subscribes (every long
 * poll, every stream) or a publisher publishes, a GET subrequest to the
 * URL (a local one, which may be proxied to the application) with the
 * client's own headers and cookies, plus:
 *
 *   X-Push-Channel-Id     the channel (a multiplexed request: one such
 *                         header for each of its channels, in order)
 *   X-Push-Role           subscriber | publisher
 *   X-Original-URI        the client's request line's URI
 *   X-Original-Method     its method
 *
 * A 2xx answer allows.  Anything else is given to the client as the
 * authorizer gave it: its status, headers and body (mod_push_subreq.c
 * catches them; nothing of them reaches the client otherwise).  It runs
 * on the request's worker thread, before anything is parked. */
#include "apr_strings.h"

#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "util_filter.h"

#include "mod_push.h"
#include "mod_push_authz.h"
#include "mod_push_http.h"
#include "mod_push_subreq.h"

APLOG_USE_MODULE(push);

#define AUTHZ_BODY_MAX 65536   /* of a refusal's body, kept for the client */

/* Headers of the refusal that are the authorizer's to say. */
static int copy_header(void *rec, const char *key, const char *value)
{
    request_rec *r = rec;

    if (strcasecmp(key, "Content-Length") && strcasecmp(key, "Content-Type")
        && strcasecmp(key, "Transfer-Encoding")
        && strcasecmp(key, "Connection") && strcasecmp(key, "Keep-Alive")) {
        apr_table_addn(r->err_headers_out, key, value);
    }
    return 1;
}

static int authorize(request_rec *r, const push_dir_conf *conf,
                     const char *channel, const char *role)
{
    const ap_expr_info_t *expr = push_conf_authorize(conf);
    const char *url, *ids[PUSH_MUX_MAX];
    push_subreq_body_t *cap;
    request_rec *sub;
    unsigned n;
    int status;

    if (!expr) {
        return OK;
    }
    if (!(url = push_subreq_url(r, expr, "PushAuthorizeRequest",
                                push_channel_shown(r->pool, channel)))) {
        push_reply_text(r, HTTP_INTERNAL_SERVER_ERROR, "The authorization "
                        "request could not be made.");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    n = push_channel_set_split(apr_pstrdup(r->pool, channel), ids,
                               PUSH_MUX_MAX);
    /* Grown as a refusal's body comes (an allowing answer has none to
     * speak of): a parked subscriber's request pool lives as long as it
     * does. */
    cap = apr_pcalloc(r->pool, sizeof(*cap));
    cap->cap = AUTHZ_BODY_MAX;
    cap->pool = r->pool;
    sub = push_subreq_new(r, url, ids, n, cap);
    apr_table_setn(sub->headers_in, "X-Push-Role", role);
    status = push_subreq_run(sub);
    if (ap_is_HTTP_SUCCESS(status)) {
        ap_destroy_sub_req(sub);
        return OK;
    }
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, "%s for channel %s refused "
                  "by PushAuthorizeRequest %s: %d", role,
                  push_channel_shown(r->pool, channel), url, status);
    apr_table_do(copy_header, r, sub->headers_out, NULL);
    apr_table_do(copy_header, r, sub->err_headers_out, NULL);
    if (cap->len) {
        r->status = status;
        if (sub->content_type) {
            ap_set_content_type(r, apr_pstrdup(r->pool, sub->content_type));
        }
        ap_set_content_length(r, (apr_off_t)cap->len);
        if (!r->header_only) {
            ap_rwrite(cap->body, (int)cap->len, r);
        }
    }
    else {
        push_reply_text(r, status, "Not authorized (PushAuthorizeRequest "
                        "answered %d).", status);
    }
    ap_destroy_sub_req(sub);
    return status;
}

const char *push_authorized_channel(request_rec *r,
                                    const push_dir_conf *conf, int publisher)
{
    const char *channel = push_request_channel(
        r, conf, !push_is_pubsub(r) ? PUSH_ROLE_ANY
                 : publisher ? PUSH_ROLE_PUBLISHER : PUSH_ROLE_SUBSCRIBER);

    if (!channel || authorize(r, conf, channel, publisher ? "publisher"
                                                          : "subscriber")
                    != OK) {
        return NULL;
    }
    return channel;
}

