/* mod_push_sse.c — the Server-Sent Events (EventSource) transport.
 *
 * A GET with "Accept: text/event-stream" on a push-subscriber location
 * whose PushTransports includes eventsource becomes one long response:
 * every message of the channel, in order, as one event each, flushed the
 * moment it is published.  The framing itself is lib/push_sse.c; the
 * stream is run by the stream loop or a worker thread (mod_push_sub.c),
 * which call this file's table. */
#include "apr_strings.h"

#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"

#include "lib/push_sse.h"
#include "mod_push.h"
#include "mod_push_config.h"
#include "mod_push_conn.h"
#include "mod_push_http.h"
#include "mod_push_sub.h"
#include "mod_push_transport.h"

APLOG_USE_MODULE(push);

/* What a reconnecting EventSource should wait, in milliseconds. */
#define PUSH_SSE_RETRY "retry: 2000\n\n"
#define PUSH_SSE_PING  ": ping\n\n"

/* An event with no id ("push-gap", "push-deleted") into buf. */
static size_t sse_notice(const char *event, const char *data, char *buf,
                         size_t cap)
{
    size_t elen = strlen(event), dlen = strlen(data);

    if (push_sse_event_size(0, elen, data, dlen) > cap) {
        return 0;
    }
    return push_sse_event(buf, NULL, 0, event, elen, data, dlen);
}

/* Event streams take the same bytes, but where PushEventSourceEvent
 * names every message's event. */
static apr_uint32_t sse_variant(const push_sub_t *s)
{
    apr_uint32_t tag;

    return push_conf_es_event(push_conf(s->r), &tag)
           ? 0x40000000u | (tag & 0x3fffffffu) : 0x100;
}

/* The event of one message: the same bytes for every subscriber, so it
 * is built once per process. */
static push_frame_t *sse_encode(const push_sub_t *s, const push_message_t *m)
{
    char id[PUSH_SUB_ID_MAX];
    apr_size_t id_len = push_sub_id_text(s, &m->id, id);
    const char *ev = push_conf_es_event(push_conf(s->r), NULL);
    const char *event = ev ? ev : m->event;
    size_t event_len = ev ? strlen(ev) : m->event_len;
    push_frame_t *f = push_frame_alloc(push_sse_event_size(
        id_len, event_len, m->body, m->body_len));

    if (f) {
        f->len = push_sse_event((char *)f->data, id, id_len, event,
                                event_len, m->body, m->body_len);
    }
    return f;
}

/* Said before the message, so a client can tell that what it missed is
 * gone for good. */
static size_t sse_gap_notice(push_sub_t *s, const push_msgid_t *gap_id,
                             char *buf, size_t cap)
{
    char id[PUSH_SUB_ID_MAX];

    push_sub_id_text(s, gap_id, id);
    return sse_notice("push-gap", id, buf, cap);
}

/* The keep-alive: a comment, or PushEventSourcePing's event. */
static int sse_on_idle(push_sub_t *s)
{
    const char *data, *ev = push_conf_es_ping(push_conf(s->r), &data);
    char buf[PUSH_NOTICE_MAX + 600];
    size_t n;

    if (ev && (n = sse_notice(ev, data ? data : "", buf, sizeof(buf)))) {
        return push_sink_write1(s->sink, buf, n) == PUSH_SINK_GONE;
    }
    return push_sink_write1(s->sink, PUSH_SSE_PING,
                            sizeof(PUSH_SSE_PING) - 1) == PUSH_SINK_GONE;
}

static push_end_e sse_on_end(push_sub_t *s, push_stop_e why)
{
    char buf[PUSH_NOTICE_MAX + PUSH_CHANNEL_ID_MAX];
    size_t n;

    if (why == PUSH_STOP_DELETED
        && (n = sse_notice("push-deleted",
                           push_sub_member(s, s->active)->channel, buf,
                           sizeof(buf)))) {
        push_sink_write1(s->sink, buf, n);
    }
    /* Stopping: the browser reconnects with Last-Event-ID to a live
     * process and loses nothing. */
    return PUSH_END_NOW;
}

static int sse_detect(request_rec *r)
{
    return push_request_accepts(r, "text/event-stream");
}

static const push_transport_t sse_transport;

static int sse_handle(request_rec *r, const char *channel)
{
    push_sub_t *s = apr_palloc(r->pool, sizeof(*s));
    push_channel_info_t info;

    if (!push_sub_begin(r, &sse_transport, channel, s, &info)) {
        return OK;
    }
    /* The first flush sends the headers: the EventSource opens at once. */
    return push_sub_stream_response(r, s, "text/event-stream; charset=utf-8",
                                    PUSH_SSE_RETRY,
                                    sizeof(PUSH_SSE_RETRY) - 1);
}

static const push_transport_t sse_transport = {
    "eventsource", 1, PUSH_T_DEFAULT | PUSH_T_STREAM, 20,
    "EventSource (Accept: text/event-stream)",
    sse_detect, sse_handle, NULL,
    sse_variant, sse_encode, sse_gap_notice, sse_on_idle, sse_on_end, NULL
};

void push_sse_register(apr_pool_t *p)
{
    push_transport_register(p, &sse_transport);
}
