/* mod_push_client.c — SetHandler push-client: the browser client,
 * push.js (client/push.js, built into the module by tools/embed.sh), so
 * that a server with mod_push installed serves it without a file to copy.
 *
 * It is answered like a static file: a strong ETag (a hash of its bytes,
 * so it changes with the module's version), Cache-Control: no-cache (a
 * browser keeps it and revalidates, getting 304 until the module
 * changes), conditional requests through ap_meets_conditions, and an
 * Access-Control-Allow-Origin of *, so pages of other origins may load it
 * as an ES module.
 *
 * One file, two forms: push.js ends with its only `export` line, which a
 * classic <script> cannot parse.  A classic script is fetched with
 * Sec-Fetch-Dest: script and Sec-Fetch-Mode: no-cors (a module is always
 * fetched in cors mode), and gets the file without that line; anything
 * else gets the module.  ?classic and ?module choose explicitly (a
 * <script crossorigin> is a classic script fetched in cors mode). */
#include "apr_buckets.h"
#include "apr_strings.h"

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"

#include "mod_push.h"
#include "mod_push_client.h"
#include "mod_push_http.h"

APLOG_USE_MODULE(push);

/* build/push_client_js.c */
extern const unsigned char push_client_js[];
extern const size_t push_client_js_len;

/* The two forms: [0] the module, [1] the classic script. */
static apr_size_t  form_len[2];
static const char *form_etag[2];

/* FNV-1a, 64 bits: not for security, only to tell versions apart. */
static const char *etag_of(apr_pool_t *p, const unsigned char *b, size_t n)
{
    apr_uint64_t h = APR_UINT64_C(14695981039346656037);
    size_t i;

    for (i = 0; i < n; i++) {
        h = (h ^ b[i]) * APR_UINT64_C(1099511628211);
    }
    return apr_psprintf(p, "\"push-js-%016" APR_UINT64_T_HEX_FMT "\"", h);
}

static int client_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                              apr_pool_t *ptemp, server_rec *s)
{
    (void)plog;
    (void)ptemp;
    (void)s;
    apr_size_t i = push_client_js_len;

    /* The classic form ends before the last line, when it is the export. */
    if (i && push_client_js[i - 1] == '\n') {
        i--;
    }
    while (i && push_client_js[i - 1] != '\n') {
        i--;
    }
    form_len[0] = push_client_js_len;
    form_len[1] = strncmp((const char *)push_client_js + i, "export ", 7)
                  ? push_client_js_len : i;
    form_etag[0] = etag_of(pconf, push_client_js, form_len[0]);
    form_etag[1] = etag_of(pconf, push_client_js, form_len[1]);
    return OK;
}

/* 1 for the classic form, 0 for the module (see the top). */
static int classic_asked(request_rec *r)
{
    const char *dest, *mode;

    if (r->args && !strcmp(r->args, "classic")) {
        return 1;
    }
    if (r->args && !strcmp(r->args, "module")) {
        return 0;
    }
    apr_table_mergen(r->headers_out, "Vary", "Sec-Fetch-Dest, Sec-Fetch-Mode");
    dest = apr_table_get(r->headers_in, "Sec-Fetch-Dest");
    mode = apr_table_get(r->headers_in, "Sec-Fetch-Mode");
    return dest && mode && !strcasecmp(dest, "script")
           && !strcasecmp(mode, "no-cors");
}

static int client_handler(request_rec *r)
{
    apr_bucket_brigade *bb;
    int rc, form;

    if (strcmp(r->handler, "push-client")) {
        return DECLINED;
    }
    if (r->method_number == M_OPTIONS) {
        apr_table_setn(r->headers_out, "Allow", "GET, HEAD, OPTIONS");
        r->status = HTTP_NO_CONTENT;
        return OK;
    }
    if (r->method_number != M_GET) {
        apr_table_setn(r->headers_out, "Allow", "GET, HEAD, OPTIONS");
        return push_reply_text(r, HTTP_METHOD_NOT_ALLOWED, "Method %s not "
                               "allowed: push.js is read with GET.",
                               r->method);
    }
    form = classic_asked(r);
    apr_table_setn(r->headers_out, "ETag", form_etag[form]);
    apr_table_setn(r->headers_out, "Cache-Control", "no-cache");
    apr_table_setn(r->headers_out, "X-Content-Type-Options", "nosniff");
    apr_table_setn(r->headers_out, "Access-Control-Allow-Origin", "*");
    ap_set_content_type(r, "text/javascript; charset=utf-8");
    if ((rc = ap_meets_conditions(r)) != OK) {
        return rc;
    }
    ap_set_content_length(r, (apr_off_t)form_len[form]);
    if (r->header_only) {
        return OK;
    }
    bb = apr_brigade_create(r->pool, r->connection->bucket_alloc);
    APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_immortal_create(
                                (const char *)push_client_js,
                                form_len[form],
                                r->connection->bucket_alloc));
    APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_eos_create(
                                r->connection->bucket_alloc));
    return ap_pass_brigade(r->output_filters, bb) == APR_SUCCESS
           ? OK : AP_FILTER_ERROR;
}

void push_client_register_hooks(apr_pool_t *p)
{
    (void)p;
    ap_hook_post_config(client_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_handler(client_handler, NULL, NULL, APR_HOOK_MIDDLE);
}
