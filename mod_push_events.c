/* mod_push_events.c — channel events, as nchan's
 * nchan_channel_events_channel_id: where a location says
 * PushChannelEventsChannel, each subscriber that comes or goes, each
 * message published and each delete publishes "<event> <channel>" (nchan's
 * default event string) to that channel, for an application or a
 * developer to watch like any other channel.  Events of the events
 * channel itself are not published (nchan keeps them in its "meta"
 * group). */
#include "apr_strings.h"

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"

#include "mod_push.h"
#include "mod_push_config.h"
#include "mod_push_events.h"
#include "mod_push_store.h"
#include "lib/push_id.h"

APLOG_USE_MODULE(push);

/* The expression's value for r, evaluated in p (ap_expr_str_exec's
 * evaluation with r->pool replaced): a WebSocket publishes an event for
 * each message for as long as it lives, and none of them may stay in its
 * request's pool. */
static const char *eval_in(request_rec *r, apr_pool_t *p,
                           const ap_expr_info_t *expr, const char **err)
{
    ap_regmatch_t pmatch[AP_MAX_REG_MATCH];
    const char *result = NULL, *source = NULL;
    ap_expr_eval_ctx_t ctx;

    memset(&ctx, 0, sizeof(ctx));
    ctx.r = r;
    ctx.c = r->connection;
    ctx.s = r->server;
    ctx.p = p;
    ctx.err = err;
    ctx.info = expr;
    ctx.re_nmatch = AP_MAX_REG_MATCH;
    ctx.re_pmatch = pmatch;
    ctx.re_source = &source;
    ctx.result_string = &result;
    *err = NULL;
    return ap_expr_exec_ctx(&ctx) < 0 ? NULL : result;
}

void push_event(request_rec *r, const char *event, const char *channel)
{
    const push_dir_conf *conf;
    const ap_expr_info_t *expr;
    const char *meta, *err = NULL;
    push_message_t msg;
    push_limits_t limits;
    apr_pool_t *p;

    if (!r || !push_store() || !(conf = push_conf(r))
        || !(expr = push_conf_events_channel(conf))
        || apr_pool_create(&p, r->pool) != APR_SUCCESS) {
        return;
    }
    meta = eval_in(r, p, expr, &err);
    if (err || !meta || !push_channel_id_valid(meta, strlen(meta))) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, "%s on channel %s: "
                      "PushChannelEventsChannel gives no channel id (%s)",
                      event, channel, err ? err : meta ? meta : "empty");
        apr_pool_destroy(p);
        return;
    }
    if (!strcmp(meta, channel)) {
        apr_pool_destroy(p);
        return;
    }
    memset(&msg, 0, sizeof(msg));
    msg.body = apr_pstrcat(p, event, " ", channel, NULL);
    msg.body_len = strlen(msg.body);
    msg.content_type = "text/plain";
    msg.content_type_len = strlen(msg.content_type);
    msg.event = "";
    limits.buffer_length = push_conf_buffer_length(conf);
    limits.timeout = push_conf_message_timeout(conf);
    if (push_store_publish(push_store(), meta, strlen(meta), &msg, &limits,
                           apr_time_sec(apr_time_now()), NULL, NULL)
        != PUSH_OK) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, "%s on channel %s: "
                      "the event could not be stored in %s", event, channel,
                      meta);
    }
    apr_pool_destroy(p);
}

void push_event_left(const push_sub_t *s)
{
    push_event(s->r, PUSH_EV_SUBSCRIBER_DEQUEUE, s->channel);
}
