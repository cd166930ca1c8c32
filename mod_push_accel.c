/* mod_push_accel.c — PushXAccelRedirect On: where a response (from any
 * handler: mod_proxy to an application, mod_proxy_fcgi to PHP-FPM, CGI)
 * carries X-Accel-Redirect: /some/local/url, the client does not get
 * it; the request is internally redirected to that URL instead, as nginx
 * does for its proxied applications.  The application authenticates a
 * client and picks its channel; the client becomes a subscriber (or a
 * publisher) of a push location it cannot reach directly (Require expr
 * on REDIRECT_STATUS, set by httpd's internal redirect).
 *
 * How: our handler runs first on such a location and runs the real one
 * itself (ap_run_handler), with a filter of ours at the head of the
 * output chain.  The filter looks at the response headers when the
 * first output comes: with X-Accel-Redirect, it swallows the response;
 * after the handler, ours redirects.  Because our handler is the one
 * the MPM called, a parked subscriber's SUSPENDED can be handed on to
 * it, which ap_internal_redirect alone cannot do.
 *
 * A request body is kept (up to PushMaxMessageSize) before the
 * application reads its copy, so that a publisher it hands a POST to
 * still has the message. */
#include "apr_strings.h"

#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "util_filter.h"

#include "mod_push.h"
#include "mod_push_accel.h"
#include "mod_push_config.h"
#include "mod_push_subreq.h"

APLOG_USE_MODULE(push);

#define ACCEL_KEY    "push-accel"
#define ACCEL_OUT    "PUSH_X_ACCEL"
#define ACCEL_HEADER "X-Accel-Redirect"

typedef struct {
    const char  *target;      /* the application's X-Accel-Redirect */
    int          redirecting; /* inside our ap_internal_redirect */
    int          passed;      /* the response went out: no redirect */
    int          parked;      /* its target returned SUSPENDED */
    ap_filter_t *hidden;      /* the parked target's output filters */
    /* The body, kept: `kept_len` bytes, all of it when complete; given
     * again (`replay`) to the application, then to the target. */
    char        *kept;
    apr_size_t   kept_len;
    int          has_body;
    int          complete;
    push_body_replay_t replay;
} accel_ctx;

static ap_filter_rec_t *out_rec;

/* Kept in the request pool, which the internal redirects share. */
static accel_ctx *ctx_of(const request_rec *r)
{
    void *x = NULL;

    apr_pool_userdata_get(&x, ACCEL_KEY, r->pool);
    return x;
}

request_rec *push_accel_first(request_rec *r)
{
    while (r->prev) {
        r = r->prev;
    }
    return r;
}

int push_accel_may_suspend(const request_rec *r)
{
    accel_ctx *x;

    return r->prev && !r->prev->prev && !r->main
           && (x = ctx_of(r)) && x->redirecting;
}

void push_accel_suspended(request_rec *r)
{
    accel_ctx *x = ctx_of(r);

    if (x && r->prev) {
        x->parked = 1;
        x->hidden = r->output_filters;
        r->output_filters = r->connection->output_filters;
    }
}

void push_accel_restore(request_rec *r)
{
    accel_ctx *x = r->prev ? ctx_of(r) : NULL;

    if (x && x->hidden) {
        r->output_filters = x->hidden;
        x->hidden = NULL;
    }
}

int push_accel_kept_body(request_rec *r, apr_off_t max, char **buf,
                         apr_size_t *len, int *rv)
{
    accel_ctx *x = r->prev ? ctx_of(r) : NULL;

    if (!x || !x->has_body) {
        return 0;
    }
    if (!x->complete || (apr_off_t)x->kept_len > max) {
        r->connection->keepalive = AP_CONN_CLOSE;
        *rv = HTTP_REQUEST_ENTITY_TOO_LARGE;
        return 1;
    }
    *buf = x->kept;
    *len = x->kept_len;
    *rv = OK;
    return 1;
}

/* ------------------------------------------------------------------ */
/* The response: passed on, or swallowed for a redirect                 */

static const char *accel_header(request_rec *r)
{
    const char *t = apr_table_get(r->headers_out, ACCEL_HEADER);

    return t ? t : apr_table_get(r->err_headers_out, ACCEL_HEADER);
}

static apr_status_t accel_out(ap_filter_t *f, apr_bucket_brigade *bb)
{
    accel_ctx *x = f->ctx;

    if (!x->target && !(x->target = accel_header(f->r))) {
        x->passed = 1;
        ap_remove_output_filter(f);
        return ap_pass_brigade(f->next, bb);
    }
    apr_brigade_cleanup(bb);
    return APR_SUCCESS;
}

/* ------------------------------------------------------------------ */
/* The body: kept, then given to the application as it reads           */

static int body_expected(request_rec *r)
{
    const char *cl = apr_table_get(r->headers_in, "Content-Length");

    return apr_table_get(r->headers_in, "Transfer-Encoding")
           || (cl && strcmp(cl, "0"));
}

/* Reads up to max + 1 bytes of the body (all of it when shorter). */
static int keep_body(request_rec *r, accel_ctx *x, apr_off_t max)
{
    apr_bucket_brigade *bb = apr_brigade_create(r->pool,
                                                r->connection->bucket_alloc);
    apr_size_t cap = 8192;

    x->has_body = 1;
    x->kept = apr_palloc(r->pool, cap + 1);
    while (!x->complete && (apr_off_t)x->kept_len <= max) {
        apr_status_t rv = ap_get_brigade(r->input_filters, bb,
                                         AP_MODE_READBYTES, APR_BLOCK_READ,
                                         8192);
        apr_bucket *b;

        if (rv != APR_SUCCESS) {
            ap_log_rerror(APLOG_MARK, APLOG_INFO, rv, r, "X-Accel-Redirect "
                          "location: reading the request body failed");
            return ap_map_http_request_error(rv, HTTP_BAD_REQUEST);
        }
        for (b = APR_BRIGADE_FIRST(bb); b != APR_BRIGADE_SENTINEL(bb);
             b = APR_BUCKET_NEXT(b)) {
            const char *data;
            apr_size_t n;

            if (APR_BUCKET_IS_EOS(b)) {
                x->complete = 1;
                break;
            }
            if (APR_BUCKET_IS_METADATA(b)) {
                continue;
            }
            if (apr_bucket_read(b, &data, &n, APR_BLOCK_READ)
                != APR_SUCCESS) {
                return HTTP_BAD_REQUEST;
            }
            if (x->kept_len + n > cap) {
                char *bigger;

                while (x->kept_len + n > cap) {
                    cap *= 2;
                }
                bigger = apr_palloc(r->pool, cap + 1);
                memcpy(bigger, x->kept, x->kept_len);
                x->kept = bigger;
            }
            memcpy(x->kept + x->kept_len, data, n);
            x->kept_len += n;
        }
        apr_brigade_cleanup(bb);
    }
    x->kept[x->kept_len] = '\0';   /* as push_read_body gives a body */
    return OK;
}

/* ------------------------------------------------------------------ */
/* The handler around the handler                                       */

/* The target as given, with the client's query string when it has none
 * of its own (push.js resumes with ?last_event_id=); NULL when it is not
 * a local path. */
static const char *redirect_uri(request_rec *r, const char *t)
{
    if (t[0] != '/' || t[1] == '/' || ap_strchr_c(t, '\r')
        || ap_strchr_c(t, '\n')) {
        return NULL;
    }
    if (!ap_strchr_c(t, '?') && r->args && *r->args) {
        return apr_pstrcat(r->pool, t, "?", r->args, NULL);
    }
    return t;
}

/* Headers of nginx's X-Accel family are for the server, not the client
 * (X-Accel-Buffering: streams here are never buffered anyway). */
static void strip_accel(apr_table_t *t)
{
    static const char *const names[] = {
        ACCEL_HEADER, "X-Accel-Buffering", "X-Accel-Charset",
        "X-Accel-Expires", "X-Accel-Limit-Rate", NULL
    };
    int i;

    for (i = 0; names[i]; i++) {
        apr_table_unset(t, names[i]);
    }
}

static int accel_handler(request_rec *r)
{
    const push_dir_conf *conf = push_conf(r);
    const char *target, *uri;
    accel_ctx *x;
    int rc;

    if (r->main || r->prev || !conf || !push_conf_x_accel(conf)
        || ctx_of(r) || (r->handler && !strncmp(r->handler, "push-", 5))) {
        /* Not here, the run of the handler below, or a push location
         * itself (inheriting the directive): nothing to hand over. */
        return DECLINED;
    }
    x = apr_pcalloc(r->pool, sizeof(*x));
    apr_pool_userdata_setn(x, ACCEL_KEY, NULL, r->pool);
    if (body_expected(r)) {
        if ((rc = keep_body(r, x, push_conf_max_message_size(conf))) != OK) {
            return rc;
        }
        x->replay.data = x->kept;
        x->replay.len = x->kept_len;
        x->replay.complete = x->complete;
        push_body_replay(r, &x->replay);
    }
    ap_add_output_filter_handle(out_rec, x, r, r->connection);

    rc = ap_run_handler(r);

    target = x->target ? x->target : accel_header(r);
    if (target && x->passed) {
        /* Added after the response began (an output filter's header):
         * it went to the client; a second response cannot follow. */
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, "X-Accel-Redirect "
                      "'%s' came after the response of %s began; not "
                      "followed", target, r->uri);
        return rc;
    }
    if (!target || (rc != OK && rc != DONE)) {
        return rc;
    }
    if (!(uri = redirect_uri(r, target))) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "X-Accel-Redirect '%s' "
                      "from the handler of %s is not a local URL path",
                      target, r->uri);
        return HTTP_BAD_GATEWAY;
    }
    if (!x->target) {
        /* Nothing reached the filter: it must not pass what comes now. */
        x->target = target;
    }
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, "X-Accel-Redirect: %s "
                  "handed over to %s", r->uri, uri);
    strip_accel(r->headers_out);
    strip_accel(r->err_headers_out);
    x->replay.given = 0;
    x->redirecting = 1;
    ap_internal_redirect(uri, r);
    x->redirecting = 0;
    return x->parked ? SUSPENDED : OK;
}

void push_accel_register_hooks(apr_pool_t *p)
{
    (void)p;
    out_rec = ap_register_output_filter(ACCEL_OUT, accel_out, NULL,
                                        AP_FTYPE_RESOURCE);
    ap_hook_handler(accel_handler, NULL, NULL, APR_HOOK_REALLY_FIRST);
}
