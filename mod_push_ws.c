/* mod_push_ws.c — the WebSocket transport (RFC 6455, RFC 7692).
 *
 * The push-subscriber handler hands us GET requests that carry
 * "Upgrade: websocket".  We check the handshake, answer 101 ourselves on
 * the connection's own filters, and from then on the request's filters
 * are out of the picture: frames are read from c->input_filters and
 * written to c->output_filters only, so mod_ssl keeps doing TLS (wss://)
 * and nothing of HTTP (chunking, compression, headers) touches them.  The
 * pattern is mod_proxy_wstunnel's; the frame codec is push_ws_codec.c.
 *
 * One thread serves one WebSocket (httpd 2.4 handlers cannot yield): it
 * polls the client socket and its channel's wake-up descriptor, sends each
 * new message as a frame, answers pings, pings the client every
 * PushPingInterval, and, with PushWebSocketPublish On, publishes what the
 * client sends.
 */
#include <poll.h>
#include <errno.h>
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

#include "mod_push.h"
#include "mod_push_http.h"
#include "lib/push_ws_codec.h"
#include "lib/push_ws_deflate.h"
#include "lib/push_utf8.h"

APLOG_USE_MODULE(push);

#define WS_META_PROTOCOL "ws+meta.nchan"
#define WS_READ_CHUNK    (64 * 1024)
/* How long a closing server waits for the client's Close frame. */
#define WS_CLOSE_WAIT_MS 2000

typedef struct {
    request_rec         *r;
    conn_rec            *c;
    const push_dir_conf *conf;
    const char          *channel;
    int                  fd;           /* the client's TCP socket */
    apr_bucket_brigade  *in;
    apr_bucket_brigade  *out;
    push_ws_asm_t        as;
    push_ws_pmd_t        pmd;
    push_ws_inflater_t  *inflater;
    int                  meta;         /* ws+meta.nchan selected */
    int                  closing;      /* our Close was sent */
    int                  done;         /* the connection is finished */
    int                  ping_due_answer;  /* a ping is unanswered */
    apr_size_t           sent_messages;
    apr_size_t           received_messages;
    /* Parked (mod_push_park.c): frames go out through the stream loop,
     * not the filters. */
    push_park_send_fn    park_send;
    void                *park;
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

/* Writes the 101 straight to the connection: no HTTP filter may add
 * Transfer-Encoding, Content-Encoding or anything else to it. */
static apr_status_t ws_send_101(ws_conn *ws, const char *accept,
                                const char *ext)
{
    char *head = apr_pstrcat(ws->r->pool,
                             "HTTP/1.1 101 Switching Protocols\r\n"
                             "Upgrade: websocket\r\n"
                             "Connection: Upgrade\r\n"
                             "Sec-WebSocket-Accept: ", accept, "\r\n",
                             ws->meta ? "Sec-WebSocket-Protocol: "
                                        WS_META_PROTOCOL "\r\n" : "",
                             ext ? "Sec-WebSocket-Extensions: " : "",
                             ext ? ext : "", ext ? "\r\n" : "",
                             "\r\n", NULL);

    APR_BRIGADE_INSERT_TAIL(ws->out, apr_bucket_transient_create(
                                head, strlen(head), ws->c->bucket_alloc));
    APR_BRIGADE_INSERT_TAIL(ws->out,
                            apr_bucket_flush_create(ws->c->bucket_alloc));
    return ap_pass_brigade(ws->c->output_filters, ws->out);
}

/* ------------------------------------------------------------------ */
/* Writing frames                                                       */

/* Sends header + payload as one frame and flushes; non-zero on failure
 * (the connection is then done). */
static int ws_write(ws_conn *ws, const unsigned char *hdr, apr_size_t hlen,
                    const void *payload, apr_size_t plen)
{
    apr_status_t rv;

    if (ws->park_send) {
        if (ws->park_send(ws->park, hdr, hlen, payload, plen) != 0) {
            ws->done = 1;
            return 1;
        }
        return 0;
    }
    APR_BRIGADE_INSERT_TAIL(ws->out, apr_bucket_transient_create(
                                (const char *)hdr, hlen, ws->c->bucket_alloc));
    if (plen) {
        APR_BRIGADE_INSERT_TAIL(ws->out, apr_bucket_transient_create(
                                    payload, plen, ws->c->bucket_alloc));
    }
    APR_BRIGADE_INSERT_TAIL(ws->out,
                            apr_bucket_flush_create(ws->c->bucket_alloc));
    rv = ap_pass_brigade(ws->c->output_filters, ws->out);
    apr_brigade_cleanup(ws->out);
    if (rv != APR_SUCCESS || ws->c->aborted) {
        ws->done = 1;
        return 1;
    }
    return 0;
}

static int ws_send_control(ws_conn *ws, unsigned opcode, const void *data,
                           apr_size_t len)
{
    unsigned char frame[PUSH_WS_MAX_CONTROL_FRAME];
    apr_size_t n = push_ws_build_control(frame, opcode, data, len);

    return n ? ws_write(ws, frame, n, NULL, 0) : 0;
}

/* Sends our Close (once).  1005 means an empty Close. */
static void ws_send_close(ws_conn *ws, apr_uint16_t code, const char *reason)
{
    unsigned char frame[PUSH_WS_MAX_CONTROL_FRAME];
    apr_size_t n;

    if (ws->closing || ws->done) {
        return;
    }
    n = push_ws_build_close(frame, code, reason, reason ? strlen(reason) : 0);
    ws->closing = 1;
    ws_write(ws, frame, n, NULL, 0);
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, ws->r, "websocket on channel "
                  "%s: closing with %u%s%s", ws->channel, code,
                  reason ? ": " : "", reason ? reason : "");
}

/* Deflaters shared by every WebSocket of this process, one per window
 * size agreed: messages are compressed without context takeover, once
 * per message (push_frame_for), so a per-connection deflater (hundreds
 * of KB of zlib state each) would only waste memory. */
static pthread_mutex_t   deflate_lock = PTHREAD_MUTEX_INITIALIZER;
static push_ws_deflater_t *deflaters[16];

static int ws_deflate(int window_bits, const void *in, apr_size_t len,
                      push_buf_t *out)
{
    int rv = -1;

    pthread_mutex_lock(&deflate_lock);
    if (!deflaters[window_bits]) {
        deflaters[window_bits] = push_ws_deflater_new(window_bits, -1, 0);
    }
    if (deflaters[window_bits]) {
        rv = push_ws_deflate_message(deflaters[window_bits], in, len, out);
    }
    pthread_mutex_unlock(&deflate_lock);
    return rv;
}

apr_uint32_t push_ws_variant(const void *ctx)
{
    const ws_conn *ws = ctx;

    return PUSH_VARIANT_WS | (ws->meta ? 1 : 0)
           | (ws->pmd.enabled ? (apr_uint32_t)ws->pmd.server_max_window_bits
                                << 1 : 0);
}

/* The whole frame of one message: nchan's meta prefix when ws+meta.nchan
 * was chosen, text when the payload is UTF-8, binary otherwise,
 * compressed when permessage-deflate was agreed.  The same bytes for
 * every connection of the same variant. */
apr_status_t push_ws_encode(void *ctx, request_rec *r, apr_pool_t *p,
                            const push_message_t *msg, const void **data,
                            apr_size_t *len)
{
    ws_conn *ws = ctx;
    const char *payload = msg->body;
    apr_size_t plen = msg->body_len;
    push_buf_t z = {NULL, 0, 0};
    unsigned char *frame;
    unsigned opcode;
    apr_size_t hlen;
    int rsv1 = 0;

    (void)r;
    if (ws->meta) {
        char id[PUSH_MSGID_MAX_LEN];
        char *prefix, *joined;
        apr_size_t prefix_len;

        push_msgid_format(&msg->id, id);
        prefix = msg->content_type_len
                 ? apr_psprintf(p, "id: %s\ncontent-type: %s\n\n", id,
                                msg->content_type)
                 : apr_psprintf(p, "id: %s\n\n", id);
        prefix_len = strlen(prefix);
        joined = apr_palloc(p, prefix_len + plen);
        memcpy(joined, prefix, prefix_len);
        memcpy(joined + prefix_len, msg->body, plen);
        payload = joined;
        plen += prefix_len;
    }
    opcode = push_utf8_valid(payload, plen) ? PUSH_WS_OP_TEXT
                                            : PUSH_WS_OP_BINARY;
    if (ws->pmd.enabled && plen > 0
        && ws_deflate(ws->pmd.server_max_window_bits, payload, plen,
                      &z) == 0) {
        payload = (const char *)z.data;
        plen = z.len;
        rsv1 = 1;
    }
    frame = apr_palloc(p, PUSH_WS_MAX_HEADER + plen);
    hlen = push_ws_frame_header(frame, opcode, rsv1, plen);
    memcpy(frame + hlen, payload, plen);
    push_buf_free(&z);
    *data = frame;
    *len = hlen + plen;
    return APR_SUCCESS;
}

/* ------------------------------------------------------------------ */
/* Reading frames                                                       */

static void ws_publish(ws_conn *ws, const push_ws_message_t *m)
{
    push_message_t msg;
    push_limits_t limits;
    push_status_e st;

    memset(&msg, 0, sizeof(msg));
    msg.body = (const char *)m->data;
    msg.body_len = m->len;
    msg.content_type = m->type == PUSH_WS_MSG_TEXT
                       ? "text/plain; charset=utf-8"
                       : "application/octet-stream";
    msg.content_type_len = strlen(msg.content_type);
    limits.buffer_length = push_conf_buffer_length(ws->conf);
    limits.timeout = push_conf_message_timeout(ws->conf);
    st = push_store_publish(push_get_store(), ws->channel,
                            strlen(ws->channel), &msg, &limits,
                            apr_time_sec(apr_time_now()), NULL, NULL);
    if (st != PUSH_OK) {
        /* 1009 when it can never fit, 1011 (try later) when the store is
         * out of channel slots. */
        ws_send_close(ws, st == PUSH_TOO_BIG ? PUSH_WS_CLOSE_TOO_BIG
                                             : PUSH_WS_CLOSE_INTERNAL_ERROR,
                      "message refused by the push store");
        ws->done = 1;
    }
    ws->received_messages++;
}

/* Handles the complete messages and control frames in data[0..len). */
static void ws_consume(ws_conn *ws, unsigned char *data, apr_size_t len)
{
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
            if (push_conf_ws_publish(ws->conf) != 1) {
                ws_send_close(ws, PUSH_WS_CLOSE_POLICY, "this channel does "
                              "not accept messages from subscribers "
                              "(PushWebSocketPublish Off)");
                ws->done = 1;
                break;
            }
            ws_publish(ws, &m);
            break;
        case PUSH_WS_MSG_PING:
            if (!ws->closing) {
                ws_send_control(ws, PUSH_WS_OP_PONG, m.data, m.len);
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
                ws_write(ws, frame, n, NULL, 0);
            }
            ws->done = 1;
            break;
        case PUSH_WS_MSG_ERROR:
            ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, ws->r, "websocket on "
                          "channel %s: protocol error, closing with %u",
                          ws->channel, m.reply_code);
            ws_send_close(ws, m.reply_code,
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
}

/* Reads whatever the client has sent, without blocking, through the
 * connection's filters (so TLS is decrypted, and bytes httpd already
 * buffered after the handshake are not lost).  Returns the bytes read;
 * sets ws->done at EOF or on an error.  The core input filter reports
 * "nothing yet" as success with an empty brigade. */
static apr_size_t ws_read_available(ws_conn *ws)
{
    apr_size_t total = 0;

    while (!ws->done) {
        apr_status_t rv;
        apr_bucket *b;
        apr_size_t got = 0;

        rv = ap_get_brigade(ws->c->input_filters, ws->in, AP_MODE_READBYTES,
                            APR_NONBLOCK_READ, WS_READ_CHUNK);
        if (APR_STATUS_IS_EAGAIN(rv)) {
            apr_brigade_cleanup(ws->in);
            break;
        }
        if (rv != APR_SUCCESS) {
            apr_brigade_cleanup(ws->in);
            ws->done = 1;
            break;
        }
        for (b = APR_BRIGADE_FIRST(ws->in);
             b != APR_BRIGADE_SENTINEL(ws->in) && !ws->done;
             b = APR_BUCKET_NEXT(b)) {
            const char *data;
            apr_size_t len;

            if (APR_BUCKET_IS_EOS(b)) {
                ws->done = 1;
                break;
            }
            if (apr_bucket_read(b, &data, &len, APR_BLOCK_READ)
                != APR_SUCCESS) {
                ws->done = 1;
                break;
            }
            if (len) {
                /* The assembler unmasks in place: give it a copy it may
                 * write to (bucket data may be read-only). */
                unsigned char *copy = malloc(len);

                if (!copy) {
                    ws->done = 1;
                    break;
                }
                memcpy(copy, data, len);
                ws_consume(ws, copy, len);
                free(copy);
                got += len;
            }
        }
        apr_brigade_cleanup(ws->in);
        if (!got) {
            break;
        }
        total += got;
    }
    return total;
}

/* After our Close: wait a little for the client's, as RFC 6455 7.1.1
 * asks, then let httpd close the TCP connection. */
static void ws_await_close(ws_conn *ws)
{
    apr_time_t until = apr_time_now() + apr_time_from_msec(WS_CLOSE_WAIT_MS);

    while (!ws->done && ws->fd >= 0) {
        struct pollfd pfd;
        apr_interval_time_t left = until - apr_time_now();

        if (left <= 0) {
            break;
        }
        pfd.fd = ws->fd;
        pfd.events = POLLIN;
        pfd.revents = 0;
        if (poll(&pfd, 1, (int)apr_time_msec(left) + 1) <= 0) {
            break;
        }
        if (ws_read_available(ws) == 0) {
            break;
        }
    }
    ws->done = 1;
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
    ws->meta = protos && push_ws_protocol_offered(protos, strlen(protos),
                                                  WS_META_PROTOCOL);
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

int push_ws_subscriber(request_rec *r, const push_dir_conf *conf,
                       const char *channel)
{
    apr_interval_time_t ping_every =
        apr_time_from_sec(push_conf_ping_interval(conf));
    push_msgid_t cursor = {0, 0}, gap_id;
    push_channel_info_t info;
    push_sub_t sub;
    const char *key, *ext;
    apr_pool_t *iter;
    apr_time_t next_ping;
    push_wait_hint_t hint = {0, 0};
    push_notify_gen_t *gen = NULL;
    ws_conn *ws;
    int has_cursor;

    if (!ws_check_handshake(r, conf, &key)) {
        return OK;   /* refused, reason sent */
    }
    ws = apr_pcalloc(r->pool, sizeof(*ws));
    ws->r = r;
    ws->c = r->connection;
    ws->conf = conf;
    ws->channel = channel;
    if (ws_negotiate(ws, &ext) != OK) {
        ws_cleanup(ws);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    apr_pool_cleanup_register(r->pool, ws, ws_cleanup,
                              apr_pool_cleanup_null);
    push_ws_asm_init(&ws->as, (apr_uint64_t)push_conf_max_message_size(conf),
                     ws->inflater);
    if (!push_subscriber_begin(r, conf, channel, PUSH_TRANSPORT_WEBSOCKET,
                               &sub, &info, &cursor, &has_cursor)) {
        return OK;
    }

    /* Take the connection over: connection filters only from here on,
     * no request timeout, no keep-alive afterwards, no TLS coalescing
     * (frames must leave when flushed). */
    ap_remove_input_filter_byhandle(ws->c->input_filters, "reqtimeout");
    ap_remove_output_filter_byhandle(ws->c->output_filters,
                                     "SSL/TLS Coalescing Filter");
    r->input_filters = r->proto_input_filters = ws->c->input_filters;
    r->output_filters = r->proto_output_filters = ws->c->output_filters;
    ws->c->keepalive = AP_CONN_CLOSE;
    ws->in = apr_brigade_create(r->pool, ws->c->bucket_alloc);
    ws->out = apr_brigade_create(r->pool, ws->c->bucket_alloc);
    {
        apr_socket_t *sock = ap_get_conn_socket(ws->c);
        apr_os_sock_t fd;

        ws->fd = sock && apr_os_sock_get(&fd, sock) == APR_SUCCESS ? fd : -1;
    }
    r->status = HTTP_SWITCHING_PROTOCOLS;
    if (ws_send_101(ws, ws_accept_key(r->pool, key), ext) != APR_SUCCESS) {
        ws->done = 1;
    }
    apr_brigade_cleanup(ws->out);
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, "websocket on channel %s "
                  "open%s%s", channel, ws->meta ? " (ws+meta.nchan)" : "",
                  ext ? ", permessage-deflate" : "");

    iter = NULL;   /* made at the first message: idle sockets stay small */
    next_ping = ping_every ? apr_time_now() + ping_every : 0;
    /* Frames the client sent right behind its handshake are already in
     * httpd's buffers, where poll cannot see them. */
    ws_read_available(ws);
    /* Under the event MPM the socket waits without a thread
     * (mod_push_park.c); from here r belongs to the stream loop. */
    if (!ws->done && !ws->closing
        && push_park_ws(r, conf, channel, &sub,
                        has_cursor ? &cursor : NULL, has_cursor, &hint, ws)) {
        return SUSPENDED;
    }
    while (!ws->done) {
        push_message_t msg;
        struct pollfd pfd[2];
        int gap = 0, timeout_ms = -1, n, stopping;
        push_wait_e w;

        if (iter) {
            apr_pool_clear(iter);
        }
        /* Registered before looking, so a publish after the look wakes
         * the poll below; kept from one turn to the next while it has
         * not fired. */
        gen = gen ? push_wait_rewatch(sub.slot, gen)
                  : push_wait_watch(sub.slot);
        stopping = !gen;
        while (!ws->done) {
            push_frame_t *f;
            int failed;

            /* Only the id: the frame itself usually comes from the
             * cache, built by the first subscriber in this process. */
            w = push_wait_next(r, NULL, &sub, has_cursor ? &cursor : NULL,
                               0, 0, 0, &hint, &msg, &gap, &gap_id);
            if (w != PUSH_WAIT_MESSAGE) {
                break;
            }
            if (!iter) {
                apr_pool_create(&iter, r->pool);
                apr_pool_tag(iter, "push_ws_iter");
            }
            f = push_frame_for(r, iter, &sub, has_cursor ? &cursor : NULL,
                               &msg.id, push_ws_variant(ws), push_ws_encode, ws);
            if (!f) {
                continue;
            }
            failed = ws_write(ws, f->data, f->len, NULL, 0);
            cursor = f->key.id;
            has_cursor = 1;
            push_frame_done(f);
            if (failed) {
                break;
            }
            ws->sent_messages++;
        }
        if (!ws->done && w == PUSH_WAIT_GONE) {
            ws_send_close(ws, PUSH_WS_CLOSE_NORMAL, "channel deleted");
        }
        else if (!ws->done && stopping) {
            ws_send_close(ws, PUSH_WS_CLOSE_GOING_AWAY, "server restarting");
        }
        if (ws->closing || ws->done) {
            push_wait_unwatch(sub.slot, gen);
            gen = NULL;
            break;
        }
        if (next_ping) {
            apr_interval_time_t left = next_ping - apr_time_now();

            timeout_ms = left > 0 ? (int)apr_time_msec(left) + 1 : 0;
        }
        pfd[0].fd = ws->fd;
        pfd[0].events = POLLIN | POLLRDHUP;
        pfd[0].revents = 0;
        pfd[1].fd = push_wait_fd(gen);
        pfd[1].events = POLLIN;
        pfd[1].revents = 0;
        n = poll(pfd, 2, timeout_ms);
        if (n < 0 && errno != EINTR) {
            ws->done = 1;
            break;
        }
        if (n > 0 && (pfd[0].revents & (POLLIN | POLLRDHUP | POLLHUP
                                        | POLLERR))) {
            /* A hang-up with nothing left to read is the end, whatever
             * the filters said (they may hold a partial TLS record). */
            if (ws_read_available(ws) == 0
                && (pfd[0].revents & (POLLRDHUP | POLLHUP | POLLERR))) {
                ws->done = 1;
            }
        }
        if (next_ping && apr_time_now() >= next_ping && !ws->done) {
            if (ws->ping_due_answer) {
                ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, "websocket on "
                              "channel %s: no pong within %" APR_INT64_T_FMT
                              "s, dropping the client", channel,
                              (apr_int64_t)apr_time_sec(ping_every));
                ws_send_close(ws, PUSH_WS_CLOSE_GOING_AWAY,
                              "ping timeout");
                ws->done = 1;
                break;
            }
            ws->ping_due_answer = 1;
            ws_send_control(ws, PUSH_WS_OP_PING, "push", 4);
            next_ping = apr_time_now() + ping_every;
        }
    }
    push_wait_unwatch(sub.slot, gen);
    if (ws->closing && !ws->done) {
        ws_await_close(ws);
    }
    if (iter) {
        apr_pool_destroy(iter);
    }
    push_subscriber_end(&sub);
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, "websocket on channel %s "
                  "ended: %" APR_SIZE_T_FMT " messages sent, %" APR_SIZE_T_FMT
                  " received", channel, ws->sent_messages,
                  ws->received_messages);
    /* Nothing more may be written for this request: its EOS goes to the
     * connection filters, and the connection is closed. */
    ws->c->keepalive = AP_CONN_CLOSE;
    return OK;
}

/* ------------------------------------------------------------------ */
/* A parked WebSocket: what the stream loop asks of it                  */

void push_ws_park_attach(void *ctx, push_park_send_fn send, void *park)
{
    ws_conn *ws = ctx;

    ws->park_send = send;
    ws->park = park;
}

/* Bytes the client sent (the loop's own buffer: unmasked in place). */
int push_ws_park_input(void *ctx, unsigned char *data, apr_size_t len)
{
    ws_conn *ws = ctx;

    ws_consume(ws, data, len);
    return ws->done;
}

/* PushPingInterval passed: 1 when the previous ping went unanswered and
 * the client is being dropped. */
int push_ws_park_ping(void *ctx)
{
    ws_conn *ws = ctx;

    if (ws->ping_due_answer) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, ws->r, "websocket on "
                      "channel %s: no pong in time, dropping the client",
                      ws->channel);
        ws_send_close(ws, PUSH_WS_CLOSE_GOING_AWAY, "ping timeout");
        return 1;
    }
    ws->ping_due_answer = 1;
    ws_send_control(ws, PUSH_WS_OP_PING, "push", 4);
    return ws->done;
}

/* The channel was deleted (gone) or the server is stopping: our Close;
 * the loop then waits a little for the client's. */
void push_ws_park_close(void *ctx, int gone)
{
    ws_conn *ws = ctx;

    if (gone) {
        ws_send_close(ws, PUSH_WS_CLOSE_NORMAL, "channel deleted");
    }
    else {
        ws_send_close(ws, PUSH_WS_CLOSE_GOING_AWAY, "server restarting");
    }
}

/* 1 once nothing more is to be sent (our Close went out) or the
 * connection is finished. */
int push_ws_park_closing(const void *ctx)
{
    const ws_conn *ws = ctx;

    return ws->closing || ws->done;
}

void push_ws_park_count_sent(void *ctx)
{
    ((ws_conn *)ctx)->sent_messages++;
}
