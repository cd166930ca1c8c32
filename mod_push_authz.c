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
 * authorizer gave it: its status, headers and body.  The subrequest's
 * output is caught by a filter of ours at the head of its chain, so
 * nothing of it reaches the client otherwise.  It runs on the request's
 * worker thread, before anything is parked. */
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

APLOG_USE_MODULE(push);

#define AUTHZ_FILTER   "PUSH_AUTHZ_CAPTURE"
#define AUTHZ_BODY_MAX 65536   /* of a refusal's body, kept for the client */

typedef struct {
    char       *body;
    apr_size_t  len;
} authz_capture;

static ap_filter_rec_t *capture_filter_rec;

static apr_status_t capture_filter(ap_filter_t *f, apr_bucket_brigade *bb)
{
    authz_capture *cap = f->ctx;
    apr_bucket *b;

    for (b = APR_BRIGADE_FIRST(bb); b != APR_BRIGADE_SENTINEL(bb);
         b = APR_BUCKET_NEXT(b)) {
        const char *data;
        apr_size_t n;

        if (APR_BUCKET_IS_METADATA(b)) {
            continue;
        }
        if (apr_bucket_read(b, &data, &n, APR_BLOCK_READ) != APR_SUCCESS) {
            break;
        }
        if (cap->len + n > AUTHZ_BODY_MAX) {
            n = AUTHZ_BODY_MAX - cap->len;
        }
        if (n) {
            memcpy(cap->body + cap->len, data, n);
            cap->len += n;
        }
    }
    apr_brigade_cleanup(bb);
    return APR_SUCCESS;
}

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
    const char *url, *err = NULL;
    authz_capture *cap;
    request_rec *sub;
    int rc, status;

    if (!expr) {
        return OK;
    }
    url = ap_expr_str_exec(r, expr, &err);
    if (err || !url || url[0] != '/') {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "PushAuthorizeRequest "
                      "gives no local URL for channel %s: %s",
                      push_channel_shown(r->pool, channel),
                      err ? err : url ? url : "empty");
        push_reply_text(r, HTTP_INTERNAL_SERVER_ERROR, "The authorization "
                        "request could not be made.");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    sub = ap_sub_req_method_uri("GET", url, r, NULL);
    sub->headers_in = apr_table_copy(sub->pool, r->headers_in);
    apr_table_unset(sub->headers_in, "Content-Length");
    apr_table_unset(sub->headers_in, "Transfer-Encoding");
    apr_table_unset(sub->headers_in, "Upgrade");
    apr_table_setn(sub->headers_in, "Connection", "close");
    {
        const char *ids[PUSH_MUX_MAX];
        unsigned n = push_channel_set_split(apr_pstrdup(r->pool, channel),
                                            ids, PUSH_MUX_MAX), i;

        apr_table_unset(sub->headers_in, "X-Push-Channel-Id");
        for (i = 0; i < n; i++) {
            apr_table_addn(sub->headers_in, "X-Push-Channel-Id", ids[i]);
        }
    }
    apr_table_setn(sub->headers_in, "X-Push-Role", role);
    apr_table_setn(sub->headers_in, "X-Original-URI", r->unparsed_uri);
    apr_table_setn(sub->headers_in, "X-Original-Method", r->method);
    cap = apr_pcalloc(r->pool, sizeof(*cap));
    cap->body = apr_palloc(r->pool, AUTHZ_BODY_MAX);
    ap_add_output_filter_handle(capture_filter_rec, cap, sub,
                                sub->connection);
    rc = sub->status == HTTP_OK ? ap_run_sub_req(sub) : sub->status;
    status = rc == OK || rc == DONE ? sub->status : rc;
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

void push_authz_register_hooks(apr_pool_t *p)
{
    (void)p;
    capture_filter_rec = ap_register_output_filter(AUTHZ_FILTER,
                                                   capture_filter, NULL,
                                                   AP_FTYPE_RESOURCE);
}
