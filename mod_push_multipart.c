/* mod_push_multipart.c — nchan's "multipart-mixed" transport: a GET with
 * "Accept: multipart/mixed" on a location whose PushTransports includes
 * multipart-mixed is one long multipart/mixed response, each message one
 * part, framed as nchan frames it:
 *
 *   --BOUNDARY                       (at the start)
 *   \r\nLast-Modified: <its time>\r\nEtag: <its n>\r\n
 *   Content-Type: <its type>\r\n     (when it has one)
 *   \r\n<body>\r\n--BOUNDARY         (each message)
 *   --\r\n                           (at the end)
 *
 * so a client resumes like a long poll, from Last-Modified and Etag.  A
 * loss is said in the stream, as the WebSocket meta notice says it: a
 * part of type application/x-push-gap whose Last-Modified and Etag are
 * the newest lost id.  The boundary is random, one per process: every
 * subscriber of the process takes the same bytes. */
#include "apr_strings.h"
#include "apr_general.h"

#include "httpd.h"
#include "http_protocol.h"
#include "util_time.h"

#include "mod_push.h"
#include "mod_push_http.h"
#include "mod_push_sub.h"
#include "mod_push_transport.h"

#define MP_GAP_TYPE "application/x-push-gap"

static apr_uint32_t mp_variant(const push_sub_t *s)
{
    (void)s;
    return 0x500;
}

/* A part's head: \r\nLast-Modified, Etag[, Content-Type]\r\n\r\n, the
 * cursor of s at id (a multiplexed one's: T and the tags). */
static size_t mp_head(char *buf, size_t cap, const push_sub_t *s,
                      const push_msgid_t *id, const char *type,
                      size_t type_len)
{
    char date[APR_RFC822_DATE_LEN], text[PUSH_SUB_ID_MAX];
    const char *etag;
    int n;

    push_sub_id_text(s, id, text);
    etag = strchr(text, ':') + 1;
    apr_rfc822_date(date, apr_time_from_sec(apr_atoi64(text)));
    n = type_len
        ? apr_snprintf(buf, cap, "\r\nLast-Modified: %s\r\nEtag: %s\r\n"
                       "Content-Type: %.*s\r\n\r\n", date, etag,
                       (int)type_len, type)
        : apr_snprintf(buf, cap, "\r\nLast-Modified: %s\r\nEtag: %s\r\n\r\n",
                       date, etag);
    return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

static push_frame_t *mp_encode(const push_sub_t *s, const push_message_t *m)
{
    char head[APR_RFC822_DATE_LEN + 320 + PUSH_SUB_ID_MAX];
    const char *b = push_multipart_boundary();
    size_t hlen = mp_head(head, sizeof(head), s, &m->id, m->content_type,
                          m->content_type_len);
    size_t blen = strlen(b);
    push_frame_t *f = push_frame_alloc(hlen + m->body_len + 4 + blen);

    if (f) {
        unsigned char *p = f->data;

        memcpy(p, head, hlen);
        p += hlen;
        memcpy(p, m->body, m->body_len);
        p += m->body_len;
        memcpy(p, "\r\n--", 4);
        memcpy(p + 4, b, blen);
        f->len = hlen + m->body_len + 4 + blen;
    }
    return f;
}

static size_t mp_gap_notice(push_sub_t *s, const push_msgid_t *gap_id,
                            char *buf, size_t cap)
{
    const char *b = push_multipart_boundary();
    size_t blen = strlen(b);
    size_t hlen = mp_head(buf, cap, s, gap_id, MP_GAP_TYPE,
                          sizeof(MP_GAP_TYPE) - 1);

    if (!hlen || hlen + 4 + blen > cap) {
        return 0;
    }
    memcpy(buf + hlen, "\r\n--", 4);
    memcpy(buf + hlen + 4, b, blen);
    return hlen + 4 + blen;
}

static push_end_e mp_on_end(push_sub_t *s, push_stop_e why)
{
    (void)why;
    /* The closing delimiter: the boundary already written gets "--". */
    push_sink_write1(s->sink, "--\r\n", 4);
    return PUSH_END_NOW;
}

static int mp_detect(request_rec *r)
{
    return push_request_accepts(r, "multipart/mixed");
}

static const push_transport_t mp_transport;

static int mp_handle(request_rec *r, const char *channel)
{
    push_sub_t *s = apr_palloc(r->pool, sizeof(*s));
    push_channel_info_t info;
    const char *b = push_multipart_boundary();

    if (!push_sub_begin(r, &mp_transport, channel, s, &info)) {
        return OK;
    }
    return push_sub_stream_response(
        r, s, apr_pstrcat(r->pool, "multipart/mixed; boundary=", b, NULL),
        apr_pstrcat(r->pool, "--", b, NULL), 2 + strlen(b));
}

static const push_transport_t mp_transport = {
    "multipart-mixed", 5, PUSH_T_STREAM | PUSH_T_EXCLUSIVE, 24,
    "multipart/mixed (Accept: multipart/mixed)",
    mp_detect, mp_handle, NULL,
    mp_variant, mp_encode, mp_gap_notice, push_stream_idle_quiet, mp_on_end, NULL
};

void push_multipart_register(apr_pool_t *p)
{
    push_transport_register(p, &mp_transport);
}
