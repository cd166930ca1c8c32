/* mod_push_publish.c — a message into the store (through Redis first,
 * with PushRedis), to each channel of a set (see mod_push_publish.h),
 * with the publisher's back-pressure. */
#include "httpd.h"
#include "http_log.h"

#include "mod_push.h"
#include "mod_push_events.h"
#include "mod_push_http.h"
#include "mod_push_publish.h"
#include "mod_push_redis.h"
#include "mod_push_store.h"

APLOG_USE_MODULE(push);

/* Back-pressure: while a stream loop's subscribers of the channel, whose
 * clients do take what they are sent, are more than half their backlog
 * behind, the server is what is slow; the publisher waits (up to
 * PUSH_PACE_MAX) rather than run them out of their backlog into gaps. */
#define PUSH_PACE_STEP apr_time_from_msec(1)
#define PUSH_PACE_MAX  apr_time_from_sec(1)

static void pace(request_rec *r, const char *channel)
{
    const push_store_t *store = push_store();
    apr_time_t until = 0;
    size_t len = strlen(channel);

    while (push_store_behind(store, channel, len) && !push_stopping()) {
        apr_time_t now = apr_time_now();

        if (!until) {
            until = now + PUSH_PACE_MAX;
        }
        else if (now >= until) {
            ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, "publish to %s: "
                          "subscribers still behind after %d ms, storing it "
                          "anyway", channel,
                          (int)apr_time_as_msec(PUSH_PACE_MAX));
            return;
        }
        apr_sleep(PUSH_PACE_STEP);
    }
}

push_status_e push_publish_to(request_rec *r, const push_dir_conf *conf,
                              const char *const *ids, unsigned n,
                              const push_message_t *msg, int may_wait,
                              push_channel_info_t *all,
                              push_channel_info_t *last, push_msgid_t *id,
                              unsigned *done)
{
    push_limits_t limits;
    push_status_e st = PUSH_OK;

    limits.buffer_length = push_conf_buffer_length(conf);
    limits.timeout = push_conf_message_timeout(conf);
    memset(all, 0, sizeof(*all));
    for (*done = 0; *done < n; (*done)++) {
        const char *ch = ids[*done];

        if (may_wait) {
            pace(r, ch);
        }
        if (push_redis_on(r->server)) {
            st = push_redis_publish_to(r, ch, msg, &limits, id, last);
        }
        else {
            st = push_store_publish(push_store(), ch, strlen(ch), msg,
                                    &limits, apr_time_sec(apr_time_now()),
                                    id, last);
        }
        if (st != PUSH_OK) {
            if (*done > 0) {
                ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, "publish to "
                              "%u channels stopped at %s: the %u before it "
                              "have the message", n, ch, *done);
            }
            return st;
        }
        ap_log_rerror(APLOG_MARK, APLOG_TRACE1, 0, r, "published %"
                      APR_INT64_T_FMT ":%u to %s (%" APR_SIZE_T_FMT
                      " bytes, %u subscribers)", (apr_int64_t)id->time,
                      id->tag, ch, msg->body_len, last->subscribers);
        push_event(r, PUSH_EV_CHANNEL_PUBLISH, ch);
        push_channel_info_add(all, last);
    }
    return st;
}
