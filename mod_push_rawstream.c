/* mod_push_rawstream.c — nchan's "http-raw-stream" transport: on a
 * location whose PushTransports includes http-raw-stream, a GET is one
 * long response of the channel's message bodies as published, each
 * followed by PushRawStreamSeparator (default a newline), for clients
 * that read a plain stream (curl, a script).  No ids, types or events;
 * a client that was connected for a loss of messages is disconnected. */
#include "apr_strings.h"

#include "httpd.h"
#include "http_protocol.h"

#include "mod_push.h"
#include "mod_push_config.h"
#include "mod_push_sub.h"
#include "mod_push_transport.h"

/* Subscribers with the same separator take the same bytes. */
static apr_uint32_t raw_variant(const push_sub_t *s)
{
    apr_uint32_t tag;

    push_conf_raw_separator(push_conf(s->r), &tag);
    return 0x80000000u | (tag & 0x7fffffffu);
}

static push_frame_t *raw_encode(const push_sub_t *s, const push_message_t *m)
{
    const char *sep = push_conf_raw_separator(push_conf(s->r), NULL);
    size_t seplen = strlen(sep);
    push_frame_t *f = push_frame_alloc(m->body_len + seplen);

    if (f) {
        memcpy(f->data, m->body, m->body_len);
        memcpy(f->data + m->body_len, sep, seplen);
        f->len = m->body_len + seplen;
    }
    return f;
}

/* Any GET, where the location serves it. */
static int raw_detect(request_rec *r)
{
    (void)r;
    return 1;
}

static const push_transport_t raw_transport;

static int raw_handle(request_rec *r, const char *channel)
{
    push_sub_t *s = apr_palloc(r->pool, sizeof(*s));
    push_channel_info_t info;

    if (!push_sub_begin(r, &raw_transport, channel, s, &info)) {
        return OK;
    }
    return push_sub_stream_response(r, s, "text/plain", "", 0);
}

static const push_transport_t raw_transport = {
    "http-raw-stream", 6, PUSH_T_STREAM, 26, NULL,
    raw_detect, raw_handle, NULL,
    raw_variant, raw_encode, push_stream_gap_ends, push_stream_idle_quiet,
    push_stream_end_quiet, NULL
};

void push_rawstream_register(apr_pool_t *p)
{
    push_transport_register(p, &raw_transport);
}
