/* fuzz_ws_frame.c — libFuzzer target for the WebSocket codec.
 *
 * Input: byte 0 selects options (deflate negotiated, strict lengths, the
 * message limit), bytes 1-2 pick a split point and a chunk size; the rest
 * is client wire data.  The data goes through the assembler twice, once
 * in one piece and once split and chunked, and both runs must report the
 * same messages: the parser may not depend on how reads are cut.  Every
 * delivered message is checked against the protocol's promises (text is
 * UTF-8, sizes within the limit, close codes valid), and the UTF-8
 * validator's incremental and one-shot forms must agree on the input.
 *
 * Build:
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -I. \
 *       fuzz/fuzz_ws_frame.c push_ws_codec.c push_utf8.c \
 *       push_ws_deflate.c -lz -o /tmp/fuzz_ws_frame
 *   /tmp/fuzz_ws_frame -max_total_time=60 fuzz/corpus/ws_frame */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "lib/push_utf8.h"
#include "lib/push_ws_codec.h"
#include "lib/push_ws_deflate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_SEEN 64

typedef struct {
    int      type;
    size_t   len;
    unsigned code;
    unsigned reply;
    uint32_t crc;
} seen_t;

typedef struct {
    seen_t m[MAX_SEEN];
    int    n;
} trace_t;

static const uint64_t limits[4] = { 0, 16, 1000, 65536 };

static void check_message(const push_ws_message_t *m, uint64_t limit)
{
    switch (m->type) {
    case PUSH_WS_MSG_TEXT:
        if (!push_utf8_valid(m->data, m->len)) {
            abort();
        }
        /* fall through */
    case PUSH_WS_MSG_BINARY:
        if (limit && m->len > limit) {
            abort();
        }
        break;
    case PUSH_WS_MSG_PING:
    case PUSH_WS_MSG_PONG:
        if (m->len > PUSH_WS_MAX_CONTROL) {
            abort();
        }
        break;
    case PUSH_WS_MSG_CLOSE:
        if (m->len > PUSH_WS_MAX_CONTROL
            || (m->len == 0 && m->code != PUSH_WS_CLOSE_NO_STATUS)
            || (m->len && !push_ws_close_code_valid(m->code))
            || m->reply_code != m->code
            || !push_utf8_valid(m->reason, m->reason_len)) {
            abort();
        }
        break;
    case PUSH_WS_MSG_ERROR:
        if (m->reply_code != PUSH_WS_CLOSE_PROTOCOL_ERROR
            && m->reply_code != PUSH_WS_CLOSE_INVALID_DATA
            && m->reply_code != PUSH_WS_CLOSE_TOO_BIG
            && m->reply_code != PUSH_WS_CLOSE_INTERNAL_ERROR) {
            abort();
        }
        break;
    default:
        abort();
    }
}

/* Runs the assembler over wire[0..len): the first `split` bytes in one
 * feed, the rest in feeds of `chunk` bytes (0: one feed). */
static void run(const uint8_t *wire, size_t len, size_t split, size_t chunk,
                uint64_t limit, const push_ws_pmd_t *pmd, trace_t *t)
{
    unsigned char *buf = malloc(len ? len : 1);
    push_ws_inflater_t *inf = pmd ? push_ws_inflater_new(pmd) : NULL;
    push_ws_asm_t a;
    size_t off = 0;

    memcpy(buf, wire, len);
    memset(t, 0, sizeof(*t));     /* padding too: traces are memcmp'd */
    push_ws_asm_init(&a, limit, inf);
    while (off < len) {
        size_t c;
        size_t used = 0;

        if (off == 0 && split) {
            c = split;
        }
        else if (chunk) {
            c = chunk < len - off ? chunk : len - off;
        }
        else {
            c = len - off;
        }
        for (;;) {
            push_ws_message_t m;
            seen_t *s;

            used += push_ws_asm_feed(&a, buf + off + used, c - used, &m);
            if (used > c) {
                abort();
            }
            if (m.type == PUSH_WS_MSG_NONE) {
                if (used != c) {
                    abort();
                }
                break;
            }
            check_message(&m, limit);
            if (t->n < MAX_SEEN) {
                s = &t->m[t->n++];
                s->type = m.type;
                s->len = m.len;
                s->code = m.code;
                s->reply = m.reply_code;
                s->crc = (uint32_t)crc32(0, m.data ? m.data : Z_NULL,
                                         (uInt)m.len);
            }
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

static void fuzz_utf8(const uint8_t *d, size_t n, size_t split)
{
    push_utf8_t u;
    int one = push_utf8_valid(d, n);
    int inc;
    size_t pre = push_utf8_valid_prefix(d, n);

    if (split > n) {
        split = n;
    }
    push_utf8_init(&u);
    inc = push_utf8_feed(&u, d, split) == 0
          && push_utf8_feed(&u, d + split, n - split) == 0
          && push_utf8_finish(&u) == 0;
    if (inc != one || (pre == n) != one || !push_utf8_valid(d, pre)) {
        abort();
    }
    /* Byte by byte too: must fail no later than the one-shot check. */
    {
        size_t i;
        int bad = 0;

        push_utf8_init(&u);
        for (i = 0; i < n && !bad; i++) {
            bad = push_utf8_feed(&u, d + i, 1) != 0;
        }
        if ((bad && one) || (!bad && (push_utf8_finish(&u) == 0) != one)) {
            abort();
        }
        /* The failing byte is right after the longest valid prefix's
         * pending sequence: nothing before pre can be the failure. */
        if (bad && i <= pre) {
            abort();
        }
    }
}

static void fuzz_helpers(const uint8_t *d, size_t n)
{
    push_ws_pmd_t pmd;
    char resp[PUSH_WS_PMD_RESPONSE_MAX];
    unsigned char f[PUSH_WS_MAX_CONTROL_FRAME];
    uint16_t code = 0;
    int rc;

    rc = push_ws_pmd_negotiate((const char *)d, n, NULL, &pmd, resp,
                               sizeof(resp));
    if (rc == 1 && (!pmd.enabled || strlen(resp) < 18
                    || pmd.server_max_window_bits < 8
                    || pmd.server_max_window_bits > 15
                    || pmd.client_max_window_bits < 8
                    || pmd.client_max_window_bits > 15)) {
        abort();
    }
    if (rc == 1) {
        /* The response must itself be a single acceptable offer. */
        push_ws_pmd_t again;
        char resp2[PUSH_WS_PMD_RESPONSE_MAX];

        if (push_ws_pmd_negotiate(resp, strlen(resp), NULL, &again, resp2,
                                  sizeof(resp2)) != 1) {
            abort();
        }
    }
    (void)push_ws_key_valid((const char *)d, n);
    (void)push_ws_token_in_list((const char *)d, n, "upgrade");
    (void)push_ws_protocol_offered((const char *)d, n, "ws+meta.nchan");

    if (push_ws_close_parse(d, n, &code, NULL, NULL) == 0) {
        size_t fl = push_ws_build_close(f, code,
                                        n > 2 ? (const char *)d + 2 : NULL,
                                        n > 2 ? n - 2 : 0);

        if (fl < 2 || f[1] != fl - 2 || fl > sizeof(f)
            || push_ws_close_reply(f + 2, fl - 2)
               != (n ? code : PUSH_WS_CLOSE_NO_STATUS)) {
            abort();
        }
    }
}

/* Deflate and inflate the data back: must be identical. */
static void fuzz_roundtrip(const uint8_t *d, size_t n, int bits)
{
    static push_ws_deflater_t *defl[16];
    push_ws_pmd_t pmd;
    push_ws_inflater_t *inf;
    push_buf_t z, back;

    if (defl[bits] == NULL) {
        defl[bits] = push_ws_deflater_new(bits, -1, 0);
        if (defl[bits] == NULL) {
            abort();
        }
    }
    memset(&pmd, 0, sizeof(pmd));
    pmd.enabled = 1;
    pmd.server_no_context_takeover = 1;
    pmd.server_max_window_bits = bits;
    pmd.client_max_window_bits = bits;
    push_buf_init(&z);
    push_buf_init(&back);
    if (push_ws_deflate_message(defl[bits], d, n, &z) != 0) {
        abort();
    }
    inf = push_ws_inflater_new(&pmd);
    if (inf == NULL
        || push_ws_inflate(inf, z.data, z.len, 1, &back, n)
           != PUSH_WS_INFLATE_OK
        || back.len != n || (n && memcmp(back.data, d, n) != 0)) {
        abort();
    }
    if (n > 0) {
        /* One byte short of the limit must say TOO_BIG. */
        push_ws_inflater_free(inf);
        inf = push_ws_inflater_new(&pmd);
        back.len = 0;
        if (push_ws_inflate(inf, z.data, z.len, 1, &back, n - 1)
            != PUSH_WS_INFLATE_TOO_BIG) {
            abort();
        }
    }
    push_ws_inflater_free(inf);
    push_buf_free(&z);
    push_buf_free(&back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *wire;
    size_t len, split, chunk;
    unsigned opts;
    uint64_t limit;
    push_ws_pmd_t pmd, *pmdp = NULL;
    trace_t whole, cut;
    int i;

    if (size < 3) {
        return 0;
    }
    opts = data[0];
    wire = data + 3;
    len = size - 3;
    split = len ? data[1] % (len + 1) : 0;
    chunk = data[2] % 9;    /* 0: the rest at once */
    limit = limits[(opts >> 2) & 3];

    if (opts & 1) {
        char resp[PUSH_WS_PMD_RESPONSE_MAX];
        static const char *const offers[] = {
            "permessage-deflate",
            "permessage-deflate; client_no_context_takeover",
            "permessage-deflate; client_max_window_bits=9",
            ("permessage-deflate; client_max_window_bits=8; "
             "client_no_context_takeover"),
        };
        const char *o = offers[(opts >> 4) & 3];

        if (push_ws_pmd_negotiate(o, strlen(o), NULL, &pmd, resp,
                                  sizeof(resp)) != 1) {
            abort();
        }
        pmdp = &pmd;
    }

    run(wire, len, 0, 0, limit, pmdp, &whole);
    run(wire, len, split, chunk, limit, pmdp, &cut);
    if (whole.n != cut.n) {
        abort();
    }
    for (i = 0; i < whole.n; i++) {
        if (memcmp(&whole.m[i], &cut.m[i], sizeof(seen_t)) != 0) {
            abort();
        }
    }

    /* The raw parser with copy-out and a tiny buffer must accept
     * exactly what the in-place parser does (strict lengths too). */
    {
        push_ws_parser_t p1, p2;
        unsigned flags = ((opts & 1) ? PUSH_WS_PARSE_DEFLATE : 0)
                         | ((opts & 2) ? PUSH_WS_PARSE_STRICT_LENGTH : 0);
        unsigned char *buf = malloc(len ? len : 1);
        unsigned char out[3];
        size_t o1 = 0, o2 = 0;
        uint32_t c1 = 0, c2 = 0;
        unsigned e1 = 0, e2 = 0;

        memcpy(buf, wire, len);
        push_ws_parser_init(&p1, limit, flags);
        push_ws_parser_init(&p2, limit, flags);
        for (;;) {
            push_ws_event_t ev;

            o1 += push_ws_parse(&p1, buf + o1, len - o1, &ev);
            if (ev.type == PUSH_WS_EV_DATA) {
                c1 = (uint32_t)crc32(c1, ev.data, (uInt)ev.len);
            }
            if (ev.type == PUSH_WS_EV_ERROR) {
                e1 = ev.close_code;
                break;
            }
            if (ev.type == PUSH_WS_EV_NONE) {
                break;
            }
        }
        for (;;) {
            push_ws_event_t ev;

            o2 += push_ws_parse_to(&p2, wire + o2, len - o2, out,
                                   sizeof(out), &ev);
            if (ev.type == PUSH_WS_EV_DATA) {
                if (ev.len > sizeof(out)) {
                    abort();
                }
                c2 = (uint32_t)crc32(c2, ev.data, (uInt)ev.len);
            }
            if (ev.type == PUSH_WS_EV_ERROR) {
                e2 = ev.close_code;
                break;
            }
            if (ev.type == PUSH_WS_EV_NONE) {
                break;
            }
        }
        /* The in-place parser may stop mid-slice on a UTF-8 error where
         * the copy parser saw a shorter slice first, so compare the
         * verdicts and, when both succeeded, the payload. */
        if (e1 != e2 || (!e1 && (c1 != c2 || o1 != o2 || o1 != len))) {
            abort();
        }
        free(buf);
    }

    fuzz_utf8(wire, len, split);
    fuzz_helpers(wire, len);
    if (len <= 4096) {
        fuzz_roundtrip(wire, len, 8 + (opts >> 5) % 8);
    }
    return 0;
}
