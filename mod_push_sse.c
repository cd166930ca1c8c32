/* mod_push_sse.c — the Server-Sent Events (EventSource) transport.
 *
 * A GET with "Accept: text/event-stream" on a push-subscriber location
 * whose PushTransports includes eventsource becomes one long response:
 * every message of the channel, in order, as one event each, flushed the
 * moment it is published.  The framing itself is in push_sse.c.
 */
#include "apr_strings.h"

#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "util_filter.h"

#include "mod_push.h"
#include "mod_push_http.h"
#include "lib/push_sse.h"

APLOG_USE_MODULE(push);

/* What a reconnecting EventSource should wait, in milliseconds. */
#define PUSH_SSE_RETRY_MS "2000"

typedef struct {
    request_rec        *r;
    apr_bucket_brigade *bb;
} sse_stream;

/* Compressing or buffering filters (mod_deflate, mod_brotli, SSI, ...)
 * would hold events back or mangle them: an event stream passes only
 * through the protocol, transcoding (chunking) and connection filters. */
static void strip_content_filters(request_rec *r)
{
    ap_filter_t *f = r->output_filters;

    while (f && f->frec->ftype < AP_FTYPE_PROTOCOL) {
        ap_filter_t *next = f->next;

        ap_remove_output_filter(f);
        f = next;
    }
    apr_table_setn(r->subprocess_env, "no-gzip", "1");
    apr_table_setn(r->subprocess_env, "no-brotli", "1");
}

/* Writes and flushes; non-zero when the client is gone. */
static int sse_write(sse_stream *s, const char *data, apr_size_t len)
{
    conn_rec *c = s->r->connection;
    apr_status_t rv;

    APR_BRIGADE_INSERT_TAIL(s->bb, apr_bucket_transient_create(
                                data, len, c->bucket_alloc));
    APR_BRIGADE_INSERT_TAIL(s->bb, apr_bucket_flush_create(c->bucket_alloc));
    rv = ap_pass_brigade(s->r->output_filters, s->bb);
    apr_brigade_cleanup(s->bb);
    return rv != APR_SUCCESS || c->aborted;
}

static int sse_write_event(sse_stream *s, apr_pool_t *p, const char *id,
                           const char *event, const char *data,
                           apr_size_t data_len)
{
    apr_size_t id_len = id ? strlen(id) : 0;
    apr_size_t event_len = event ? strlen(event) : 0;
    apr_size_t size = push_sse_event_size(id_len, event_len, data, data_len);
    char *buf = apr_palloc(p, size);

    size = push_sse_event(buf, id, id_len, event, event_len, data, data_len);
    return sse_write(s, buf, size);
}

/* The event of one message: the same bytes for every subscriber, so it
 * is built once per process (push_frame_for). */
apr_status_t push_sse_encode(void *ctx, request_rec *r, apr_pool_t *p,
                             const push_message_t *msg, const void **data,
                             apr_size_t *len)
{
    char id[PUSH_MSGID_MAX_LEN];
    apr_size_t id_len = push_msgid_format(&msg->id, id);
    apr_size_t size = push_sse_event_size(id_len, msg->event_len, msg->body,
                                          msg->body_len);
    char *buf = apr_palloc(p, size);

    (void)ctx; (void)r;
    *len = push_sse_event(buf, id, id_len, msg->event, msg->event_len,
                          msg->body, msg->body_len);
    *data = buf;
    return APR_SUCCESS;
}

int push_sse_subscriber(request_rec *r, const push_dir_conf *conf,
                        const char *channel)
{
    apr_interval_time_t ping = apr_time_from_sec(push_conf_ping_interval(conf));
    push_msgid_t cursor = {0, 0}, gap_id;
    push_channel_info_t info;
    push_message_t msg;
    push_sub_t sub;
    push_wait_hint_t hint = {0, 0};
    sse_stream s;
    apr_pool_t *iter;
    int has_cursor, gap = 0, gone = 0, delivered = 0;
    push_wait_e w;

    if (!push_subscriber_begin(r, conf, channel, PUSH_TRANSPORT_EVENTSOURCE,
                               &sub, &info, &cursor, &has_cursor)) {
        return OK;
    }

    strip_content_filters(r);
    r->status = HTTP_OK;
    ap_set_content_type(r, "text/event-stream; charset=utf-8");
    apr_table_setn(r->headers_out, "Cache-Control", "no-cache, no-transform");
    apr_table_setn(r->headers_out, "X-Accel-Buffering", "no");
    s.r = r;
    s.bb = apr_brigade_create(r->pool, r->connection->bucket_alloc);
    /* The first flush sends the headers: the EventSource opens at once. */
    gone = sse_write(&s, "retry: " PUSH_SSE_RETRY_MS "\n\n",
                     sizeof("retry: " PUSH_SSE_RETRY_MS "\n\n") - 1);
    /* Under the event MPM the stream waits without a thread
     * (mod_push_park.c); from here r belongs to the stream loop. */
    if (!gone && push_park_sse(r, conf, channel, &sub,
                               has_cursor ? &cursor : NULL, has_cursor,
                               &hint)) {
        return SUSPENDED;
    }

    /* Each message is copied into a pool cleared every turn, so a stream
     * that lives for days does not grow; it is made at the first message,
     * so an idle stream does not hold its block. */
    iter = NULL;
    while (!gone) {
        if (iter) {
            apr_pool_clear(iter);
        }
        /* Only the id: the event itself usually comes from the cache. */
        w = push_wait_next(r, NULL, &sub, has_cursor ? &cursor : NULL, 0,
                           ping, 1, &hint, &msg, &gap, &gap_id);
        if (w == PUSH_WAIT_MESSAGE) {
            char id[PUSH_MSGID_MAX_LEN];
            push_frame_t *f;

            if (!iter) {
                apr_pool_create(&iter, r->pool);
                apr_pool_tag(iter, "push_sse_iter");
            }

            if (gap) {
                /* Said before the message, so a client can tell that what
                 * it missed is gone for good. */
                push_msgid_format(&gap_id, id);
                gone = sse_write_event(&s, iter, NULL, "push-gap", id,
                                       strlen(id));
                if (gone) {
                    break;
                }
            }
            f = push_frame_for(r, iter, &sub, has_cursor ? &cursor : NULL,
                               &msg.id, PUSH_VARIANT_SSE, push_sse_encode, NULL);
            if (!f) {
                continue;   /* gone meanwhile: look again */
            }
            gone = sse_write(&s, (const char *)f->data, f->len);
            cursor = f->key.id;
            has_cursor = 1;
            push_frame_done(f);
            delivered++;
        }
        else if (w == PUSH_WAIT_PING) {
            gone = sse_write(&s, ": ping\n\n", 8);
        }
        else if (w == PUSH_WAIT_GONE) {
            sse_write_event(&s, r->pool, NULL, "push-deleted", channel,
                            strlen(channel));
            break;
        }
        else if (w == PUSH_WAIT_STOPPING) {
            /* The browser reconnects with Last-Event-ID to a live process
             * and loses nothing. */
            r->connection->keepalive = AP_CONN_CLOSE;
            break;
        }
        else {
            gone = 1;   /* PUSH_WAIT_CLIENT_GONE */
        }
    }
    if (iter) {
        apr_pool_destroy(iter);
    }
    push_subscriber_end(&sub);
    if (gone) {
        r->connection->aborted = 1;
        r->connection->keepalive = AP_CONN_CLOSE;
    }
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, "event stream on channel "
                  "%s ended (%s) after %d messages", channel,
                  gone ? "client went away" : "server side", delivered);
    return OK;
}
