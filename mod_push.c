/* mod_push — push messaging for Apache httpd 2.4.
 *
 * The module record, its hooks, and the push-subscriber handler, which
 * serves a request with the transport it asks for.  Each unit does one
 * job (mod_push.h says how a message travels through them):
 *
 *   mod_push_config.c     the configuration's records: merges, accessors
 *   mod_push_directives.c the Push* directives, read into them
 *   mod_push_http.c       replies, CORS, channel ids, cursors, bodies, JSON
 *   mod_push_pub.c        push-publisher
 *   mod_push_status.c     push-status, push-stub-status, mod_status
 *   mod_push_events.c     PushChannelEventsChannel: channel events
 *   mod_push_authz.c      PushAuthorizeRequest: the application decides
 *   mod_push_presence.c   PushSubscribeRequest, PushUnsubscribeRequest
 *   mod_push_upstream.c   PushPublisherUpstreamRequest
 *   mod_push_subreq.c     the subrequests these make to the application
 *   mod_push_accel.c      X-Accel-Redirect: the application hands over
 *   mod_push_store.c      the store engine's life in httpd (PushStore)
 *   mod_push_store_shm.c  the shared-memory engine's segment
 *   mod_push_transport.c  the registry of transports
 *   mod_push_sub.c        a subscriber's start and end; the thread driver
 *   mod_push_park.c       handing a connection to the stream loop (event MPM)
 *   mod_push_conn.c       connections held by the stream loop
 *   mod_push_poll.c       long and short polling
 *   mod_push_sse.c        Server-Sent Events
 *   mod_push_ws.c         WebSocket
 *   mod_push_chunked.c    chunked (TE: chunked), a chunk a message
 *   mod_push_multipart.c  multipart/mixed, a part a message
 *   mod_push_rawstream.c  http-raw-stream, bodies and a separator
 *   mod_push_client.c     push-client: the browser client, push.js
 *
 * The pure parts, with no httpd types, are in core/ (the subscriber, the
 * delivery step, sinks, the stream loop), store/ (the store engines and
 * the wake-up fan-out) and lib/ (ids, codecs, the frame cache).
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
#include "mod_push_accel.h"
#include "mod_push_authz.h"
#include "mod_push_subreq.h"
#include "mod_push_client.h"
#include "mod_push_config.h"
#include "mod_push_conn.h"
#include "mod_push_http.h"
#include "mod_push_pub.h"
#include "mod_push_redis.h"
#include "mod_push_status.h"
#include "mod_push_store.h"
#include "mod_push_admit.h"
#include "mod_push_sub.h"
#include "mod_push_transport.h"

static int push_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                            apr_pool_t *ptemp, server_rec *s)
{
    int rv;

    push_transports_setup(pconf);
    push_admit_post_config(ptemp, s);
    rv = push_store_post_config(pconf, plog, ptemp, s);
    /* The bridge from Redis, once there is a store to feed. */
    return rv != OK ? rv : push_redis_post_config(pconf, s);
}

static int push_check_config(apr_pool_t *pconf, apr_pool_t *plog,
                             apr_pool_t *ptemp, server_rec *s)
{
    (void)plog;
    (void)ptemp;
    return push_redis_check_config(pconf, s);
}

static void push_child_init(apr_pool_t *pchild, server_rec *s)
{
    push_store_child_init(pchild, s);
    push_conn_child_init(pchild, s);
    push_admit_child_init(s);
}

/* May run from a signal handler (prefork): only atomic stores, writes
 * and a futex wake, no locks.  The loop learns first, so that what it
 * finishes next already knows the process is stopping. */
static void push_child_stopping(apr_pool_t *pchild, int graceful)
{
    (void)pchild;
    push_store_child_stopping();
    push_conn_stopping(graceful);
    push_store_wake_everyone();
}

/* The transports this location serves that a request must ask for by
 * name, for the reason of a 406. */
static const char *asks(request_rec *r, unsigned allowed)
{
    const push_transport_t *const *t;
    const char *list = NULL;

    for (t = push_transports(); *t; t++) {
        if ((*t)->ask
            && (allowed & (1u << (*t)->id))) {
            list = list ? apr_pstrcat(r->pool, list, " or ", (*t)->ask, NULL)
                        : (*t)->ask;
        }
    }
    return list ? list : "nothing";
}

/* The transports a request can reach here, by precedence, for a client
 * choosing one (X-Push-Transports): one that any GET gets (a poll) hides
 * the others that any GET would get (as the handler below matches). */
static const char *reachable(request_rec *r, unsigned allowed)
{
    const push_transport_t *const *t;
    const char *list = "";
    int any_get = 0;

    for (t = push_transports(); *t; t++) {
        if (!(allowed & (1u << (*t)->id)) || (!(*t)->ask && any_get)) {
            continue;
        }
        any_get |= !(*t)->ask;
        list = apr_pstrcat(r->pool, list, *list ? " " : "", (*t)->name,
                           NULL);
    }
    return list;
}

static int subscriber_handler(request_rec *r)
{
    const push_transport_t *const *t;
    const push_dir_conf *conf;
    const char *channel;
    unsigned allowed;

    /* push-pubsub: GET subscribes; POST, PUT and DELETE are the
     * publisher handler's (mod_push_pub.c). */
    if (strcmp(r->handler, "push-subscriber")
        && !(push_is_pubsub(r) && !push_pubsub_publishes(r))) {
        return DECLINED;
    }
    conf = push_conf(r);
    if (!push_store()) {
        return push_reply_text(r, HTTP_SERVICE_UNAVAILABLE,
                               "The push store is not available.");
    }
    allowed = push_conf_transports(conf);
    push_add_cors(r, conf);
    if (r->method_number == M_OPTIONS) {
        /* What a client picking its transport needs to know (push.js). */
        apr_table_setn(r->headers_out, "X-Push-Transports",
                       reachable(r, allowed));
        for (t = push_transports(); *t; t++) {
            if (((*t)->flags & PUSH_T_READS) && (allowed & (1u << (*t)->id))) {
                apr_table_setn(r->headers_out, "X-Push-WebSocket-Publish",
                               push_clients_publish(r, conf) ? "On" : "Off");
            }
        }
        return push_reply_preflight(r, conf, push_is_pubsub(r)
                                    ? PUSH_PUBSUB_METHODS : "GET, OPTIONS",
                                    "If-Modified-Since, If-None-Match, "
                                    "Last-Event-ID, Cache-Control");
    }
    if (r->method_number != M_GET) {
        const char *allow = push_is_pubsub(r) ? PUSH_PUBSUB_METHODS
                                              : "GET, OPTIONS";

        apr_table_setn(r->headers_out, "Allow", allow);
        return push_reply_text(r, HTTP_METHOD_NOT_ALLOWED, "Method %s not "
                               "allowed here: %s.", r->method, allow);
    }
    if (!(channel = push_authorized_channel(r, conf, 0))) {
        return OK;
    }
    /* The first transport this request asks for, by precedence, that the
     * location serves; one that must be asked for by name and is not
     * served ends the search. */
    for (t = push_transports(); *t; t++) {
        if (!(*t)->detect(r)) {
            continue;
        }
        if (allowed & (1u << (*t)->id)) {
            return (*t)->handle(r, channel);
        }
        if ((*t)->flags & PUSH_T_EXCLUSIVE) {
            return push_reply_text(r, HTTP_BAD_REQUEST, "%s is not enabled "
                                   "here (PushTransports).", (*t)->ask);
        }
    }
    return push_reply_text(r, HTTP_NOT_ACCEPTABLE, "This location serves "
                           "only %s; ask with the matching request.",
                           asks(r, allowed));
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
            || !strcmp(h + 5, "status") || !strcmp(h + 5, "client")
            || !strcmp(h + 5, "stub-status") || !strcmp(h + 5, "pubsub"))) {
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
    ap_hook_check_config(push_check_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(push_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(push_child_init, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_stopping(push_child_stopping, NULL, NULL, APR_HOOK_MIDDLE);
    push_store_shm_register(p);
    push_ws_register(p);
    push_sse_register(p);
    push_poll_register(p);
    push_chunked_register(p);
    push_multipart_register(p);
    push_rawstream_register(p);
    push_conn_register_hooks(p);
    ap_hook_translate_name(push_translate_name, NULL, NULL,
                           APR_HOOK_REALLY_FIRST);
    ap_hook_map_to_storage(push_map_to_storage, NULL, NULL, APR_HOOK_FIRST);
    push_pub_register_hooks(p);
    push_status_register_hooks(p);
    push_subreq_register_hooks(p);
    push_accel_register_hooks(p);
    push_client_register_hooks(p);
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
