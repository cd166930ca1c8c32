/* mod_push — push messaging for Apache httpd 2.4.
 *
 * The module record, its hooks, and the push-subscriber handler, which
 * picks the transport a request asks for.  Each unit does one job:
 *
 *   mod_push_config.c   directives, merges, accessors
 *   mod_push_http.c     replies, CORS, channel ids, cursors, bodies, JSON
 *   mod_push_pub.c      push-publisher and push-status
 *   mod_push_store.c    the shared-memory store's life in httpd
 *   mod_push_sub.c      what every subscriber shares: start, end, waiting
 *   mod_push_poll.c     long and short polling
 *   mod_push_sse.c      Server-Sent Events
 *   mod_push_ws.c       WebSocket
 *   mod_push_park.c     the per-child stream loop (event MPM)
 *
 * The pure parts, with no httpd types, are in store/ and lib/.
 */
#include "apr_strings.h"

#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "ap_expr.h"
#include "mpm_common.h"

#include "mod_push.h"
#include "mod_push_config.h"
#include "mod_push_http.h"

static int push_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                            apr_pool_t *ptemp, server_rec *s)
{
    return push_store_post_config(pconf, plog, ptemp, s);
}

static void push_child_init(apr_pool_t *pchild, server_rec *s)
{
    push_store_child_init(pchild, s);
    if (push_get_notifier()) {
        push_park_child_init(pchild, s);
    }
    push_sub_child_init(s);
}

/* May run from a signal handler (prefork): only atomic stores, writes
 * and a futex wake, no locks. */
static void push_child_stopping(apr_pool_t *pchild, int graceful)
{
    (void)pchild;
    push_store_child_stopping();
    push_park_stopping(graceful);
    push_store_wake_everyone();
}

static int subscriber_handler(request_rec *r)
{
    const push_dir_conf *conf;
    const char *channel, *upgrade, *accept;
    unsigned transports;

    if (strcmp(r->handler, "push-subscriber")) {
        return DECLINED;
    }
    conf = push_conf(r);
    if (!push_get_store()) {
        return push_reply_text(r, HTTP_SERVICE_UNAVAILABLE,
                               "The push store is not available.");
    }
    transports = push_conf_transports(conf);
    push_add_cors(r, conf);
    if (r->method_number == M_OPTIONS) {
        return push_reply_preflight(r, conf, "GET, OPTIONS", "If-Modified-Since, "
                               "If-None-Match, Last-Event-ID, "
                               "Cache-Control");
    }
    if (r->method_number != M_GET) {
        apr_table_setn(r->headers_out, "Allow", "GET, OPTIONS");
        return push_reply_text(r, HTTP_METHOD_NOT_ALLOWED, "Method %s not "
                               "allowed: a subscriber takes GET.", r->method);
    }
    if (!(channel = push_request_channel(r, conf))) {
        return OK;
    }
    upgrade = apr_table_get(r->headers_in, "Upgrade");
    accept = apr_table_get(r->headers_in, "Accept");
    if (upgrade && ap_find_token(r->pool, upgrade, "websocket")) {
        if (transports & PUSH_TF_WEBSOCKET) {
            return push_ws_subscriber(r, conf, channel);
        }
        return push_reply_text(r, HTTP_BAD_REQUEST, "WebSocket is not "
                               "enabled here (PushTransports).");
    }
    if (accept && (transports & PUSH_TF_EVENTSOURCE)
        && ap_strcasestr(accept, "text/event-stream")) {
        return push_sse_subscriber(r, conf, channel);
    }
    if (transports & PUSH_TF_POLL) {
        return push_poll_subscriber(r, conf, channel, 0);
    }
    if (transports & PUSH_TF_LONGPOLL) {
        return push_poll_subscriber(r, conf, channel, 1);
    }
    return push_reply_text(r, HTTP_NOT_ACCEPTABLE, "This location serves "
                           "only %s%s; ask with the matching request.",
                           transports & PUSH_TF_EVENTSOURCE
                           ? "EventSource (Accept: text/event-stream) " : "",
                           transports & PUSH_TF_WEBSOCKET
                           ? "WebSocket (Upgrade: websocket)" : "");
}

/* Push locations are not files: no directory walk, stat() or .htaccess
 * lookup on every poll (mod_proxy does the same for what it proxies).
 * <Location> sections apply to them as usual; <Directory> sections and
 * .htaccess files do not.  The handler is known from the <Location>
 * walk, before translate_name; map_to_storage runs with the server's
 * defaults only, so the finding is kept in between. */
static int push_translate_name(request_rec *r)
{
    core_dir_config *d = ap_get_core_module_config(r->per_dir_config);
    const char *err = NULL, *h;

    if (!d || !d->expr_handler || r->main) {
        return DECLINED;
    }
    h = ap_expr_str_exec(r, d->expr_handler, &err);
    if (!err && h && !strncmp(h, "push-", 5)
        && (!strcmp(h + 5, "subscriber") || !strcmp(h + 5, "publisher")
            || !strcmp(h + 5, "status"))) {
        ap_set_module_config(r->request_config, &push_module, (void *)h);
    }
    return DECLINED;
}

static int push_map_to_storage(request_rec *r)
{
    return ap_get_module_config(r->request_config, &push_module)
           ? OK : DECLINED;
}

static void push_register_hooks(apr_pool_t *p)
{
    ap_hook_post_config(push_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(push_child_init, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_stopping(push_child_stopping, NULL, NULL, APR_HOOK_MIDDLE);
    push_park_register_hooks();
    ap_hook_translate_name(push_translate_name, NULL, NULL,
                           APR_HOOK_REALLY_FIRST);
    ap_hook_map_to_storage(push_map_to_storage, NULL, NULL, APR_HOOK_FIRST);
    push_pub_register_hooks(p);
    ap_hook_handler(subscriber_handler, NULL, NULL, APR_HOOK_MIDDLE);
}

AP_DECLARE_MODULE(push) = {
    STANDARD20_MODULE_STUFF,
    push_config_create_dir,
    push_config_merge_dir,
    push_config_create_server,
    push_config_merge_server,
    push_config_cmds,
    push_register_hooks,
    AP_MODULE_FLAG_NONE
};
