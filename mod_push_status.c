/* mod_push_status.c — what mod_push tells about itself, three ways, from
 * one snapshot of the store's statistics and the counters every child
 * shares:
 *
 *   SetHandler push-status       JSON, every figure (the README lists them)
 *   SetHandler push-stub-status  nchan's nchan_stub_status text, line for
 *                                line, for monitoring scripts written
 *                                for nchan
 *   mod_status                   a "mod_push" section in server-status,
 *                                and key: value lines in ?auto
 */
#include "apr_lib.h"
#include "apr_strings.h"

#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "apr_optional_hooks.h"
#include "mod_status.h"

#include "mod_push.h"
#include "mod_push_admit.h"
#include "mod_push_conn.h"
#include "mod_push_http.h"
#include "mod_push_status.h"
#include "mod_push_store.h"
#include "mod_push_transport.h"

APLOG_USE_MODULE(push);

typedef struct {
    push_store_stats_t st;
    apr_uint32_t       subscribers[PUSH_TRANSPORTS_MAX];
    apr_uint64_t       total;          /* subscribers, every transport */
    apr_uint64_t       built, reused, gaps;
} status_t;

static void snapshot(status_t *s)
{
    const push_env_t *env = push_env();
    const push_counters_t *c = env ? env->counters : NULL;
    unsigned id;

    memset(s, 0, sizeof(*s));
    push_store_stats(push_store(), apr_time_sec(apr_time_now()), &s->st);
    if (!c) {
        return;
    }
    for (id = 0; id < PUSH_TRANSPORTS_MAX; id++) {
        if (push_transport_by_id(id)) {
            s->subscribers[id] = __atomic_load_n(&c->subscribers[id],
                                                 __ATOMIC_RELAXED);
            s->total += s->subscribers[id];
        }
    }
    s->built = __atomic_load_n(&c->encoded, __ATOMIC_RELAXED);
    s->reused = __atomic_load_n(&c->encoded_reused, __ATOMIC_RELAXED);
    s->gaps = __atomic_load_n(&c->gaps, __ATOMIC_RELAXED);
}

/* The handlers' common start: GET only, a store to read, the snapshot
 * and the headers.  DECLINED when the body is to be written; otherwise
 * what the handler returns. */
static int begin(request_rec *r, const char *what, const char *type,
                 status_t *s)
{
    if (r->method_number != M_GET) {
        apr_table_setn(r->headers_out, "Allow", "GET");
        return push_reply_text(r, HTTP_METHOD_NOT_ALLOWED, "Method %s not "
                               "allowed: %s takes GET.", r->method, what);
    }
    if (!push_store()) {
        return push_reply_text(r, HTTP_SERVICE_UNAVAILABLE,
                               "The push store is not available.");
    }
    snapshot(s);
    ap_set_content_type(r, type);
    apr_table_setn(r->headers_out, "Cache-Control", "no-cache");
    return r->header_only ? OK : DECLINED;
}

static int json_handler(request_rec *r)
{
    status_t s;
    unsigned id;
    int rc;

    if (strcmp(r->handler, "push-status")) {
        return DECLINED;
    }
    if ((rc = begin(r, "status", "application/json", &s)) != DECLINED) {
        return rc;
    }
    ap_rprintf(r, "{\"channels\":%u,\"channel_slots\":%u,"
               "\"messages\":%" APR_UINT64_T_FMT ",\"subscribers\":{",
               s.st.channels, s.st.channel_slots,
               (apr_uint64_t)s.st.messages);
    for (id = 0; id < PUSH_TRANSPORTS_MAX; id++) {
        const push_transport_t *t = push_transport_by_id(id);

        if (t) {
            ap_rprintf(r, "\"%s\":%u,", t->name, s.subscribers[id]);
        }
    }
    ap_rprintf(r, "\"total\":%" APR_UINT64_T_FMT "},"
               "\"published\":%" APR_UINT64_T_FMT ","
               "\"evicted\":%" APR_UINT64_T_FMT ","
               "\"expired\":%" APR_UINT64_T_FMT ","
               "\"store_bytes_used\":%" APR_UINT64_T_FMT ","
               "\"store_bytes_total\":%" APR_UINT64_T_FMT ","
               "\"store_bytes_ring\":%" APR_UINT64_T_FMT ","
               "\"store_created\":%" APR_INT64_T_FMT ","
               "\"lock_recoveries\":%" APR_UINT64_T_FMT ","
               "\"encodings_built\":%" APR_UINT64_T_FMT ","
               "\"encodings_reused\":%" APR_UINT64_T_FMT ","
               "\"subscriber_gaps\":%" APR_UINT64_T_FMT ","
               "\"child_subscribers\":%u,\"child_subscriber_cap\":%d,"
               "\"child_parked_streams\":%u,"
               "\"child_parked_connections\":%u}\n",
               s.total, (apr_uint64_t)s.st.published,
               (apr_uint64_t)s.st.evicted, (apr_uint64_t)s.st.expired,
               (apr_uint64_t)s.st.bytes_used, (apr_uint64_t)s.st.bytes_total,
               (apr_uint64_t)s.st.bytes_ring, (apr_int64_t)s.st.created,
               (apr_uint64_t)s.st.recoveries, s.built, s.reused, s.gaps,
               push_admit_held(), push_admit_cap(),
               push_park_count(), push_park_connections());
    return OK;
}

/* nchan 1.3's nchan_stub_status, every line in its place.  Redis and
 * interprocess figures are nchan's own machinery: 0 here (the store is
 * one shared segment, and wake-ups take no queue).  The last line names
 * this module instead of nchan's version. */
static int stub_handler(request_rec *r)
{
    status_t s;
    int rc;

    if (strcmp(r->handler, "push-stub-status")) {
        return DECLINED;
    }
    if ((rc = begin(r, "stub status", "text/plain", &s)) != DECLINED) {
        return rc;
    }
    ap_rprintf(r, "total published messages: %" APR_UINT64_T_FMT "\n"
               "stored messages: %" APR_UINT64_T_FMT "\n"
               "shared memory used: %" APR_UINT64_T_FMT "K\n"
               "shared memory limit: %" APR_UINT64_T_FMT "K\n"
               "channels: %u\n"
               "subscribers: %" APR_UINT64_T_FMT "\n"
               "redis pending commands: 0\n"
               "redis connected servers: 0\n"
               "redis unhealthy upstreams: 0\n"
               "total redis commands sent: 0\n"
               "total interprocess alerts received: 0\n"
               "interprocess alerts in transit: 0\n"
               "interprocess queued alerts: 0\n"
               "total interprocess send delay: 0\n"
               "total interprocess receive delay: 0\n"
               "mod_push version: " MOD_PUSH_VERSION "\n",
               (apr_uint64_t)s.st.published, (apr_uint64_t)s.st.messages,
               (apr_uint64_t)s.st.bytes_used / 1024,
               (apr_uint64_t)s.st.bytes_ring / 1024, s.st.channels, s.total);
    return OK;
}

/* "websocket" -> "Websocket", "http-raw-stream" -> "HttpRawStream", as
 * mod_status's keys go. */
static const char *status_key(apr_pool_t *p, const char *name)
{
    char *k = apr_palloc(p, strlen(name) + 1), *o = k;
    int up = 1;

    for (; *name; name++) {
        if (*name == '-') {
            up = 1;
            continue;
        }
        *o++ = up ? apr_toupper(*name) : *name;
        up = 0;
    }
    *o = '\0';
    return k;
}

/* mod_status: a section of server-status, or "Push...: value" lines in
 * its machine-readable ?auto form. */
static int status_hook(request_rec *r, int flags)
{
    const push_transport_t *t;
    status_t s;
    unsigned id;
    int pct;

    if (!push_store()) {
        return OK;
    }
    snapshot(&s);
    pct = s.st.bytes_ring ? (int)(s.st.bytes_used * 100 / s.st.bytes_ring)
                          : 0;
    if (flags & AP_STATUS_SHORT) {
        ap_rprintf(r, "PushChannels: %u\nPushChannelSlots: %u\n"
                   "PushMessages: %" APR_UINT64_T_FMT "\n"
                   "PushPublished: %" APR_UINT64_T_FMT "\n"
                   "PushSubscribers: %" APR_UINT64_T_FMT "\n",
                   s.st.channels, s.st.channel_slots,
                   (apr_uint64_t)s.st.messages,
                   (apr_uint64_t)s.st.published, s.total);
        for (id = 0; id < PUSH_TRANSPORTS_MAX; id++) {
            if ((t = push_transport_by_id(id)) != NULL) {
                ap_rprintf(r, "PushSubscribers%s: %u\n",
                           status_key(r->pool, t->name), s.subscribers[id]);
            }
        }
        ap_rprintf(r, "PushStoreBytesUsed: %" APR_UINT64_T_FMT "\n"
                   "PushStoreBytesRing: %" APR_UINT64_T_FMT "\n"
                   "PushEvicted: %" APR_UINT64_T_FMT "\n"
                   "PushExpired: %" APR_UINT64_T_FMT "\n"
                   "PushSubscriberGaps: %" APR_UINT64_T_FMT "\n",
                   (apr_uint64_t)s.st.bytes_used,
                   (apr_uint64_t)s.st.bytes_ring,
                   (apr_uint64_t)s.st.evicted, (apr_uint64_t)s.st.expired,
                   s.gaps);
        return OK;
    }
    ap_rputs("<hr />\n<h2><a name=\"push\">mod_push</a></h2>\n", r);
    ap_rprintf(r, "<dl><dt>%u channels (of %u slots), %" APR_UINT64_T_FMT
               " messages stored, %" APR_UINT64_T_FMT " published</dt>\n"
               "<dt>store: %" APR_UINT64_T_FMT " of %" APR_UINT64_T_FMT
               " bytes used (%d%%); %" APR_UINT64_T_FMT " evicted, %"
               APR_UINT64_T_FMT " expired; %" APR_UINT64_T_FMT
               " subscriber gaps</dt>\n<dt>%" APR_UINT64_T_FMT
               " subscribers:",
               s.st.channels, s.st.channel_slots,
               (apr_uint64_t)s.st.messages, (apr_uint64_t)s.st.published,
               (apr_uint64_t)s.st.bytes_used, (apr_uint64_t)s.st.bytes_ring,
               pct, (apr_uint64_t)s.st.evicted, (apr_uint64_t)s.st.expired,
               s.gaps, s.total);
    for (id = 0; id < PUSH_TRANSPORTS_MAX; id++) {
        if ((t = push_transport_by_id(id)) != NULL) {
            ap_rprintf(r, " %s %u", t->name, s.subscribers[id]);
        }
    }
    ap_rputs("</dt></dl>\n", r);
    return OK;
}

void push_status_register_hooks(apr_pool_t *p)
{
    (void)p;
    ap_hook_handler(json_handler, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_handler(stub_handler, NULL, NULL, APR_HOOK_MIDDLE);
    APR_OPTIONAL_HOOK(ap, status_hook, status_hook, NULL, NULL,
                      APR_HOOK_MIDDLE);
}
