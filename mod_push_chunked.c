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

static int chunked_detect(request_rec *r)
{
    const char *te = apr_table_get(r->headers_in, "TE");

    return te && ap_find_token(r->pool, te, "chunked");
}

static const push_transport_t chunked_transport;

static int chunked_handle(request_rec *r, const char *channel)
{
    push_sub_t *s = apr_palloc(r->pool, sizeof(*s));
    push_channel_info_t info;

    if (r->proto_num < HTTP_VERSION(1, 1) || r->connection->master) {
        return push_reply_text(r, HTTP_BAD_REQUEST, "The chunked transport "
                               "is HTTP/1.1's chunked encoding: ask over "
                               "HTTP/1.1.");
    }
    if (!push_sub_begin(r, &chunked_transport, channel, s, &info)) {
        return OK;
    }
    return push_sub_stream_response(r, s, NULL, "", 0);
}

static const push_transport_t chunked_transport = {
    "chunked", 4, PUSH_T_STREAM | PUSH_T_EXCLUSIVE | PUSH_T_ONE_A_WRITE, 22,
    "chunked (TE: chunked)",
    chunked_detect, chunked_handle, NULL,
    chunked_variant, chunked_encode, push_stream_gap_ends,
    push_stream_idle_quiet, push_stream_end_quiet, NULL
};

void push_chunked_register(apr_pool_t *p)
{
    push_transport_register(p, &chunked_transport);
}
