/* mod_push_presence.c — PushSubscribeRequest <url> and
 * PushUnsubscribeRequest <url>, as nchan's nchan_subscribe_request and
 * nchan_unsubscribe_request: the application is told when a streaming
 * subscriber (event stream, WebSocket, chunked, multipart, raw) arrives
 * and when it leaves, whatever ends it: the client closing or vanishing,
 * a write timeout, PushSubscriberTimeout, a deleted channel, a restart.
 * Polls are not told, as in nchan: every poll would arrive and leave.
 *
 * Each is a GET subrequest to the URL (a local one, which may be proxied
 * to the application) with the client's own headers and cookies, plus:
 *
 *   X-Push-Channel-Id       the channel (one header for each channel of
 *                           a multiplexed subscriber)
 *   X-Push-Subscriber-Type  its transport (websocket, eventsource, ...)
 *   X-Push-Message-Id       where it is: the last message it has (its
 *                           multi-id when multiplexed; 0:0 for none)
 *   X-Push-Presence         arrive | leave
 *   X-Original-URI, X-Original-Method
 *
 * The answer is dropped: it changes nothing for the subscriber. */
#include "apr_strings.h"

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "http_request.h"

#include "mod_push.h"
#include "mod_push_config.h"
#include "mod_push_presence.h"
#include "mod_push_subreq.h"

APLOG_USE_MODULE(push);

int push_presence_wanted(request_rec *r, const push_sub_t *s, int leaving)
{
    /* A publisher's WebSocket (no channel) is nobody's presence. */
    return r && s->channel && (s->t->flags & PUSH_T_STREAM)
           && push_conf_presence(push_conf(r), leaving) != NULL;
}

void push_presence_tell(request_rec *r, const push_sub_t *s, int leaving)
{
    const char *directive = leaving ? "PushUnsubscribeRequest"
                                    : "PushSubscribeRequest";
    const char *ids[PUSH_MUX_MAX], *url;
    char where[PUSH_SUB_ID_MAX];
    push_subreq_body_t dropped;
    request_rec *sub;
    unsigned i;
    int status;

    if (!push_presence_wanted(r, s, leaving)) {
        return;
    }
    for (i = 0; i <= s->nmore; i++) {
        ids[i] = push_sub_member((push_sub_t *)s, i)->channel;
    }
    if (!(url = push_subreq_url(r, push_conf_presence(push_conf(r), leaving),
                                directive, s->channel))) {
        return;
    }
    memset(&dropped, 0, sizeof(dropped));
    push_sub_where(s, where);
    sub = push_subreq_new(r, url, ids, s->nmore + 1, &dropped);
    apr_table_setn(sub->headers_in, "X-Push-Subscriber-Type", s->t->name);
    apr_table_setn(sub->headers_in, "X-Push-Message-Id",
                   apr_pstrdup(sub->pool, where));
    apr_table_setn(sub->headers_in, "X-Push-Presence",
                   leaving ? "leave" : "arrive");
    status = push_subreq_run(sub);
    ap_log_rerror(APLOG_MARK, ap_is_HTTP_SUCCESS(status) ? APLOG_DEBUG
                  : APLOG_INFO, 0, r, "%s %s for a %s subscriber of "
                  "channel %s: %d", directive, url, s->t->name, s->channel,
                  status);
    ap_destroy_sub_req(sub);
}
