/* mod_push_subreq.c — the GET subrequests mod_push makes to a local URL
 * on a client's behalf (see mod_push_subreq.h).  The URL may be proxied
 * to the application.  The answer is caught by a filter of ours at the
 * head of the subrequest's output chain, so nothing of it reaches the
 * client. */
#include "apr_strings.h"

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "http_request.h"
#include "util_filter.h"

#include "mod_push.h"
#include "mod_push_http.h"
#include "mod_push_subreq.h"

APLOG_USE_MODULE(push);

#define CAPTURE_FILTER "PUSH_SUBREQ_CAPTURE"

static ap_filter_rec_t *capture_filter_rec;

static apr_status_t capture_filter(ap_filter_t *f, apr_bucket_brigade *bb)
{
    push_subreq_body_t *cap = f->ctx;
    apr_bucket *b;

    for (b = APR_BRIGADE_FIRST(bb); b != APR_BRIGADE_SENTINEL(bb);
         b = APR_BUCKET_NEXT(b)) {
        const char *data;
        apr_size_t n;

        if (APR_BUCKET_IS_METADATA(b) || cap->len >= cap->cap) {
            continue;
        }
        if (apr_bucket_read(b, &data, &n, APR_BLOCK_READ) != APR_SUCCESS) {
            break;
        }
        if (n > cap->cap - cap->len) {
            n = cap->cap - cap->len;
        }
        memcpy(cap->body + cap->len, data, n);
        cap->len += n;
    }
    apr_brigade_cleanup(bb);
    return APR_SUCCESS;
}

const char *push_subreq_url(request_rec *r, const ap_expr_info_t *expr,
                            const char *directive, const char *channel)
{
    const char *url, *err = NULL;

    url = ap_expr_str_exec(r, expr, &err);
    if (err || !url || url[0] != '/') {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "%s gives no local URL "
                      "for channel %s: %s", directive,
                      push_channel_shown(r->pool, channel),
                      err ? err : url ? url : "empty");
        return NULL;
    }
    return url;
}

request_rec *push_subreq_new(request_rec *r, const char *url,
                             const char *const *ids, unsigned n,
                             push_subreq_body_t *body)
{
    request_rec *sub = ap_sub_req_method_uri("GET", url, r, NULL);
    unsigned i;

    sub->headers_in = apr_table_copy(sub->pool, r->headers_in);
    apr_table_unset(sub->headers_in, "Content-Length");
    apr_table_unset(sub->headers_in, "Transfer-Encoding");
    apr_table_unset(sub->headers_in, "Upgrade");
    apr_table_setn(sub->headers_in, "Connection", "close");
    apr_table_unset(sub->headers_in, "X-Push-Channel-Id");
    for (i = 0; i < n; i++) {
        apr_table_addn(sub->headers_in, "X-Push-Channel-Id", ids[i]);
    }
    apr_table_setn(sub->headers_in, "X-Original-URI", r->unparsed_uri);
    apr_table_setn(sub->headers_in, "X-Original-Method", r->method);
    ap_add_output_filter_handle(capture_filter_rec, body, sub,
                                sub->connection);
    return sub;
}

int push_subreq_run(request_rec *sub)
{
    int rc = sub->status == HTTP_OK ? ap_run_sub_req(sub) : sub->status;

    return rc == OK || rc == DONE ? sub->status : rc;
}

void push_subreq_register_hooks(apr_pool_t *p)
{
    (void)p;
    capture_filter_rec = ap_register_output_filter(CAPTURE_FILTER,
                                                   capture_filter, NULL,
                                                   AP_FTYPE_RESOURCE);
}
