/* ws_wire.h — what the WebSocket unit tests share: client frames built
 * byte by byte (masked, fragmented, malformed on purpose) and the
 * assembler run over them, whole or in pieces. */
#ifndef PUSH_TEST_WS_WIRE_H
#define PUSH_TEST_WS_WIRE_H

#define ZLIB_CONST
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "lib/push_utf8.h"
#include "lib/push_ws_codec.h"
#include "lib/push_ws_deflate.h"

#include "check.h"

#define FIN  0x80
#define RSV1 0x40
#define RSV2 0x20
#define RSV3 0x10

/* ---- Client frame construction -------------------------------------- */

static const unsigned char test_mask[4] = { 0x37, 0xfa, 0x21, 0x3d };

/* Writes a client frame: b0 is FIN/RSV/opcode; lenform 0 picks the
 * minimal length encoding, 7/16/64 forces one; masked 0 omits the mask. */
static inline size_t mkframe_ex(unsigned char *out, unsigned b0,
                                const void *payload, size_t len,
                                int lenform, int masked)
{
    const unsigned char *p = payload;
    size_t n = 0, i;
    unsigned char mbit = masked ? 0x80 : 0;

    out[n++] = (unsigned char)b0;
    if (lenform == 0) {
        lenform = len < 126 ? 7 : len <= 0xFFFF ? 16 : 64;
    }
    if (lenform == 7) {
        out[n++] = (unsigned char)(mbit | len);
    }
    else if (lenform == 16) {
        out[n++] = mbit | 126;
        out[n++] = (unsigned char)(len >> 8);
        out[n++] = (unsigned char)len;
    }
    else {
        out[n++] = mbit | 127;
        for (i = 0; i < 8; i++) {
            out[n++] = (unsigned char)((uint64_t)len >> (56 - 8 * i));
        }
    }
    if (masked) {
        memcpy(out + n, test_mask, 4);
        n += 4;
    }
    for (i = 0; i < len; i++) {
        out[n + i] = masked ? p[i] ^ test_mask[i & 3] : p[i];
    }
    return n + len;
}

static inline size_t mkframe(unsigned char *out, unsigned b0,
                             const void *payload, size_t len)
{
    return mkframe_ex(out, b0, payload, len, 0, 1);
}

/* A wire image built frame by frame. */
typedef struct {
    unsigned char *b;
    size_t         len;
    size_t         cap;
} wire_t;

static inline void wire_frame_ex(wire_t *w, unsigned b0, const void *p,
                                 size_t len, int lenform, int masked)
{
    if (w->cap - w->len < len + 14) {
        w->cap = (w->len + len + 14) * 2;
        w->b = realloc(w->b, w->cap);
        if (w->b == NULL) {
            abort();
        }
    }
    w->len += mkframe_ex(w->b + w->len, b0, p, len, lenform, masked);
}

static inline void wire_frame(wire_t *w, unsigned b0, const void *p,
                              size_t len)
{
    wire_frame_ex(w, b0, p, len, 0, 1);
}

static inline void wire_str(wire_t *w, unsigned b0, const char *s)
{
    wire_frame(w, b0, s, strlen(s));
}

static inline void wire_free(wire_t *w)
{
    free(w->b);
    memset(w, 0, sizeof(*w));
}

/* ---- Running the assembler ------------------------------------------ */

typedef struct {
    int            type;
    unsigned char *data;
    size_t         len;
    unsigned       code;        /* CLOSE: peer code */
    unsigned       reply;       /* CLOSE/ERROR: reply code */
} rec_t;

#define MAX_RECS 32

typedef struct {
    rec_t r[MAX_RECS];
    int   n;
} recs_t;

static inline void recs_free(recs_t *rs)
{
    int i;

    for (i = 0; i < rs->n; i++) {
        free(rs->r[i].data);
    }
    rs->n = 0;
}

/* Feeds wire[0..n) to a fresh assembler in chunks of `chunk` bytes (0:
 * all at once), recording every message until the first error. */
static inline void run_asm(const unsigned char *wire, size_t n,
                           size_t chunk, uint64_t max,
                           const push_ws_pmd_t *pmd, recs_t *rs)
{
    unsigned char *buf = malloc(n ? n : 1);
    push_ws_inflater_t *inf = NULL;
    push_ws_asm_t a;
    size_t off = 0;

    rs->n = 0;
    memcpy(buf, wire, n);
    if (pmd) {
        inf = push_ws_inflater_new(pmd);
    }
    push_ws_asm_init(&a, max, inf);
    while (off < n) {
        size_t c = chunk && chunk < n - off ? chunk : n - off;
        size_t used = 0;

        for (;;) {
            push_ws_message_t m;
            rec_t *r;

            used += push_ws_asm_feed(&a, buf + off + used, c - used, &m);
            if (m.type == PUSH_WS_MSG_NONE) {
                break;
            }
            if (rs->n == MAX_RECS) {
                goto done;
            }
            r = &rs->r[rs->n++];
            r->type = m.type;
            r->len = m.len;
            r->data = malloc(m.len + 1);
            if (m.len) {
                memcpy(r->data, m.data, m.len);
            }
            r->code = m.code;
            r->reply = m.reply_code;
            if (m.type == PUSH_WS_MSG_ERROR) {
                goto done;
            }
        }
        off += c;
    }
done:
    push_ws_asm_free(&a);
    push_ws_inflater_free(inf);
    free(buf);
}

typedef struct {
    int         type;
    const void *data;
    size_t      len;
    unsigned    code;       /* CLOSE: peer code; ERROR: reply code */
} expect_t;

#define EXP_S(t, s)  { (t), (s), sizeof(s) - 1, 0 }
#define EXP_ERR(c)   { PUSH_WS_MSG_ERROR, NULL, 0, (c) }

static const size_t chunkings[] = { 0, 1, 2, 3, 5, 7, 64 };

/* Every chunking of the wire must give exactly `exp`. */
static inline void check_run(int line, const unsigned char *wire,
                             size_t n, uint64_t max,
                             const push_ws_pmd_t *pmd, const expect_t *exp,
                             int nexp)
{
    size_t ci;

    for (ci = 0; ci < sizeof(chunkings) / sizeof(chunkings[0]); ci++) {
        recs_t rs;
        int i, ok = 1;

        run_asm(wire, n, chunkings[ci], max, pmd, &rs);
        if (rs.n != nexp) {
            ok = 0;
        }
        for (i = 0; ok && i < nexp; i++) {
            const rec_t *r = &rs.r[i];

            if (r->type != exp[i].type) {
                ok = 0;
            }
            else if (exp[i].type == PUSH_WS_MSG_ERROR) {
                ok = r->reply == exp[i].code;
            }
            else if (exp[i].type == PUSH_WS_MSG_CLOSE && exp[i].code
                     && r->code != exp[i].code) {
                ok = 0;
            }
            else if (exp[i].data
                     && (r->len != exp[i].len
                         || memcmp(r->data, exp[i].data, r->len) != 0)) {
                ok = 0;
            }
        }
        if (!ok) {
            fprintf(stderr, "%s:%d: chunk %zu: got %d records:", __FILE__,
                    line, chunkings[ci], rs.n);
            for (i = 0; i < rs.n; i++) {
                fprintf(stderr, " [type %d len %zu code %u reply %u]",
                        rs.r[i].type, rs.r[i].len, rs.r[i].code,
                        rs.r[i].reply);
            }
            fprintf(stderr, "\n");
        }
        CHECK_AT(line, ok);
        recs_free(&rs);
    }
}

#define CHECK_RUN(w, max, pmd, ...)                                        \
    do {                                                                   \
        const expect_t exp_[] = { __VA_ARGS__ };                           \
        check_run(__LINE__, (w)->b, (w)->len, (max), (pmd), exp_,          \
                  (int)(sizeof(exp_) / sizeof(exp_[0])));                  \
    } while (0)

/* Feeds wire byte by byte to a parser; returns how many bytes had been
 * fed when the first EV_ERROR came (its code in *code), or 0 if none. */
static inline size_t first_error_at(const unsigned char *wire, size_t n,
                                    uint64_t max, unsigned flags,
                                    unsigned *code)
{
    push_ws_parser_t p;
    unsigned char *buf = malloc(n ? n : 1);
    size_t i, at = 0;

    memcpy(buf, wire, n);
    push_ws_parser_init(&p, max, flags);
    *code = 0;
    for (i = 0; i < n && !at; i++) {
        size_t used = 0;

        for (;;) {
            push_ws_event_t ev;

            used += push_ws_parse(&p, buf + i + used, 1 - used, &ev);
            if (ev.type == PUSH_WS_EV_ERROR) {
                at = i + 1;
                *code = ev.close_code;
                break;
            }
            if (ev.type == PUSH_WS_EV_NONE) {
                break;
            }
        }
    }
    free(buf);
    return at;
}


static inline unsigned char *pattern(size_t n)
{
    unsigned char *p = malloc(n ? n : 1);
    size_t i;

    for (i = 0; i < n; i++) {
        p[i] = (unsigned char)(i * 7 + (i >> 8));
    }
    return p;
}

#endif
