/* mod_push_chunked.c — nchan's "chunked" transport: a GET with
 * "TE: chunked" on a location whose PushTransports includes chunked is
 * one long HTTP/1.1 response, each message one chunk of its body as
 * published, flushed as it is published.  The chunks carry no ids:
 * a client that reconnects starts by PushFirstMessage (or the cursor it
 * sends, as for a long poll).  Lost messages cannot be said in the
 * stream: a client that was connected for a loss is disconnected, and
 * reconnects. */
#include "httpd.h"
#include "http_protocol.h"

#include "mod_push.h"
#include "mod_push_http.h"
#include "mod_push_sub.h"
#include "mod_push_transport.h"

static apr_uint32_t chunked_variant(const push_sub_t *s)
{
    (void)s;
    return 0x400;   /* the body as published */
}

static push_frame_t *chunked_encode(const push_sub_t *s,
                                    const push_message_t *m)
{
    push_frame_t *f;

    (void)s;
    if (!m->body_len) {
        return push_frame_alloc(0);   /* an empty chunk would end it */
    }
    if ((f = push_frame_alloc(m->body_len)) != NULL) {
        memcpy(f->data, m->body, m->body_len);
        f->len = m->body_len;
    }
    return f;
}

static size_t chunked_gap_notice(push_sub_t *s, const push_msgid_t *gap_id,
                                 char *buf, size_t cap)
{
    (void)gap_id;
    (void)buf;
    (void)cap;
    return s->live ? PUSH_NOTICE_END : 0;
}

/* Nothing can be written without being taken for a message: a hang-up
 * is noticed through the socket. */
static int chunked_on_idle(push_sub_t *s)
{
    (void)s;
    return 0;
}

static push_end_e chunked_on_end(push_sub_t *s, push_stop_e why)
{
    (void)s;
    (void)why;
    return PUSH_END_NOW;   /* the last chunk says it ended */
}

static int chunked_detect(request_rec *r)
{
    const char *te = apr_table_get(r->headers_in, "TE");

    return te && ap_find_token(r->pool, te, "chunked");
}

static const push_transport_t chunked_transport;

static int chunked_handle(request_rec *r, const char *channel)
{
    push_sub_t *s = apr_palloc(r->pool, sizeof(*s));
    push_filter_sink_t out;
    push_channel_info_t info;

    if (r->proto_num < HTTP_VERSION(1, 1) || r->connection->master) {
        return push_reply_text(r, HTTP_BAD_REQUEST, "The chunked transport "
                               "is HTTP/1.1's chunked encoding: ask over "
                               "HTTP/1.1.");
    }
    if (!push_sub_begin(r, &chunked_transport, channel, s, &info)) {
        return OK;
    }
    push_strip_content_filters(r);
    r->status = HTTP_OK;
    apr_table_setn(r->headers_out, "Cache-Control", "no-cache, no-transform");
    apr_table_setn(r->headers_out, "X-Accel-Buffering", "no");
    push_filter_sink_init(&out, r, r->output_filters);
    /* An empty write flushes the headers: the client knows at once. */
    push_sink_write1(&out.sink, "", 0);
    return push_sub_stream(r, s, &out, NULL, r->chunked);
}

static const push_transport_t chunked_transport = {
    "chunked", 4, PUSH_T_STREAM | PUSH_T_EXCLUSIVE, 22, "chunked (TE: chunked)",
    chunked_detect, chunked_handle, NULL,
    chunked_variant, chunked_encode, chunked_gap_notice, chunked_on_idle,
    chunked_on_end, NULL
};

void push_chunked_register(apr_pool_t *p)
{
    push_transport_register(p, &chunked_transport);
}
