/* push_ws_codec.c — RFC 6455 framing (see push_ws_codec.h). */
#include <stdlib.h>
#include <string.h>

#include "lib/push_ws_codec.h"
#include "lib/push_ws_deflate.h"
#include "lib/push_utf8.h"

/* ---- Frame parser --------------------------------------------------- */

enum {
    ST_HEADER = 0,
    ST_PAYLOAD,
    ST_ERROR
};

#define IS_CONTROL(op) (((op) & 0x8) != 0)

void push_ws_parser_init(push_ws_parser_t *p, uint64_t max_message,
                         unsigned flags)
{
    memset(p, 0, sizeof(*p));
    p->max_message = max_message;
    p->flags = flags;
    p->state = ST_HEADER;
    p->hdr_need = 2;
    push_utf8_init(&p->utf8);
}

void push_ws_parser_fail(push_ws_parser_t *p, uint16_t code)
{
    p->state = ST_ERROR;
    p->close_code = code;
}

static size_t parse_error(push_ws_parser_t *p, push_ws_event_t *ev,
                          uint16_t code, size_t used)
{
    push_ws_parser_fail(p, code);
    ev->type = PUSH_WS_EV_ERROR;
    ev->close_code = code;
    return used;
}

/* Checks the first two header bytes: everything but the extended length
 * is known by then, so most violations are caught here, before the rest
 * of the header (let alone the payload) has to arrive.  Returns 0 or the
 * close code. */
static uint16_t check_head(push_ws_parser_t *p)
{
    unsigned b0 = p->hdr[0], b1 = p->hdr[1];
    unsigned op = b0 & 0x0F;
    unsigned len7 = b1 & 0x7F;
    int fin = (b0 & 0x80) != 0;
    int rsv1 = (b0 & 0x40) != 0;

    /* RSV2/RSV3 belong to extensions we never negotiate. */
    if (b0 & 0x30) {
        return PUSH_WS_CLOSE_PROTOCOL_ERROR;
    }
    if ((op >= 0x3 && op <= 0x7) || op >= 0xB) {
        return PUSH_WS_CLOSE_PROTOCOL_ERROR;
    }
    /* RFC 6455 5.3: every client-to-server frame is masked. */
    if (!(b1 & 0x80)) {
        return PUSH_WS_CLOSE_PROTOCOL_ERROR;
    }
    if (IS_CONTROL(op)) {
        /* Control frames may not be fragmented, are at most 125 bytes
         * (so never use an extended length) and are never compressed
         * (RFC 7692 6.1). */
        if (!fin || len7 > PUSH_WS_MAX_CONTROL || rsv1) {
            return PUSH_WS_CLOSE_PROTOCOL_ERROR;
        }
        return 0;
    }
    if (op == PUSH_WS_OP_CONT) {
        if (!p->in_message) {
            return PUSH_WS_CLOSE_PROTOCOL_ERROR;
        }
        /* RFC 7692 6.1: RSV1 marks the message, on its first frame only. */
        if (rsv1) {
            return PUSH_WS_CLOSE_PROTOCOL_ERROR;
        }
        return 0;
    }
    /* TEXT or BINARY: starts a message, so none may be open. */
    if (p->in_message) {
        return PUSH_WS_CLOSE_PROTOCOL_ERROR;
    }
    if (rsv1 && !(p->flags & PUSH_WS_PARSE_DEFLATE)) {
        return PUSH_WS_CLOSE_PROTOCOL_ERROR;
    }
    return 0;
}

/* The limit a data message's wire bytes are held to. */
static uint64_t wire_limit(const push_ws_parser_t *p, int compressed)
{
    uint64_t max = p->max_message, slack;

    if (max == 0) {
        return UINT64_MAX;
    }
    if (!compressed) {
        return max;
    }
    /* Incompressible data grows a little when deflated (stored blocks
     * cost 5 bytes per up-to-64K block, plus bit padding), so the
     * deflated form of a message that is within the limit may be just
     * over it.  The inflater enforces the exact limit on the output. */
    slack = max / 256 + 64;
    return max > UINT64_MAX - slack ? UINT64_MAX : max + slack;
}

/* Checks the complete payload length.  Returns 0 or the close code. */
static uint16_t check_length(push_ws_parser_t *p, uint64_t len)
{
    unsigned len7 = p->hdr[1] & 0x7F;
    unsigned op = p->hdr[0] & 0x0F;
    uint64_t limit, total;
    int compressed;

    if ((p->flags & PUSH_WS_PARSE_STRICT_LENGTH)
        && ((len7 == 126 && len < 126) || (len7 == 127 && len <= 0xFFFF))) {
        return PUSH_WS_CLOSE_PROTOCOL_ERROR;
    }
    if (IS_CONTROL(op)) {
        return 0;
    }
    if (op == PUSH_WS_OP_CONT) {
        compressed = p->msg_compressed;
        total = p->msg_total;
    }
    else {
        compressed = (p->hdr[0] & 0x40) != 0;
        total = 0;
    }
    limit = wire_limit(p, compressed);
    if (total > limit || len > limit - total) {
        return PUSH_WS_CLOSE_TOO_BIG;
    }
    return 0;
}

/* The header is complete: set up the frame and fill a HEADER event. */
static void start_frame(push_ws_parser_t *p, push_ws_event_t *ev)
{
    unsigned len7 = p->hdr[1] & 0x7F;
    unsigned ext = len7 == 126 ? 2 : len7 == 127 ? 8 : 0;
    uint64_t len = len7;
    unsigned i;

    if (ext) {
        len = 0;
        for (i = 0; i < ext; i++) {
            len = (len << 8) | p->hdr[2 + i];
        }
    }
    memcpy(p->mask, p->hdr + 2 + ext, 4);
    p->mask_pos = 0;
    p->remaining = len;
    p->opcode = p->hdr[0] & 0x0F;
    p->fin = (p->hdr[0] & 0x80) != 0;

    if (!IS_CONTROL(p->opcode)) {
        if (p->opcode != PUSH_WS_OP_CONT) {
            p->msg_opcode = p->opcode;
            p->msg_compressed = (p->hdr[0] & 0x40) != 0;
            p->msg_total = 0;
            push_utf8_init(&p->utf8);
        }
        /* Set even for a FIN frame: no other header can come before its
         * END clears it, and it makes "CONT continues something" hold. */
        p->in_message = 1;
        p->msg_total += len;
    }

    ev->type = PUSH_WS_EV_HEADER;
    ev->length = len;
    p->state = ST_PAYLOAD;
}

/* XORs n bytes of src into dst with the frame mask starting at mask_pos.
 * dst may equal src. */
static void unmask(unsigned char *dst, const unsigned char *src, size_t n,
                   const unsigned char mask[4], unsigned pos)
{
    unsigned char m8[8];
    size_t i = 0;
    unsigned k;

    for (k = 0; k < 8; k++) {
        m8[k] = mask[(pos + k) & 3];
    }
    /* Eight bytes at a time: 8 is a multiple of the mask's 4-byte
     * period, so one pattern rotated to pos serves every 8-byte chunk. */
    if (n >= 8) {
        uint64_t mw, w;

        memcpy(&mw, m8, 8);
        for (; n - i >= 8; i += 8) {
            memcpy(&w, src + i, 8);
            w ^= mw;
            memcpy(dst + i, &w, 8);
        }
    }
    for (; i < n; i++) {
        dst[i] = src[i] ^ m8[i & 7];
    }
}

static void fill_frame_fields(const push_ws_parser_t *p, push_ws_event_t *ev)
{
    ev->opcode = p->opcode;
    ev->fin = p->fin;
    if (IS_CONTROL(p->opcode)) {
        ev->msg_opcode = 0;
        ev->compressed = 0;
    }
    else {
        ev->msg_opcode = p->msg_opcode;
        ev->compressed = p->msg_compressed;
    }
}

/* Shared by both entry points: payload is unmasked into out[0..outcap),
 * which for push_ws_parse is `in` itself (XOR in place is safe). */
static size_t parse(push_ws_parser_t *p, const unsigned char *in, size_t len,
                    unsigned char *out, size_t outcap, push_ws_event_t *ev)
{
    size_t used = 0;
    uint16_t code;

    memset(ev, 0, sizeof(*ev));

    if (p->state == ST_ERROR) {
        ev->type = PUSH_WS_EV_ERROR;
        ev->close_code = p->close_code;
        return 0;
    }

    if (p->state == ST_HEADER) {
        while (used < len) {
            unsigned len7 = p->hdr[1] & 0x7F;

            p->hdr[p->hdr_len++] = in[used++];
            if (p->hdr_len == 2) {
                code = check_head(p);
                if (code) {
                    return parse_error(p, ev, code, used);
                }
                len7 = p->hdr[1] & 0x7F;
                p->hdr_need = 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0)
                              + 4;
                if (len7 < 126 && (code = check_length(p, len7))) {
                    return parse_error(p, ev, code, used);
                }
            }
            else if (p->hdr_len == 3 && len7 == 127 && (p->hdr[2] & 0x80)) {
                /* RFC 6455 5.2: the 64-bit length's top bit must be 0. */
                return parse_error(p, ev, PUSH_WS_CLOSE_PROTOCOL_ERROR, used);
            }
            else if (p->hdr_len > 2 && len7 >= 126
                     && p->hdr_len == p->hdr_need - 4) {
                /* Extended length complete: apply the size limit now,
                 * before waiting for the mask or any payload. */
                uint64_t l = 0;
                unsigned i;

                for (i = 2; i < p->hdr_len; i++) {
                    l = (l << 8) | p->hdr[i];
                }
                code = check_length(p, l);
                if (code) {
                    return parse_error(p, ev, code, used);
                }
            }
            if (p->hdr_len == p->hdr_need) {
                start_frame(p, ev);
                fill_frame_fields(p, ev);
                return used;
            }
        }
        ev->type = PUSH_WS_EV_NONE;
        return used;
    }

    /* ST_PAYLOAD */
    fill_frame_fields(p, ev);
    if (p->remaining == 0) {
        if (!IS_CONTROL(p->opcode) && p->fin) {
            if (p->msg_opcode == PUSH_WS_OP_TEXT && !p->msg_compressed
                && push_utf8_finish(&p->utf8) != 0) {
                /* The text ends inside a character. */
                return parse_error(p, ev, PUSH_WS_CLOSE_INVALID_DATA, 0);
            }
            p->in_message = 0;
        }
        p->state = ST_HEADER;
        p->hdr_len = 0;
        p->hdr_need = 2;
        ev->type = PUSH_WS_EV_END;
        return 0;
    }
    if (len == 0) {
        ev->type = PUSH_WS_EV_NONE;
        return 0;
    }
    {
        size_t n = len;
        unsigned char *dst = out;

        if ((uint64_t)n > p->remaining) {
            n = (size_t)p->remaining;
        }
        if (n > outcap) {
            n = outcap;
        }
        unmask(dst, in, n, p->mask, p->mask_pos);
        p->mask_pos = (p->mask_pos + (unsigned)(n & 3)) & 3;
        p->remaining -= n;

        if (!IS_CONTROL(p->opcode) && p->msg_opcode == PUSH_WS_OP_TEXT
            && !p->msg_compressed && push_utf8_feed(&p->utf8, dst, n) != 0) {
            return parse_error(p, ev, PUSH_WS_CLOSE_INVALID_DATA, n);
        }
        ev->type = PUSH_WS_EV_DATA;
        ev->data = dst;
        ev->len = n;
        return n;
    }
}

size_t push_ws_parse(push_ws_parser_t *p, unsigned char *in, size_t len,
                     push_ws_event_t *ev)
{
    return parse(p, in, len, in, len, ev);
}

size_t push_ws_parse_to(push_ws_parser_t *p, const unsigned char *in,
                        size_t len, unsigned char *out, size_t outcap,
                        push_ws_event_t *ev)
{
    if (outcap == 0) {
        /* Nowhere to put payload: a caller bug, but fail loudly rather
         * than loop without progress. */
        memset(ev, 0, sizeof(*ev));
        return parse_error(p, ev, PUSH_WS_CLOSE_INTERNAL_ERROR, 0);
    }
    return parse(p, in, len, out, outcap, ev);
}

/* ---- Close frames --------------------------------------------------- */

int push_ws_close_code_valid(unsigned code)
{
    return (code >= 1000 && code <= 1003)
           || (code >= 1007 && code <= 1014)
           || (code >= 3000 && code <= 4999);
}

uint16_t push_ws_close_parse(const unsigned char *payload, size_t len,
                             uint16_t *code, const char **reason,
                             size_t *reason_len)
{
    unsigned c;

    if (len == 0) {
        if (code) {
            *code = PUSH_WS_CLOSE_NO_STATUS;
        }
        if (reason) {
            *reason = "";
        }
        if (reason_len) {
            *reason_len = 0;
        }
        return 0;
    }
    /* A status code is two bytes; one byte is half a code. */
    if (len == 1) {
        return PUSH_WS_CLOSE_PROTOCOL_ERROR;
    }
    c = ((unsigned)payload[0] << 8) | payload[1];
    if (!push_ws_close_code_valid(c)) {
        return PUSH_WS_CLOSE_PROTOCOL_ERROR;
    }
    if (!push_utf8_valid(payload + 2, len - 2)) {
        return PUSH_WS_CLOSE_INVALID_DATA;
    }
    if (code) {
        *code = (uint16_t)c;
    }
    if (reason) {
        *reason = (const char *)payload + 2;
    }
    if (reason_len) {
        *reason_len = len - 2;
    }
    return 0;
}

uint16_t push_ws_close_reply(const unsigned char *payload, size_t len)
{
    uint16_t code = 0;
    uint16_t bad = push_ws_close_parse(payload, len, &code, NULL, NULL);

    return bad ? bad : code;
}

/* ---- Message assembler ---------------------------------------------- */

/* A buffer that grew past this for one big message is released once the
 * message is delivered: a push server holds many idle connections, and
 * each should not keep its largest message's worth of memory. */
#define ASM_KEEP_BYTES (64 * 1024)

void push_ws_asm_init(push_ws_asm_t *a, uint64_t max_message,
                      push_ws_inflater_t *inflater)
{
    size_t limit;

    memset(a, 0, sizeof(*a));
    /* Half the address space is as unlimited as a buffer can get, and
     * keeps limit + 1 arithmetic in the inflater safe. */
    if (max_message == 0 || max_message > SIZE_MAX / 2) {
        limit = SIZE_MAX / 2;
    }
    else {
        limit = (size_t)max_message;
    }
    a->limit = limit;
    a->inflater = inflater;
    push_ws_parser_init(&a->parser, limit,
                        inflater ? PUSH_WS_PARSE_DEFLATE : 0);
    push_buf_init(&a->msg);
    push_utf8_init(&a->utf8);
}

void push_ws_asm_free(push_ws_asm_t *a)
{
    push_buf_free(&a->msg);
}

static size_t asm_error(push_ws_asm_t *a, push_ws_message_t *m,
                        uint16_t code, size_t used)
{
    push_ws_parser_fail(&a->parser, code);
    m->type = PUSH_WS_MSG_ERROR;
    m->reply_code = code;
    return used;
}

/* Inflates a slice of a compressed message (fin: the message's end) onto
 * msg, checking new text as it appears.  Returns 0 or a close code. */
static uint16_t asm_inflate(push_ws_asm_t *a, const unsigned char *data,
                            size_t len, int fin)
{
    size_t before = a->msg.len;
    size_t end;
    int rc;

    rc = push_ws_inflate(a->inflater, data, len, fin, &a->msg, a->limit);
    switch (rc) {
    case PUSH_WS_INFLATE_OK:
    case PUSH_WS_INFLATE_TOO_BIG:
        break;
    case PUSH_WS_INFLATE_NOMEM:
        return PUSH_WS_CLOSE_INTERNAL_ERROR;
    default:
        return PUSH_WS_CLOSE_INVALID_DATA;
    }
    /* Check the text up to the limit even when the message is too big,
     * so a message that is both gets 1007 or 1009 by where its first bad
     * byte lies, the same however the frames were cut into reads. */
    end = a->msg.len < a->limit ? a->msg.len : a->limit;
    if (a->msg_opcode == PUSH_WS_OP_TEXT && end > before
        && push_utf8_feed(&a->utf8, a->msg.data + before,
                          end - before) != 0) {
        return PUSH_WS_CLOSE_INVALID_DATA;
    }
    return rc == PUSH_WS_INFLATE_TOO_BIG ? PUSH_WS_CLOSE_TOO_BIG : 0;
}

size_t push_ws_asm_feed(push_ws_asm_t *a, unsigned char *in, size_t len,
                        push_ws_message_t *m)
{
    size_t used = 0;
    push_ws_event_t ev;
    uint16_t code;

    memset(m, 0, sizeof(*m));
    if (a->delivered) {
        a->delivered = 0;
        a->msg.len = 0;
        if (a->msg.cap > ASM_KEEP_BYTES) {
            push_buf_free(&a->msg);
        }
    }
    if (a->closed) {
        m->type = PUSH_WS_MSG_NONE;
        return len;
    }

    for (;;) {
        /* (NULL + 0 is undefined, and a caller may flush with NULL, 0.) */
        used += push_ws_parse(&a->parser, in ? in + used : in, len - used,
                              &ev);

        switch (ev.type) {
        case PUSH_WS_EV_NONE:
            m->type = PUSH_WS_MSG_NONE;
            return used;

        case PUSH_WS_EV_ERROR:
            return asm_error(a, m, ev.close_code, used);

        case PUSH_WS_EV_HEADER:
            a->frame_opcode = ev.opcode;
            a->frame_fin = ev.fin;
            a->frame_compressed = ev.compressed;
            if (IS_CONTROL(ev.opcode)) {
                a->ctl_len = 0;
            }
            else if (ev.opcode != PUSH_WS_OP_CONT) {
                a->msg.len = 0;
                a->msg_opcode = ev.opcode;
                push_utf8_init(&a->utf8);
            }
            break;

        case PUSH_WS_EV_DATA:
            if (IS_CONTROL(a->frame_opcode)) {
                /* The parser caps control payloads at 125 bytes. */
                memcpy(a->ctl + a->ctl_len, ev.data, ev.len);
                a->ctl_len += ev.len;
            }
            else if (a->frame_compressed) {
                code = asm_inflate(a, ev.data, ev.len, 0);
                if (code) {
                    return asm_error(a, m, code, used);
                }
            }
            else if (push_buf_append(&a->msg, ev.data, ev.len) != 0) {
                return asm_error(a, m, PUSH_WS_CLOSE_INTERNAL_ERROR, used);
            }
            break;

        case PUSH_WS_EV_END:
            if (IS_CONTROL(a->frame_opcode)) {
                m->data = a->ctl;
                m->len = a->ctl_len;
                if (a->frame_opcode == PUSH_WS_OP_PING) {
                    m->type = PUSH_WS_MSG_PING;
                }
                else if (a->frame_opcode == PUSH_WS_OP_PONG) {
                    m->type = PUSH_WS_MSG_PONG;
                }
                else {
                    code = push_ws_close_parse(a->ctl, a->ctl_len, &m->code,
                                               &m->reason, &m->reason_len);
                    if (code) {
                        m->data = NULL;
                        m->len = 0;
                        return asm_error(a, m, code, used);
                    }
                    m->type = PUSH_WS_MSG_CLOSE;
                    m->reply_code = m->code;
                    a->closed = 1;
                }
                return used;
            }
            if (!a->frame_fin) {
                break;
            }
            if (a->frame_compressed) {
                code = asm_inflate(a, NULL, 0, 1);
                if (code == 0 && a->msg_opcode == PUSH_WS_OP_TEXT
                    && push_utf8_finish(&a->utf8) != 0) {
                    code = PUSH_WS_CLOSE_INVALID_DATA;
                }
                if (code) {
                    return asm_error(a, m, code, used);
                }
            }
            m->type = a->msg_opcode == PUSH_WS_OP_TEXT ? PUSH_WS_MSG_TEXT
                                                       : PUSH_WS_MSG_BINARY;
            m->data = a->msg.data ? a->msg.data : (const unsigned char *)"";
            m->len = a->msg.len;
            a->delivered = 1;
            return used;
        }
    }
}

/* ---- Serialiser ----------------------------------------------------- */

size_t push_ws_frame_header_ex(unsigned char *out, int fin, unsigned opcode,
                               int rsv1, uint64_t len)
{
    unsigned i;

    out[0] = (unsigned char)((fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0)
                             | (opcode & 0x0F));
    if (len < 126) {
        out[1] = (unsigned char)len;
        return 2;
    }
    if (len <= 0xFFFF) {
        out[1] = 126;
        out[2] = (unsigned char)(len >> 8);
        out[3] = (unsigned char)len;
        return 4;
    }
    out[1] = 127;
    /* The top bit must be clear; no real payload comes near 2^63. */
    len &= UINT64_C(0x7FFFFFFFFFFFFFFF);
    for (i = 0; i < 8; i++) {
        out[2 + i] = (unsigned char)(len >> (56 - 8 * i));
    }
    return 10;
}

size_t push_ws_frame_header(unsigned char *out, unsigned opcode, int rsv1,
                            uint64_t len)
{
    return push_ws_frame_header_ex(out, 1, opcode, rsv1, len);
}

size_t push_ws_build_control(unsigned char *out, unsigned opcode,
                             const void *payload, size_t len)
{
    if ((opcode != PUSH_WS_OP_PING && opcode != PUSH_WS_OP_PONG)
        || len > PUSH_WS_MAX_CONTROL) {
        return 0;
    }
    out[0] = (unsigned char)(0x80 | opcode);
    out[1] = (unsigned char)len;
    if (len) {
        memcpy(out + 2, payload, len);
    }
    return 2 + len;
}

size_t push_ws_build_close(unsigned char *out, uint16_t code,
                           const char *reason, size_t reason_len)
{
    size_t n;

    out[0] = 0x80 | PUSH_WS_OP_CLOSE;
    if (!push_ws_close_code_valid(code)) {
        out[1] = 0;
        return 2;
    }
    out[2] = (unsigned char)(code >> 8);
    out[3] = (unsigned char)code;
    n = 0;
    if (reason && reason_len) {
        n = reason_len < PUSH_WS_MAX_CONTROL - 2 ? reason_len
                                                 : PUSH_WS_MAX_CONTROL - 2;
        /* Cutting mid-character would make the peer fail us with 1007;
         * an invalid reason is cut before its first bad byte too. */
        n = push_utf8_valid_prefix(reason, n);
        memcpy(out + 4, reason, n);
    }
    out[1] = (unsigned char)(2 + n);
    return 4 + n;
}

/* ---- Handshake helpers ---------------------------------------------- */

static int is_ows(char c)
{
    return c == ' ' || c == '\t';
}

/* Value of a base64 character, or -1. */
static int b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }
    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }
    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }
    if (c == '+') {
        return 62;
    }
    if (c == '/') {
        return 63;
    }
    return -1;
}

int push_ws_key_valid(const char *key, size_t len)
{
    size_t i;
    int v = -1;

    if (key == NULL) {
        return 0;
    }
    while (len && is_ows(key[0])) {
        key++;
        len--;
    }
    while (len && is_ows(key[len - 1])) {
        len--;
    }
    /* 16 bytes = 128 bits = 21 full base64 chars (126 bits) plus one
     * carrying the last 2 bits, then "==" padding. */
    if (len != 24 || key[22] != '=' || key[23] != '=') {
        return 0;
    }
    for (i = 0; i < 22; i++) {
        v = b64_value((unsigned char)key[i]);
        if (v < 0) {
            return 0;
        }
    }
    /* The last char's low 4 bits are padding and must be zero, else the
     * key does not decode to exactly 16 bytes canonically. */
    return (v & 0x0F) == 0;
}

/* Calls back for each comma-separated element of hdr[0..len), trimmed
 * of spaces/tabs; stops early when cb returns non-zero. */
static int each_element(const char *hdr, size_t len,
                        int (*cb)(const char *s, size_t n, const char *arg),
                        const char *arg)
{
    size_t i = 0;

    if (hdr == NULL) {
        return 0;
    }
    while (i < len) {
        size_t start, end;

        start = i;
        while (i < len && hdr[i] != ',') {
            i++;
        }
        end = i;
        i++;    /* past the comma (or the end) */
        while (start < end && is_ows(hdr[start])) {
            start++;
        }
        while (end > start && is_ows(hdr[end - 1])) {
            end--;
        }
        if (end > start && cb(hdr + start, end - start, arg)) {
            return 1;
        }
    }
    return 0;
}

static int match_nocase(const char *s, size_t n, const char *tok)
{
    size_t i;

    if (strlen(tok) != n) {
        return 0;
    }
    for (i = 0; i < n; i++) {
        unsigned char a = (unsigned char)s[i], b = (unsigned char)tok[i];

        if (a >= 'A' && a <= 'Z') {
            a = (unsigned char)(a - 'A' + 'a');
        }
        if (b >= 'A' && b <= 'Z') {
            b = (unsigned char)(b - 'A' + 'a');
        }
        if (a != b) {
            return 0;
        }
    }
    return 1;
}

static int match_exact(const char *s, size_t n, const char *tok)
{
    return strlen(tok) == n && memcmp(s, tok, n) == 0;
}

int push_ws_token_in_list(const char *hdr, size_t len, const char *token)
{
    return each_element(hdr, len, match_nocase, token);
}

int push_ws_protocol_offered(const char *hdr, size_t len, const char *proto)
{
    return each_element(hdr, len, match_exact, proto);
}
