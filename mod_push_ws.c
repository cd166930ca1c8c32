/* mod_push_ws.c — the WebSocket transport (RFC 6455, RFC 7692).
 *
 * The push-subscriber handler hands us GET requests that carry
 * "Upgrade: websocket".  We check the handshake and answer 101 ourselves
 * on the connection's own filters; from then on the request's filters
 * are out of the picture, and frames go through the subscriber's sink:
 * the stream loop's socket sink when the connection is parked (event
 * MPM, plain HTTP/1.1), or a filter sink on c->output_filters, so that
 * mod_ssl keeps doing TLS (wss://) and nothing of HTTP (chunking,
 * compression, headers) touches them.  The pattern is
 * mod_proxy_wstunnel's; the frame codec is lib/push_ws_codec.c.
 *
 * Whoever runs the socket (the loop, or a worker thread) calls this
 * file's table: the frame of a message, pings every PushPingInterval
 * (a client that does not answer one by the next is dropped), the
 * Close when the channel is deleted or the server stops, and what the
 * client sends: pongs, pings, Close, and with PushWebSocketPublish On,
 * messages to publish.
 */
#include <pthread.h>

#include "apr_strings.h"
#include "apr_sha1.h"
#include "apr_base64.h"

#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_connection.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "util_filter.h"

#include "lib/push_channel_info.h"
#include "lib/push_utf8.h"
#include "lib/push_ws_codec.h"
#include "lib/push_ws_deflate.h"
#include "mod_push.h"
#include "mod_push_admit.h"
#include "mod_push_config.h"
#include "mod_push_conn.h"
#include "mod_push_events.h"
#include "mod_push_http.h"
#include "mod_push_publish.h"
#include "mod_push_redis.h"
#include "mod_push_store.h"
#include "mod_push_upstream.h"
#include "mod_push_sub.h"
#include "mod_push_transport.h"

APLOG_USE_MODULE(push);

/* The meta subprotocols: nchan's prefixes each message with its id and
 * content type; ours (push.js offers it first) adds the event name, the
 * publisher's X-EventSource-Event, in a line of its own (nchan's client
 * would not parse that line, so it gets it only by asking). */
#define WS_META_PROTOCOL "ws+meta.nchan"
#define WS_META_PUSH_PROTOCOL "ws+meta.push"
enum { WS_META_NONE, WS_META_NCHAN, WS_META_PUSH };
static const char *const ws_meta_names[] = {
    NULL, WS_META_PROTOCOL, WS_META_PUSH_PROTOCOL
};
/* The Close code of a plain WebSocket that missed messages (RFC 6455
 * 7.4.2 leaves 4000-4999 to applications), and the content type of the
 * notice a ws+meta.nchan one gets instead.  Both are in the README. */
#define PUSH_WS_CLOSE_GAP   4001
#define WS_GAP_CONTENT_TYPE "application/x-push-gap"
/* What a client may send behind its handshake, before our answer. */
#define WS_EARLY_MAX        (1024 * 1024)
/* Frame-cache variants: | the WS_META_* kind, | window bits << 2 when
 * deflated. */
#define WS_VARIANT       0x200

/* A WebSocket's own state (the subscriber's tstate). */
typedef struct {
    request_rec         *r;
    const push_dir_conf *conf;
    push_ws_asm_t        as;
    push_ws_pmd_t        pmd;
    push_ws_inflater_t  *inflater;
    int                  meta;         /* WS_META_*: the subprotocol */
    const char          *pub_channel;  /* where its messages go; NULL:
                                        * they are refused (1008) */
    const char         **pub_ids;      /* ... each of its channels */
    unsigned             npub;
    int                  info_replies; /* a publisher's: each publish is
                                        * answered with the channel info */
    const char          *pub_shown;    /* ... which names it so */
    const char          *up_url;       /* PushPublisherUpstreamRequest's */
    int                  closing;      /* our Close was sent */
    int                  done;         /* the connection is finished */
    int                  ping_due_answer;  /* a ping is unanswered */
    apr_size_t           received_messages;
} ws_conn;

/* ------------------------------------------------------------------ */
/* Handshake                                                            */

static const char *ws_accept_key(apr_pool_t *p, const char *key)
{
    apr_sha1_ctx_t sha;
    unsigned char digest[APR_SHA1_DIGESTSIZE];
    char *out = apr_palloc(p, apr_base64_encode_len(APR_SHA1_DIGESTSIZE));

    apr_sha1_init(&sha);
    apr_sha1_update(&sha, key, (unsigned int)strlen(key));
    apr_sha1_update(&sha, PUSH_WS_GUID, (unsigned int)strlen(PUSH_WS_GUID));
    apr_sha1_final(digest, &sha);
    apr_base64_encode(out, (const char *)digest, APR_SHA1_DIGESTSIZE);
    return out;
}

/* RFC 6455 4.2.1.  1 when acceptable; 0 after replying with the reason. */
static int ws_check_handshake(request_rec *r, const push_dir_conf *conf,
                              const char **key)
{
    const char *upgrade = apr_table_get(r->headers_in, "Upgrade");
    const char *connection = apr_table_get(r->headers_in, "Connection");
    const char *version = apr_table_get(r->headers_in,
                                        "Sec-WebSocket-Version");

    *key = apr_table_get(r->headers_in, "Sec-WebSocket-Key");
    if (r->connection->master || r->proto_num != HTTP_VERSION(1, 1)) {
        push_reply_text(r, HTTP_BAD_REQUEST, "WebSocket handshake "
                               "refused: it needs a GET over HTTP/1.1.");
        return 0;
    }
    if (!upgrade || !push_ws_token_in_list(upgrade, strlen(upgrade),
                                           "websocket")) {
        push_reply_text(r, HTTP_BAD_REQUEST, "WebSocket handshake "
                               "refused: Upgrade must be 'websocket'.");
        return 0;
    }
    if (!connection || !push_ws_token_in_list(connection, strlen(connection),
                                              "upgrade")) {
        push_reply_text(r, HTTP_BAD_REQUEST, "WebSocket handshake "
                               "refused: Connection must include "
                               "'Upgrade'.");
        return 0;
    }
    if (!*key || !push_ws_key_valid(*key, strlen(*key))) {
        push_reply_text(r, HTTP_BAD_REQUEST, "WebSocket handshake "
                               "refused: Sec-WebSocket-Key must be the "
                               "base64 of 16 bytes.");
        return 0;
    }
    if (!version || strcmp(version, "13")) {
        apr_table_setn(r->err_headers_out, "Sec-WebSocket-Version", "13");
        push_reply_text(r, HTTP_UPGRADE_REQUIRED, "WebSocket "
                               "handshake refused: only "
                               "Sec-WebSocket-Version 13 is spoken here.");
        return 0;
    }
    /* Browsers always send Origin; a page from another site must not ride
     * on the user's cookies into this socket (cross-site WebSocket
     * hijacking). */
    if (!push_origin_ok(r, conf)) {
        push_reply_text(r, HTTP_FORBIDDEN, "WebSocket handshake "
                               "refused: origin '%s' is not allowed "
                               "(PushAllowOrigin).",
                               apr_table_get(r->headers_in, "Origin"));
        return 0;
    }
    return 1;
}

/* The channel a WebSocket is on, or a publisher's is publishing to,
 * for the log. */
static const char *ws_named(const push_sub_t *s)
{
    const ws_conn *ws = s->tstate;

    return s->channel ? s->channel : ws->pub_shown;
}

/* ------------------------------------------------------------------ */
/* Writing frames                                                       */

/* Header and payload as one write; non-zero when the client is gone (the
 * connection is then done). */
static int ws_write(push_sub_t *s, const unsigned char *hdr, apr_size_t hlen,
                    const void *payload, apr_size_t plen)
{
    ws_conn *ws = s->tstate;
    struct iovec v[2];

    v[0].iov_base = (void *)hdr;
    v[0].iov_len = hlen;
    v[1].iov_base = (void *)payload;
    v[1].iov_len = plen;
    if (push_sink_write(s->sink, v, plen ? 2 : 1) == PUSH_SINK_GONE) {
        ws->done = 1;
        return 1;
    }
    return 0;
}

static int ws_send_control(push_sub_t *s, unsigned opcode, const void *data,
                           apr_size_t len)
{
    unsigned char frame[PUSH_WS_MAX_CONTROL_FRAME];
    apr_size_t n = push_ws_build_control(frame, opcode, data, len);

    return n ? ws_write(s, frame, n, NULL, 0) : 0;
}

/* Sends our Close (once).  1005 means an empty Close. */
static void ws_send_close(push_sub_t *s, apr_uint16_t code,
                          const char *reason)
{
    ws_conn *ws = s->tstate;
    unsigned char frame[PUSH_WS_MAX_CONTROL_FRAME];
    apr_size_t n;

    if (ws->closing || ws->done) {
        return;
    }
    n = push_ws_build_close(frame, code, reason, reason ? strlen(reason) : 0);
    ws->closing = 1;
    ws_write(s, frame, n, NULL, 0);
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, ws->r, "websocket on channel "
                  "%s: closing with %u%s%s", ws_named(s), code,
                  reason ? ": " : "", reason ? reason : "");
}

/* Deflaters shared by every WebSocket of this process, one per window
 * size agreed: messages are compressed without context takeover, once
 * per message (the frame cache), so a per-connection deflater (hundreds
 * of KB of zlib state each) would only waste memory. */
static pthread_mutex_t   deflate_lock = PTHREAD_MUTEX_INITIALIZER;
static push_ws_deflater_t *deflaters[16];

static int ws_deflate(int window_bits, const push_ws_part_t *parts,
                      int nparts, push_buf_t *out)
{
    int rv = -1;

    pthread_mutex_lock(&deflate_lock);
    if (!deflaters[window_bits]) {
        deflaters[window_bits] = push_ws_deflater_new(window_bits, -1, 0);
    }
    if (deflaters[window_bits]) {
        rv = push_ws_deflate_parts(deflaters[window_bits], parts, nparts,
                                   out);
    }
    pthread_mutex_unlock(&deflate_lock);
    return rv;
}

static apr_uint32_t ws_variant(const push_sub_t *s)
{
    const ws_conn *ws = s->tstate;

    return WS_VARIANT | (apr_uint32_t)ws->meta
           | (ws->pmd.enabled ? (apr_uint32_t)ws->pmd.server_max_window_bits
                                << 2 : 0);
}

/* The whole frame of one message: nchan's meta prefix when ws+meta.nchan
 * was chosen, text when the payload is UTF-8, binary otherwise,
 * compressed when permessage-deflate was agreed.  The same bytes for
 * every connection of the same variant.  The payload is written once,
 * into the frame (or into zlib, then the frame): prefix and body are
 * never joined first. */
static push_frame_t *ws_encode(const push_sub_t *s, const push_message_t *m)
{
    const ws_conn *ws = s->tstate;
    char prefix[PUSH_SUB_ID_MAX + 600];   /* + type and event, 255 each */
    push_ws_part_t parts[2];
    push_buf_t z = {NULL, 0, 0};
    push_utf8_t u;
    push_frame_t *f;
    apr_size_t plen, hlen;
    unsigned opcode;
    int i, rsv1 = 0, np = 0;

    if (ws->meta) {
        char id[PUSH_SUB_ID_MAX];

        int with_event = ws->meta == WS_META_PUSH && m->event_len;

        push_sub_id_text(s, &m->id, id);
        parts[np].data = prefix;
        parts[np++].len = (apr_size_t)apr_snprintf(
            prefix, sizeof(prefix), "id: %s\n%s%.*s%s%s%.*s%s\n", id,
            m->content_type_len ? "content-type: " : "",
            (int)m->content_type_len, m->content_type ? m->content_type : "",
            m->content_type_len ? "\n" : "",
            with_event ? "event: " : "",
            with_event ? (int)m->event_len : 0, with_event ? m->event : "",
            with_event ? "\n" : "");
    }
    parts[np].data = m->body;
    parts[np++].len = m->body_len;
    push_utf8_init(&u);
    for (i = 0, plen = 0; i < np; i++) {
        push_utf8_feed(&u, parts[i].data, parts[i].len);
        plen += parts[i].len;
    }
    opcode = push_utf8_finish(&u) == 0 ? PUSH_WS_OP_TEXT : PUSH_WS_OP_BINARY;
    if (ws->pmd.enabled && plen > 0
        && ws_deflate(ws->pmd.server_max_window_bits, parts, np, &z) == 0) {
        parts[0].data = z.data;
        parts[0].len = plen = z.len;
        np = 1;
        rsv1 = 1;
    }
    if ((f = push_frame_alloc(PUSH_WS_MAX_HEADER + plen)) != NULL) {
        unsigned char *p;

        hlen = push_ws_frame_header(f->data, opcode, rsv1, plen);
        for (i = 0, p = f->data + hlen; i < np; i++) {
            memcpy(p, parts[i].data, parts[i].len);
            p += parts[i].len;
        }
        f->len = hlen + plen;
    }
    push_buf_free(&z);
    return f;
}

/* ------------------------------------------------------------------ */
/* Reading frames                                                       */

/* A publisher's answer to each message, as an HTTP publisher's: the
 * channel's info (several channels': summed, no id), as a text frame in
 * the format the handshake's Accept named. */
static void ws_reply_info(push_sub_t *s, const push_channel_info_t *info,
                          const push_msgid_t *id)
{
    ws_conn *ws = s->tstate;
    char buf[PUSH_INFO_MAX], last[PUSH_MSGID_MAX_LEN] = "0:0";
    unsigned char hdr[PUSH_WS_MAX_HEADER];
    const char *type;
    apr_size_t n, h;

    if (id) {
        push_msgid_format(id, last);
    }
    n = push_channel_info_render(ws->r, ws->pub_shown, info, last, buf,
                                 sizeof(buf), &type);
    h = push_ws_frame_header(hdr, PUSH_WS_OP_TEXT, 0, n);
    ws_write(s, hdr, h, buf, n);
}

/* What the client sent, published like a POST. */
static void ws_publish(push_sub_t *s, const push_ws_message_t *m)
{
    ws_conn *ws = s->tstate;
    push_message_t msg;
    push_status_e st;
    push_channel_info_t info, all;
    push_msgid_t id;
    unsigned done;
    const char *body = (const char *)m->data, *why;
    const char *type = m->type == PUSH_WS_MSG_TEXT
                       ? "text/plain; charset=utf-8"
                       : "application/octet-stream";
    apr_size_t len = m->len;
    apr_pool_t *p = NULL;

    ws->received_messages++;
    if (ws->up_url) {
        /* PushPublisherUpstreamRequest: the application may change it,
         * drop it (nothing is said), or refuse it (the socket closes).
         * What it answers lives for this message only. */
        int up;

        apr_pool_create(&p, ws->r->pool);
        up = push_pub_upstream(ws->r, p, ws->up_url, ws->pub_ids, ws->npub,
                               "websocket", &body, &len, &type, &why);
        if (up != OK) {
            if (up != HTTP_NO_CONTENT) {
                ws_send_close(s, up == HTTP_FORBIDDEN ? PUSH_WS_CLOSE_POLICY
                                 : up == HTTP_REQUEST_ENTITY_TOO_LARGE
                                 ? PUSH_WS_CLOSE_TOO_BIG
                                 : PUSH_WS_CLOSE_INTERNAL_ERROR, why);
                ws->done = 1;
            }
            apr_pool_destroy(p);
            return;
        }
    }
    memset(&msg, 0, sizeof(msg));
    msg.body = body;
    msg.body_len = len;
    msg.content_type = type ? type : "";
    msg.content_type_len = type ? strlen(type) : 0;
    /* PushEventSourceEvent names every message's event, as it does a
     * POST's. */
    msg.event = push_conf_es_event(ws->conf, NULL);
    msg.event_len = msg.event ? strlen(msg.event) : 0;
    /* To each channel of the publisher's (several: a multiplexed
     * location's set); waiting for slow subscribers only off the loop. */
    st = push_publish_to(ws->r, ws->conf, ws->pub_ids, ws->npub, &msg,
                         s->on_thread, &all, &info, &id, &done);
    if (st == PUSH_OK && ws->info_replies) {
        ws_reply_info(s, ws->npub == 1 ? &info : &all,
                      ws->npub == 1 ? &id : NULL);
    }
    if (st != PUSH_OK) {
        /* 1009 when it can never fit, 1011 (try later) when the store is
         * out of channel slots. */
        ws_send_close(s, st == PUSH_TOO_BIG ? PUSH_WS_CLOSE_TOO_BIG
                                            : PUSH_WS_CLOSE_INTERNAL_ERROR,
                      "message refused by the push store");
        ws->done = 1;
    }
    if (p) {
        apr_pool_destroy(p);
    }
}

/* PushWebSocketClientHeartbeat: a browser cannot send a ping, so a
 * client may send the configured text instead, and gets the answer as
 * a text frame (neither is published).  1 when m was the heartbeat. */
static int ws_heartbeat(push_sub_t *s, const push_ws_message_t *m)
{
    ws_conn *ws = s->tstate;
    const char *out, *in = push_conf_ws_heartbeat(ws->conf, &out);
    unsigned char hdr[PUSH_WS_MAX_HEADER];
    apr_size_t n;

    if (!in || m->len != strlen(in) || memcmp(m->data, in, m->len)) {
        return 0;
    }
    n = push_ws_frame_header(hdr, PUSH_WS_OP_TEXT, 0, strlen(out));
    ws_write(s, hdr, n, out, strlen(out));
    return 1;
}

/* The complete messages and control frames in data[0..len) (unmasked in
 * place); 1 once the connection is finished. */
static int ws_on_input(push_sub_t *s, unsigned char *data, size_t len)
{
    ws_conn *ws = s->tstate;

    while (len > 0 && !ws->done) {
        push_ws_message_t m;
        apr_size_t used = push_ws_asm_feed(&ws->as, data, len, &m);

        data += used;
        len -= used;
        switch (m.type) {
        case PUSH_WS_MSG_NONE:
            break;
        case PUSH_WS_MSG_TEXT:
        case PUSH_WS_MSG_BINARY:
            if (ws->closing) {
                break;   /* after our Close, data is dropped */
            }
            if (m.type == PUSH_WS_MSG_TEXT && ws_heartbeat(s, &m)) {
                break;
            }
            if (!ws->pub_channel) {
                ws_send_close(s, PUSH_WS_CLOSE_POLICY, "this channel does "
                              "not accept messages from subscribers "
                              "(PushWebSocketPublish Off)");
                ws->done = 1;
                break;
            }
            ws_publish(s, &m);
            break;
        case PUSH_WS_MSG_PING:
            if (!ws->closing) {
                ws_send_control(s, PUSH_WS_OP_PONG, m.data, m.len);
            }
            break;
        case PUSH_WS_MSG_PONG:
            ws->ping_due_answer = 0;   /* unsolicited ones are harmless */
            break;
        case PUSH_WS_MSG_CLOSE:
            /* Echo the peer's code (an empty Close for none), then the
             * TCP connection is closed. */
            if (!ws->closing) {
                unsigned char frame[PUSH_WS_MAX_CONTROL_FRAME];
                apr_size_t n = push_ws_build_close(frame, m.reply_code,
                                                   NULL, 0);
                ws->closing = 1;
                ws_write(s, frame, n, NULL, 0);
            }
            ws->done = 1;
            break;
        case PUSH_WS_MSG_ERROR:
            ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, ws->r, "websocket on "
                          "channel %s: protocol error, closing with %u",
                          ws_named(s), m.reply_code);
            ws_send_close(s, m.reply_code,
                          m.reply_code == PUSH_WS_CLOSE_TOO_BIG
                          ? "message too big (PushMaxMessageSize)"
                          : m.reply_code == PUSH_WS_CLOSE_INVALID_DATA
                          ? "invalid payload data" : "protocol error");
            ws->done = 1;
            break;
        }
        if (used == 0 && m.type == PUSH_WS_MSG_NONE) {
            break;
        }
    }
    return ws->done;
}

/* ------------------------------------------------------------------ */
/* Keep-alive and the end                                               */

/* PushPingInterval passed: a ping, or, when the last one went
 * unanswered (a client that does not read cannot answer), the client is
 * dropped. */
static int ws_on_idle(push_sub_t *s)
{
    ws_conn *ws = s->tstate;

    if (ws->ping_due_answer) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, ws->r, "websocket on "
                      "channel %s: no pong in time, dropping the client",
                      ws_named(s));
        ws_send_close(s, PUSH_WS_CLOSE_GOING_AWAY, "ping timeout");
        return 1;
    }
    ws->ping_due_answer = 1;
    ws_send_control(s, PUSH_WS_OP_PING, "push", 4);
    return ws->done;
}

/* Messages were lost to this subscriber (it fell more than
 * PushSubscriberBacklog behind, or the store ran out of room).  A
 * ws+meta.nchan client is told in the stream, with a message of its own
 * kind whose id is the newest lost one (its last id moves past the gap,
 * as an event stream's does with push-gap).  A plain WebSocket has no
 * room for a notice: one that was connected for the loss is closed with
 * PUSH_WS_CLOSE_GAP, so that it reconnects from the last message it has;
 * history that was gone before it connected is not a loss it can act on
 * (it starts at the oldest message the channel still has). */
static size_t ws_gap_notice(push_sub_t *s, const push_msgid_t *gap_id,
                            char *buf, size_t cap)
{
    ws_conn *ws = s->tstate;
    char id[PUSH_SUB_ID_MAX], text[PUSH_NOTICE_MAX];
    apr_size_t hlen;
    int n;

    if (!ws->meta) {
        return s->live ? PUSH_NOTICE_END : 0;
    }
    push_sub_id_text(s, gap_id, id);
    n = apr_snprintf(text, sizeof(text), "id: %s\ncontent-type: "
                     WS_GAP_CONTENT_TYPE "\n\n", id);
    if (n <= 0 || (apr_size_t)n + PUSH_WS_MAX_HEADER > cap) {
        return 0;
    }
    hlen = push_ws_frame_header((unsigned char *)buf, PUSH_WS_OP_TEXT, 0,
                                (apr_size_t)n);
    memcpy(buf + hlen, text, (apr_size_t)n);
    return hlen + (apr_size_t)n;
}

/* The channel was deleted, the server is stopping, or messages were lost
 * (a plain WebSocket): our Close; the client's is awaited a little. */
static push_end_e ws_on_end(push_sub_t *s, push_stop_e why)
{
    ws_conn *ws = s->tstate;

    if (why == PUSH_STOP_DELETED) {
        ws_send_close(s, PUSH_WS_CLOSE_NORMAL, "channel deleted");
    }
    else if (why == PUSH_STOP_GAP) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, ws->r, "websocket on "
                      "channel %s: messages lost, closing with %d so that "
                      "it resumes from its last message", s->channel,
                      PUSH_WS_CLOSE_GAP);
        ws_send_close(s, PUSH_WS_CLOSE_GAP, "messages lost: reconnect "
                      "with your last message id");
    }
    else if (why == PUSH_STOP_TIMEOUT) {
        /* nchan's words for PushSubscriberTimeout. */
        ws_send_close(s, PUSH_WS_CLOSE_NORMAL, "408 Request Timeout");
    }
    else {
        ws_send_close(s, PUSH_WS_CLOSE_GOING_AWAY, "server restarting");
    }
    return ws->done ? PUSH_END_NOW : PUSH_END_AWAIT_CLOSE;
}

/* ------------------------------------------------------------------ */
/* The subscriber                                                       */

static int ws_negotiate(ws_conn *ws, const char **ext)
{
    request_rec *r = ws->r;
    const char *protos = apr_table_get(r->headers_in,
                                       "Sec-WebSocket-Protocol");
    const char *exts = apr_table_get(r->headers_in,
                                     "Sec-WebSocket-Extensions");

    *ext = NULL;
    ws->meta = !protos ? WS_META_NONE
        : push_ws_protocol_offered(protos, strlen(protos),
                                   WS_META_PUSH_PROTOCOL) ? WS_META_PUSH
        : push_ws_protocol_offered(protos, strlen(protos), WS_META_PROTOCOL)
          ? WS_META_NCHAN : WS_META_NONE;
    memset(&ws->pmd, 0, sizeof(ws->pmd));
    if (exts && push_conf_ws_deflate(ws->conf)) {
        char *resp = apr_palloc(r->pool, PUSH_WS_PMD_RESPONSE_MAX);

        if (push_ws_pmd_negotiate(exts, strlen(exts), NULL, &ws->pmd, resp,
                                  PUSH_WS_PMD_RESPONSE_MAX) == 1) {
            ws->inflater = push_ws_inflater_new(&ws->pmd);
            if (!ws->inflater) {
                return HTTP_INTERNAL_SERVER_ERROR;
            }
            *ext = resp;
        }
    }
    return OK;
}

static apr_status_t ws_cleanup(void *data)
{
    ws_conn *ws = data;

    push_ws_asm_free(&ws->as);
    if (ws->inflater) {
        push_ws_inflater_free(ws->inflater);
    }
    return APR_SUCCESS;
}

/* The 101, written straight to the connection: no HTTP filter may add
 * Transfer-Encoding, Content-Encoding or anything else to it. */
static int ws_send_101(push_sub_t *s, const char *accept, const char *ext)
{
    ws_conn *ws = s->tstate;
    char *head = apr_pstrcat(ws->r->pool,
                             "HTTP/1.1 101 Switching Protocols\r\n"
                             "Upgrade: websocket\r\n"
                             "Connection: Upgrade\r\n"
                             "Sec-WebSocket-Accept: ", accept, "\r\n",
                             ws->meta ? "Sec-WebSocket-Protocol: " : "",
                             ws->meta ? ws_meta_names[ws->meta] : "",
                             ws->meta ? "\r\n" : "",
                             ext ? "Sec-WebSocket-Extensions: " : "",
                             ext ? ext : "", ext ? "\r\n" : "",
                             "\r\n", NULL);

    return push_sink_write1(s->sink, head, strlen(head)) == PUSH_SINK_GONE;
}

static int ws_detect(request_rec *r)
{
    const char *upgrade = apr_table_get(r->headers_in, "Upgrade");

    return upgrade && ap_find_token(r->pool, upgrade, "websocket");
}

static const push_transport_t ws_transport;

/* A WebSocket subscriber of channel, or (publisher 1) a publisher's
 * WebSocket on a push-publisher location: it follows no channel, what it
 * sends is published to channel, and each publish is answered with the
 * channel's info, as nchan's websocket publisher is. */
static int ws_serve(request_rec *r, const char *channel, int publisher)
{
    const push_dir_conf *conf = push_conf(r);
    conn_rec *c = r->connection;
    push_filter_sink_t out;
    push_filter_source_t in;
    push_channel_info_t info;
    const char *key, *ext;
    push_sub_t *s;
    ws_conn *ws;
    int got, failed = 0, i;

    if (!ws_check_handshake(r, conf, &key)) {
        return OK;   /* refused, reason sent */
    }
    ws = apr_pcalloc(r->pool, sizeof(*ws));
    ws->r = r;
    ws->conf = conf;
    /* Its messages go to its own channel, or on a push-pubsub location
     * to PushPublisherChannel's (refused with 400 before the handshake
     * when that is no channel id). */
    if (publisher || push_clients_publish(r, conf)) {
        ws->pub_channel = push_is_pubsub(r)
            ? push_request_channel(r, conf, PUSH_ROLE_PUBLISHER) : channel;
        ws->info_replies = publisher;
        ws->pub_shown = ws->pub_channel
            ? push_channel_shown(r->pool, ws->pub_channel) : NULL;
        if (!ws->pub_channel) {
            return OK;
        }
        ws->pub_ids = apr_palloc(r->pool, PUSH_MUX_MAX * sizeof(char *));
        ws->npub = push_channel_set_split(apr_pstrdup(r->pool,
                                                      ws->pub_channel),
                                          ws->pub_ids, PUSH_MUX_MAX);
        ws->up_url = push_pub_upstream_url(r, conf, ws->pub_channel, &failed);
        if (failed) {
            return push_reply_text(r, HTTP_INTERNAL_SERVER_ERROR, "The "
                                   "messages could not be passed to the "
                                   "application.");
        }
    }
    if (ws_negotiate(ws, &ext) != OK) {
        ws_cleanup(ws);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    apr_pool_cleanup_register(r->pool, ws, ws_cleanup,
                              apr_pool_cleanup_null);
    push_ws_asm_init(&ws->as, (apr_uint64_t)push_conf_max_message_size(conf),
                     ws->inflater);
    s = apr_palloc(r->pool, sizeof(*s));
    if (publisher) {
        /* It holds this thread as a subscriber does, and is admitted as
         * one; it is no channel's subscriber. */
        memset(s, 0, sizeof(*s));
        s->t = &ws_transport;
        s->env = push_env();
        s->r = r;
        if (!s->env || !push_admit_take(r)) {
            if (!s->env) {
                push_reply_text(r, HTTP_SERVICE_UNAVAILABLE, "Publishers "
                                "are not available in this server "
                                "process.");
            }
            return OK;
        }
    }
    else if (!push_sub_begin(r, &ws_transport, channel, s, &info)) {
        return OK;
    }
    s->tstate = ws;
    /* A publisher's WebSocket follows no channel, and the loop's items
     * are woken by their channels; messages through the application, or
     * through Redis, would make the loop wait on them. */
    s->on_thread = publisher || ws->up_url != NULL
                   || (ws->npub > 0 && push_redis_on(r->server));

    /* Take the connection over: connection filters only from here on,
     * no request timeout, no keep-alive afterwards, no TLS coalescing
     * (frames must leave when flushed). */
    ap_remove_input_filter_byhandle(c->input_filters, "reqtimeout");
    ap_remove_output_filter_byhandle(c->output_filters,
                                     "SSL/TLS Coalescing Filter");
    r->input_filters = r->proto_input_filters = c->input_filters;
    r->output_filters = r->proto_output_filters = c->output_filters;
    c->keepalive = AP_CONN_CLOSE;
    push_filter_sink_init(&out, r, c->output_filters);
    push_filter_source_init(&in, r, c->input_filters);
    s->sink = &out.sink;
    r->status = HTTP_SWITCHING_PROTOCOLS;
    ws->done = ws_send_101(s, ws_accept_key(r->pool, key), ext);
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, "websocket %s channel %s "
                  "open%s%s%s", publisher ? "publishing to" : "on",
                  push_channel_shown(r->pool, channel), ws->meta ? " " : "",
                  ws->meta ? ws_meta_names[ws->meta] : "",
                  ext ? ", permessage-deflate" : "");
    /* Frames the client sent right behind its handshake (RFC 6455 has it
     * wait for our answer first) may be in httpd's buffers already, where
     * neither poll nor the loop can see them: they are all read now,
     * until httpd and the socket hold nothing more.  A client that sends
     * more than WS_EARLY_MAX that way is closed with 1008. */
    for (i = 0; !ws->done; i++) {
        int rc = push_sub_read(s, &in.source, &got);

        if (rc != PUSH_INPUT_MORE) {
            ws->done = rc != 0;
            break;
        }
        if ((i + 1) * PUSH_READ_BUDGET >= WS_EARLY_MAX) {
            ws_send_close(s, PUSH_WS_CLOSE_POLICY, "more than 1 MB sent "
                          "before the handshake was answered");
            ws->done = 1;
        }
    }
    if (ws->done) {
        push_sub_end(s);
        return OK;
    }
    return push_sub_stream(r, s, &out, &in, 0);
}

static int ws_handle(request_rec *r, const char *channel)
{
    return ws_serve(r, channel, 0);
}

int push_ws_publisher(request_rec *r, const char *channel)
{
    return ws_serve(r, channel, 1);
}

int push_ws_asks(request_rec *r)
{
    return ws_detect(r);
}

static const push_transport_t ws_transport = {
    "websocket", 0, PUSH_T_DEFAULT | PUSH_T_STREAM | PUSH_T_READS
                    | PUSH_T_EXCLUSIVE | PUSH_T_PING_FIXED, 10,
    "WebSocket (Upgrade: websocket)",
    ws_detect, ws_handle, NULL,
    ws_variant, ws_encode, ws_gap_notice, ws_on_idle, ws_on_end, ws_on_input
};

void push_ws_register(apr_pool_t *p)
{
    push_transport_register(p, &ws_transport);
}
