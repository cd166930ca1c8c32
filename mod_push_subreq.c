/* mod_push_subreq.c — the subrequests mod_push makes to a local URL
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
#include "mod_push_subreq.h"

APLOG_USE_MODULE(push);

#define CAPTURE_FILTER "PUSH_SUBREQ_CAPTURE"
#define BODY_FILTER    "PUSH_BODY_REPLAY"

static ap_filter_rec_t *capture_filter_rec;
static ap_filter_rec_t *body_filter_rec;

static apr_status_t body_filter(ap_filter_t *f, apr_bucket_brigade *bb,
                                ap_input_mode_t mode, apr_read_type_e block,
                                apr_off_t readbytes)
{
    push_body_replay_t *b = f->ctx;
    apr_size_t n = b->len - b->given;

    if (mode != AP_MODE_READBYTES && mode != AP_MODE_SPECULATIVE) {
        return ap_get_brigade(f->next, bb, mode, block, readbytes);
    }
    if (n == 0) {
        if (!b->complete) {
            return ap_get_brigade(f->next, bb, mode, block, readbytes);
        }
        APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_eos_create(bb->bucket_alloc));
        return APR_SUCCESS;
    }
    if (readbytes > 0 && (apr_off_t)n > readbytes) {
        n = (apr_size_t)readbytes;
    }
    APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_transient_create(
                                b->data + b->given, n, bb->bucket_alloc));
    if (mode == AP_MODE_READBYTES) {
        b->given += n;
    }
    return APR_SUCCESS;
}

void push_body_replay(request_rec *r, push_body_replay_t *b)
{
    ap_add_input_filter_handle(body_filter_rec, b, r, r->connection);
}

/* Room for n more bytes of the answer (grown in its pool when it has
 * one); how many fit. */
static apr_size_t capture_room(push_subreq_body_t *cap, apr_size_t n)
{
    if (n > cap->cap - cap->len) {
        n = cap->cap - cap->len;
        cap->over = 1;
    }
    if (cap->pool && cap->len + n > cap->room) {
        apr_size_t room = cap->room ? cap->room : 8192;
        char *bigger;

        while (room < cap->len + n) {
            room *= 2;
        }
        if (room > cap->cap) {
            room = cap->cap;
        }
        bigger = apr_palloc(cap->pool, room + 1);
        if (cap->len) {
            memcpy(bigger, cap->body, cap->len);
        }
        cap->body = bigger;
        cap->room = room;
    }
    return n;
}

static apr_status_t capture_filter(ap_filter_t *f, apr_bucket_brigade *bb)
{
    push_subreq_body_t *cap = f->ctx;
    apr_bucket *b;

    for (b = APR_BRIGADE_FIRST(bb); b != APR_BRIGADE_SENTINEL(bb);
         b = APR_BUCKET_NEXT(b)) {
        const char *data;
        apr_size_t n;

        if (APR_BUCKET_IS_METADATA(b) || (cap->cap == 0 && !cap->pool)) {
            continue;
        }
        if (apr_bucket_read(b, &data, &n, APR_BLOCK_READ) != APR_SUCCESS) {
            break;
        }
        if ((n = capture_room(cap, n)) > 0) {
            memcpy(cap->body + cap->len, data, n);
            cap->len += n;
            if (cap->pool) {
                cap->body[cap->len] = '\0';   /* room + 1 was taken */
            }
        }
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
                      channel,
                      err ? err : url ? url : "empty");
        return NULL;
    }
    return url;
}

/* The headers every one of these subrequests carries, and the capture
 * of its answer. */
static void prepare(request_rec *sub, request_rec *r,
                    const char *const *ids, unsigned n,
                    push_subreq_body_t *body)
{
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
}

request_rec *push_subreq_new(request_rec *r, const char *url,
                             const char *const *ids, unsigned n,
                             push_subreq_body_t *body)
{
    request_rec *sub = ap_sub_req_method_uri("GET", url, r, NULL);

    prepare(sub, r, ids, n, body);
    return sub;
}

request_rec *push_subreq_post(request_rec *r, const char *url,
                              const char *const *ids, unsigned n,
                              const char *data, apr_size_t len,
                              const char *type, push_subreq_body_t *answer)
{
    request_rec *sub = ap_sub_req_method_uri("POST", url, r, NULL);
    push_body_replay_t *b = apr_pcalloc(sub->pool, sizeof(*b));

    prepare(sub, r, ids, n, answer);
    apr_table_setn(sub->headers_in, "Content-Length",
                   apr_off_t_toa(sub->pool, (apr_off_t)len));
    if (type) {
        apr_table_setn(sub->headers_in, "Content-Type", type);
    }
    else {
        apr_table_unset(sub->headers_in, "Content-Type");
    }
    b->data = data;
    b->len = len;
    b->complete = 1;
    /* mod_proxy passes a subrequest's body on only when it has a kept
     * body; ours is read through the filter. */
    sub->kept_body = apr_brigade_create(sub->pool,
                                        sub->connection->bucket_alloc);
    push_body_replay(sub, b);
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
    body_filter_rec = ap_register_input_filter(BODY_FILTER, body_filter,
                                               NULL, AP_FTYPE_RESOURCE);
}
