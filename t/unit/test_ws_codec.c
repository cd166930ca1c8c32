/* test_ws_codec.c — unit tests for push_utf8 and push_ws_codec: UTF-8,
 * frame lengths, masking, fragmentation, size limits, Close, the
 * serialiser and the handshake helpers.  permessage-deflate is
 * test_ws_deflate.c. */
#include "ws_wire.h"

/* ---- UTF-8 ---------------------------------------------------------- */

typedef struct {
    const char *s;
    size_t      len;
    int         valid;
    int         bad_at;    /* invalid: index of the first failing byte,
                            * -1 when only truncated (finish fails) */
} u8vec_t;

#define V(s)        { s, sizeof(s) - 1, 1, -1 }
#define X(s, at)    { s, sizeof(s) - 1, 0, at }

static const u8vec_t u8vecs[] = {
    V(""), V("abc"), V("\0"),
    V("\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5"),  /* kosme */
    /* first and last of each length */
    V("\xc2\x80"), V("\xdf\xbf"), V("\xe0\xa0\x80"), V("\xef\xbf\xbf"),
    V("\xf0\x90\x80\x80"), V("\xf4\x8f\xbf\xbf"),
    /* around the surrogates, non-characters (valid UTF-8) */
    V("\xed\x9f\xbf"), V("\xee\x80\x80"), V("\xef\xbf\xbd"),
    V("\xef\xbf\xbe"), V("\xf3\xbf\xbf\xbf"),
    V("0123456789abcdef\xc3\xa9xyz0123456789abcdef"),
    /* unexpected continuations */
    X("\x80", 0), X("\xbf", 0), X("\x80\xbf\x80", 0), X("ab\x80", 2),
    /* lonely start bytes */
    X("\xc2\x20", 1), X("\xe1\x20", 1), X("\xf1\x20", 1),
    X("\xe1\x80\x20", 2), X("\xf1\x80\x80\x20", 3),
    /* truncated sequences */
    X("\xc2", -1), X("\xe0\xa0", -1), X("\xf0\x90\x80", -1),
    X("\xdf", -1), X("\xef\xbf", -1), X("\xf4\x8f\xbf", -1),
    X("abc\xe2\x82", -1),
    /* impossible bytes */
    X("\xfe", 0), X("\xff", 0), X("\xfe\xfe\xff\xff", 0),
    X("\xc0", 0), X("\xc1", 0), X("\xf5", 0), X("\xf8", 0),
    /* overlong forms */
    X("\xc0\xaf", 0), X("\xe0\x80\xaf", 1), X("\xf0\x80\x80\xaf", 1),
    X("\xf8\x80\x80\x80\xaf", 0), X("\xfc\x80\x80\x80\x80\xaf", 0),
    X("\xc1\xbf", 0), X("\xe0\x9f\xbf", 1), X("\xf0\x8f\xbf\xbf", 1),
    X("\xc0\x80", 0), X("\xe0\x80\x80", 1), X("\xf0\x80\x80\x80", 1),
    /* surrogates */
    X("\xed\xa0\x80", 1), X("\xed\xad\xbf", 1), X("\xed\xae\x80", 1),
    X("\xed\xaf\xbf", 1), X("\xed\xb0\x80", 1), X("\xed\xbe\x80", 1),
    X("\xed\xbf\xbf", 1), X("\xed\xa0\x80\xed\xb0\x80", 1),
    X("ok\xed\xbf\xbf", 3),
    /* beyond U+10FFFF */
    X("\xf4\x90\x80\x80", 1), X("\xf5\x80\x80\x80", 0),
    X("\xf7\xbf\xbf\xbf", 0),
    /* a bad byte after a long ASCII run (the fast path) */
    X("0123456789abcdef0123456789\xff", 26),
};

static void test_utf8(void)
{
    size_t vi;

    for (vi = 0; vi < sizeof(u8vecs) / sizeof(u8vecs[0]); vi++) {
        const u8vec_t *v = &u8vecs[vi];
        push_utf8_t u;
        size_t i, split;
        int bad_at = -1, ok;

        if (push_utf8_valid(v->s, v->len) != v->valid) {
            fprintf(stderr, "utf8 vector %zu\n", vi);
        }
        CHECK_EQ(push_utf8_valid(v->s, v->len), v->valid);
        CHECK_EQ(push_utf8_valid_prefix(v->s, v->len) == v->len, v->valid);

        /* Byte by byte: must fail exactly at the expected byte. */
        push_utf8_init(&u);
        for (i = 0; i < v->len; i++) {
            if (push_utf8_feed(&u, v->s + i, 1) != 0) {
                bad_at = (int)i;
                break;
            }
        }
        if (bad_at != (v->valid ? -1 : v->bad_at)) {
            fprintf(stderr, "utf8 vector %zu fails at %d\n", vi, bad_at);
        }
        CHECK_EQ(bad_at, v->valid ? -1 : v->bad_at);
        /* Sticky. */
        if (bad_at >= 0) {
            CHECK_EQ(push_utf8_feed(&u, "a", 1), -1);
        }

        /* Every two-way split agrees with the one-shot answer. */
        ok = 1;
        for (split = 0; split <= v->len; split++) {
            int good;

            push_utf8_init(&u);
            good = push_utf8_feed(&u, v->s, split) == 0
                   && push_utf8_feed(&u, v->s + split, v->len - split) == 0
                   && push_utf8_finish(&u) == 0;
            if (good != v->valid) {
                ok = 0;
            }
        }
        CHECK(ok);
    }

    CHECK_EQ(push_utf8_valid_prefix("ab\xe2\x82\xac", 4), 2);
    CHECK_EQ(push_utf8_valid_prefix("ab\xe2\x82\xac", 5), 5);
    CHECK_EQ(push_utf8_valid_prefix("ab\xffzz", 5), 2);
    CHECK_EQ(push_utf8_valid_prefix("", 0), 0);

    /* Every 2-byte sequence: the incremental and one-shot validators
     * agree, and the one-shot matches a decoder-based reference. */
    {
        unsigned a, b;
        int ok = 1;

        for (a = 0; a < 256; a++) {
            for (b = 0; b < 256; b++) {
                unsigned char s[2] = { (unsigned char)a, (unsigned char)b };
                int ref;
                push_utf8_t u;
                int inc;

                if (a < 0x80) {
                    ref = b < 0x80;
                }
                else if (a >= 0xC2 && a <= 0xDF) {
                    ref = (b & 0xC0) == 0x80;
                }
                else {
                    ref = 0;
                }
                push_utf8_init(&u);
                inc = push_utf8_feed(&u, s, 1) == 0
                      && push_utf8_feed(&u, s + 1, 1) == 0
                      && push_utf8_finish(&u) == 0;
                if (push_utf8_valid(s, 2) != ref || inc != ref) {
                    ok = 0;
                }
            }
        }
        CHECK(ok);
    }

    /* Every code point encodes to something valid; surrogates do not. */
    {
        unsigned cp;
        int ok = 1;

        for (cp = 0; cp <= 0x10FFFF; cp += (cp < 0x20000 ? 1 : 61)) {
            unsigned char s[4];
            size_t n;

            if (cp < 0x80) {
                s[0] = (unsigned char)cp;
                n = 1;
            }
            else if (cp < 0x800) {
                s[0] = (unsigned char)(0xC0 | (cp >> 6));
                s[1] = (unsigned char)(0x80 | (cp & 0x3F));
                n = 2;
            }
            else if (cp < 0x10000) {
                s[0] = (unsigned char)(0xE0 | (cp >> 12));
                s[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
                s[2] = (unsigned char)(0x80 | (cp & 0x3F));
                n = 3;
            }
            else {
                s[0] = (unsigned char)(0xF0 | (cp >> 18));
                s[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
                s[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
                s[3] = (unsigned char)(0x80 | (cp & 0x3F));
                n = 4;
            }
            if (push_utf8_valid(s, n) != !(cp >= 0xD800 && cp <= 0xDFFF)) {
                ok = 0;
            }
        }
        CHECK(ok);
    }
}

/* ---- Frames: lengths, masking, chunking ------------------------------ */

static void test_lengths(void)
{
    static const size_t sizes[] = { 0, 1, 125, 126, 127, 65535, 65536,
                                    70001 };
    size_t si;

    for (si = 0; si < sizeof(sizes) / sizeof(sizes[0]); si++) {
        size_t n = sizes[si];
        unsigned char *p = pattern(n);
        wire_t w = { 0 };

        wire_frame(&w, FIN | PUSH_WS_OP_BINARY, p, n);
        CHECK_EQ(w.len, n + 4 + (n < 126 ? 2 : n <= 0xFFFF ? 4 : 10));
        {
            const expect_t exp[] = { { PUSH_WS_MSG_BINARY, p, n, 0 } };

            check_run(__LINE__, w.b, w.len, 0, NULL, exp, 1);
        }
        wire_free(&w);
        free(p);
    }

    /* Non-minimal encodings: tolerated by default, refused when strict. */
    {
        wire_t w = { 0 };
        unsigned code;

        wire_frame_ex(&w, FIN | PUSH_WS_OP_TEXT, "hello", 5, 16, 1);
        wire_frame_ex(&w, FIN | PUSH_WS_OP_TEXT, "world", 5, 64, 1);
        CHECK_RUN(&w, 0, NULL, EXP_S(PUSH_WS_MSG_TEXT, "hello"),
                  EXP_S(PUSH_WS_MSG_TEXT, "world"));
        CHECK_EQ(first_error_at(w.b, w.len, 0, 0, &code), 0);
        CHECK_EQ(first_error_at(w.b, w.len, 0, PUSH_WS_PARSE_STRICT_LENGTH,
                                &code), 4);
        CHECK_EQ(code, 1002);
        wire_free(&w);
    }

    /* 64-bit length with the top bit set: 1002 on the third byte. */
    {
        static const unsigned char bad[] = {
            0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4
        };
        unsigned code;

        CHECK_EQ(first_error_at(bad, sizeof(bad), 0, 0, &code), 3);
        CHECK_EQ(code, 1002);
    }

    /* The copy-out parser with a tiny output buffer and const input. */
    {
        wire_t w = { 0 };
        unsigned char out[3], got[64];
        size_t off = 0, glen = 0, ends = 0;
        push_ws_parser_t p;
        int headers = 0;

        wire_str(&w, PUSH_WS_OP_TEXT, "frag");
        wire_str(&w, FIN | PUSH_WS_OP_CONT, "mented text");
        push_ws_parser_init(&p, 0, 0);
        for (;;) {
            push_ws_event_t ev;
            size_t used = push_ws_parse_to(&p, w.b + off, w.len - off, out,
                                           sizeof(out), &ev);

            off += used;
            if (ev.type == PUSH_WS_EV_NONE || ev.type == PUSH_WS_EV_ERROR) {
                CHECK_EQ(ev.type, PUSH_WS_EV_NONE);
                break;
            }
            if (ev.type == PUSH_WS_EV_HEADER) {
                headers++;
                CHECK_EQ(ev.msg_opcode, PUSH_WS_OP_TEXT);
            }
            if (ev.type == PUSH_WS_EV_DATA) {
                CHECK(ev.len <= sizeof(out) && ev.data == out);
                memcpy(got + glen, ev.data, ev.len);
                glen += ev.len;
            }
            if (ev.type == PUSH_WS_EV_END) {
                ends++;
            }
        }
        CHECK_EQ(headers, 2);
        CHECK_EQ(ends, 2);
        CHECK_EQ(off, w.len);
        CHECK(glen == 15 && memcmp(got, "fragmented text", 15) == 0);
        wire_free(&w);
    }

    /* Header events report what the header says. */
    {
        unsigned char f[32];
        size_t n = mkframe(f, FIN | PUSH_WS_OP_TEXT, "abc", 3);
        push_ws_parser_t p;
        push_ws_event_t ev;
        size_t used;

        push_ws_parser_init(&p, 0, 0);
        used = push_ws_parse(&p, f, n, &ev);
        CHECK_EQ(used, 6);
        CHECK_EQ(ev.type, PUSH_WS_EV_HEADER);
        CHECK_EQ(ev.opcode, PUSH_WS_OP_TEXT);
        CHECK_EQ(ev.fin, 1);
        CHECK_EQ(ev.length, 3);
        used = push_ws_parse(&p, f + 6, n - 6, &ev);
        CHECK_EQ(ev.type, PUSH_WS_EV_DATA);
        CHECK(used == 3 && ev.len == 3 && memcmp(ev.data, "abc", 3) == 0);
        CHECK(ev.data == f + 6);   /* unmasked in place */
        used = push_ws_parse(&p, f + 9, 0, &ev);
        CHECK_EQ(ev.type, PUSH_WS_EV_END);
        CHECK_EQ(used, 0);
        used = push_ws_parse(&p, f + 9, 0, &ev);
        CHECK_EQ(ev.type, PUSH_WS_EV_NONE);
    }
}

static void test_masking_rsv_opcodes(void)
{
    unsigned code;
    unsigned op;

    /* Unmasked client frame: 1002 as soon as the second byte arrives. */
    {
        wire_t w = { 0 };

        wire_frame_ex(&w, FIN | PUSH_WS_OP_TEXT, "hi", 2, 0, 0);
        CHECK_EQ(first_error_at(w.b, w.len, 0, 0, &code), 2);
        CHECK_EQ(code, 1002);
        CHECK_RUN(&w, 0, NULL, EXP_ERR(1002));
        wire_free(&w);
    }

    /* Reserved opcodes. */
    for (op = 0x3; op <= 0xF; op++) {
        wire_t w = { 0 };

        if (op >= 0x8 && op <= 0xA) {
            continue;
        }
        wire_frame(&w, FIN | op, "x", 1);
        CHECK_EQ(first_error_at(w.b, w.len, 0, 0, &code), 2);
        CHECK_EQ(code, 1002);
        wire_free(&w);
    }

    /* RSV2/RSV3 always; RSV1 without deflate. */
    {
        static const unsigned bits[] = { RSV2, RSV3, RSV2 | RSV3, RSV1 };
        size_t i;

        for (i = 0; i < sizeof(bits) / sizeof(bits[0]); i++) {
            wire_t w = { 0 };

            wire_frame(&w, FIN | bits[i] | PUSH_WS_OP_TEXT, "x", 1);
            CHECK_EQ(first_error_at(w.b, w.len, 0, 0, &code), 2);
            CHECK_EQ(code, 1002);
            /* With deflate, RSV2/3 still fail. */
            if (bits[i] != RSV1) {
                CHECK_EQ(first_error_at(w.b, w.len, 0,
                                        PUSH_WS_PARSE_DEFLATE, &code), 2);
            }
            wire_free(&w);
        }
    }

    /* RSV1 with deflate: fine on a first frame, not on a continuation,
     * never on a control frame. */
    {
        wire_t w = { 0 };

        wire_frame(&w, RSV1 | PUSH_WS_OP_TEXT, "x", 1);
        wire_frame(&w, FIN | PUSH_WS_OP_CONT, "y", 1);
        CHECK_EQ(first_error_at(w.b, w.len, 0, PUSH_WS_PARSE_DEFLATE, &code),
                 0);
        wire_free(&w);

        wire_frame(&w, PUSH_WS_OP_TEXT, "x", 1);
        wire_frame(&w, FIN | RSV1 | PUSH_WS_OP_CONT, "y", 1);
        CHECK_EQ(first_error_at(w.b, w.len, 0, PUSH_WS_PARSE_DEFLATE, &code),
                 9);
        CHECK_EQ(code, 1002);
        wire_free(&w);

        wire_frame(&w, FIN | RSV1 | PUSH_WS_OP_PING, "", 0);
        CHECK_EQ(first_error_at(w.b, w.len, 0, PUSH_WS_PARSE_DEFLATE, &code),
                 2);
        CHECK_EQ(code, 1002);
        wire_free(&w);
    }

    /* Control frames: > 125 bytes, or not FIN. */
    {
        unsigned char big[126];
        wire_t w = { 0 };

        memset(big, 'p', sizeof(big));
        wire_frame(&w, FIN | PUSH_WS_OP_PING, big, 126);
        CHECK_EQ(first_error_at(w.b, w.len, 0, 0, &code), 2);
        CHECK_EQ(code, 1002);
        CHECK_RUN(&w, 0, NULL, EXP_ERR(1002));
        wire_free(&w);

        wire_frame(&w, FIN | PUSH_WS_OP_PONG, big, 125);
        CHECK_RUN(&w, 0, NULL, { PUSH_WS_MSG_PONG, big, 125, 0 });
        wire_free(&w);

        wire_frame(&w, PUSH_WS_OP_PING, "a", 1);
        wire_frame(&w, FIN | PUSH_WS_OP_CONT, "b", 1);
        CHECK_EQ(first_error_at(w.b, w.len, 0, 0, &code), 2);
        CHECK_EQ(code, 1002);
        wire_free(&w);

        wire_frame(&w, PUSH_WS_OP_CLOSE, "", 0);
        CHECK_RUN(&w, 0, NULL, EXP_ERR(1002));
        wire_free(&w);
    }
}

static void test_fragmentation(void)
{
    wire_t w = { 0 };
    unsigned code;

    /* Fragments with control frames between them. */
    wire_str(&w, PUSH_WS_OP_TEXT, "Hel");
    wire_str(&w, FIN | PUSH_WS_OP_PING, "p1");
    wire_str(&w, PUSH_WS_OP_CONT, "lo");
    wire_str(&w, FIN | PUSH_WS_OP_PONG, "");
    wire_str(&w, PUSH_WS_OP_CONT, "");
    wire_str(&w, FIN | PUSH_WS_OP_CONT, ", world");
    wire_str(&w, FIN | PUSH_WS_OP_BINARY, "bin");
    CHECK_RUN(&w, 0, NULL, EXP_S(PUSH_WS_MSG_PING, "p1"),
              EXP_S(PUSH_WS_MSG_PONG, ""),
              EXP_S(PUSH_WS_MSG_TEXT, "Hello, world"),
              EXP_S(PUSH_WS_MSG_BINARY, "bin"));
    wire_free(&w);

    /* Empty messages, fragmented and not. */
    wire_str(&w, FIN | PUSH_WS_OP_TEXT, "");
    wire_str(&w, PUSH_WS_OP_BINARY, "");
    wire_str(&w, FIN | PUSH_WS_OP_CONT, "");
    CHECK_RUN(&w, 0, NULL, EXP_S(PUSH_WS_MSG_TEXT, ""),
              EXP_S(PUSH_WS_MSG_BINARY, ""));
    wire_free(&w);

    /* Continuation with nothing open. */
    wire_str(&w, FIN | PUSH_WS_OP_CONT, "x");
    CHECK_RUN(&w, 0, NULL, EXP_ERR(1002));
    CHECK_EQ(first_error_at(w.b, w.len, 0, 0, &code), 2);
    wire_free(&w);

    wire_str(&w, FIN | PUSH_WS_OP_TEXT, "done");
    wire_str(&w, PUSH_WS_OP_CONT, "x");
    CHECK_RUN(&w, 0, NULL, EXP_S(PUSH_WS_MSG_TEXT, "done"), EXP_ERR(1002));
    wire_free(&w);

    /* A new data message while one is open. */
    wire_str(&w, PUSH_WS_OP_TEXT, "a");
    wire_str(&w, FIN | PUSH_WS_OP_TEXT, "b");
    CHECK_RUN(&w, 0, NULL, EXP_ERR(1002));
    wire_free(&w);

    wire_str(&w, PUSH_WS_OP_BINARY, "a");
    wire_str(&w, FIN | PUSH_WS_OP_PING, "");
    wire_str(&w, PUSH_WS_OP_TEXT, "b");
    CHECK_RUN(&w, 0, NULL, EXP_S(PUSH_WS_MSG_PING, ""), EXP_ERR(1002));
    wire_free(&w);

    /* Errors are sticky. */
    {
        push_ws_asm_t a;
        push_ws_message_t m;
        unsigned char f[16];
        size_t n;

        push_ws_asm_init(&a, 0, NULL);
        n = mkframe(f, FIN | PUSH_WS_OP_CONT, "x", 1);
        push_ws_asm_feed(&a, f, n, &m);
        CHECK_EQ(m.type, PUSH_WS_MSG_ERROR);
        n = mkframe(f, FIN | PUSH_WS_OP_TEXT, "x", 1);
        push_ws_asm_feed(&a, f, n, &m);
        CHECK_EQ(m.type, PUSH_WS_MSG_ERROR);
        CHECK_EQ(m.reply_code, 1002);
        push_ws_asm_free(&a);
    }
}

static void test_utf8_frames(void)
{
    wire_t w = { 0 };
    unsigned code;
    size_t f1;

    /* A character split across fragments is fine. */
    wire_str(&w, PUSH_WS_OP_TEXT, "\xce");
    wire_str(&w, PUSH_WS_OP_CONT, "\xba\xe1\xbd");
    wire_str(&w, FIN | PUSH_WS_OP_PING, "");
    wire_str(&w, FIN | PUSH_WS_OP_CONT, "\xb9\xcf\x83\xce\xbc\xce\xb5");
    CHECK_RUN(&w, 0, NULL, EXP_S(PUSH_WS_MSG_PING, ""),
              EXP_S(PUSH_WS_MSG_TEXT,
                    "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5"));
    wire_free(&w);

    /* Invalid in the second of three fragments: fails within it, at its
     * bad byte, before the third arrives. */
    wire_str(&w, PUSH_WS_OP_TEXT, "\xce\xba\xe1\xbd\xb9\xcf\x83");
    f1 = w.len;
    wire_str(&w, PUSH_WS_OP_CONT, "\xce\xbc\xce\xb5\xed\xa0\x80");
    wire_str(&w, FIN | PUSH_WS_OP_CONT, "edited");
    CHECK_RUN(&w, 0, NULL, EXP_ERR(1007));
    CHECK_EQ(first_error_at(w.b, w.len, 0, 0, &code), f1 + 6 + 6);
    CHECK_EQ(code, 1007);
    wire_free(&w);

    /* Invalid early in a long single frame: fails at that byte. */
    {
        char text[200];

        memset(text, 'a', sizeof(text));
        text[2] = (char)0xC0;
        wire_frame(&w, FIN | PUSH_WS_OP_TEXT, text, sizeof(text));
        CHECK_EQ(first_error_at(w.b, w.len, 0, 0, &code), 4 + 4 + 3);
        CHECK_EQ(code, 1007);
        wire_free(&w);
    }

    /* Message ending mid-character: 1007 at the end. */
    wire_str(&w, PUSH_WS_OP_TEXT, "ab");
    wire_str(&w, FIN | PUSH_WS_OP_CONT, "c\xe2\x82");
    CHECK_RUN(&w, 0, NULL, EXP_ERR(1007));
    wire_free(&w);

    /* Binary messages are not checked. */
    wire_str(&w, FIN | PUSH_WS_OP_BINARY, "\xff\xfe");
    CHECK_RUN(&w, 0, NULL, EXP_S(PUSH_WS_MSG_BINARY, "\xff\xfe"));
    wire_free(&w);

    /* Control frames inside a text message do not disturb the state. */
    wire_str(&w, PUSH_WS_OP_TEXT, "\xe2\x82");
    wire_str(&w, FIN | PUSH_WS_OP_PING, "\xff");
    wire_str(&w, FIN | PUSH_WS_OP_CONT, "\xac");
    CHECK_RUN(&w, 0, NULL, EXP_S(PUSH_WS_MSG_PING, "\xff"),
              EXP_S(PUSH_WS_MSG_TEXT, "\xe2\x82\xac"));
    wire_free(&w);
}

static void test_size_limit(void)
{
    wire_t w = { 0 };
    unsigned char buf[300];
    unsigned code;

    memset(buf, 'z', sizeof(buf));

    /* Exactly at the limit: fine; one more: 1009. */
    wire_frame(&w, FIN | PUSH_WS_OP_BINARY, buf, 100);
    CHECK_RUN(&w, 100, NULL, { PUSH_WS_MSG_BINARY, buf, 100, 0 });
    wire_free(&w);

    wire_frame(&w, FIN | PUSH_WS_OP_BINARY, buf, 101);
    CHECK_RUN(&w, 100, NULL, EXP_ERR(1009));
    /* Known from the second byte: no payload (nor mask) needed. */
    CHECK_EQ(first_error_at(w.b, w.len, 100, 0, &code), 2);
    CHECK_EQ(code, 1009);
    wire_free(&w);

    /* 16-bit length: after byte 4. */
    wire_frame(&w, FIN | PUSH_WS_OP_BINARY, buf, 200);
    CHECK_EQ(first_error_at(w.b, w.len, 150, 0, &code), 4);
    CHECK_EQ(code, 1009);
    wire_free(&w);

    /* 64-bit length announcing 4 GiB: after byte 10, with only the header
     * given to the parser. */
    {
        static const unsigned char hdr[] = {
            0x82, 0xFF, 0, 0, 0, 1, 0, 0, 0, 0
        };

        CHECK_EQ(first_error_at(hdr, sizeof(hdr), 1 << 20, 0, &code), 10);
        CHECK_EQ(code, 1009);
    }

    /* The total of the fragments counts. */
    wire_frame(&w, PUSH_WS_OP_TEXT, buf, 60);
    wire_frame(&w, FIN | PUSH_WS_OP_PING, buf, 100); /* controls don't */
    wire_frame(&w, PUSH_WS_OP_CONT, buf, 40);
    wire_frame(&w, FIN | PUSH_WS_OP_CONT, buf, 1);
    CHECK_RUN(&w, 100, NULL, { PUSH_WS_MSG_PING, buf, 100, 0 },
              EXP_ERR(1009));
    CHECK_EQ(first_error_at(w.b, w.len, 100, 0, &code),
             66 + 106 + 46 + 2);
    wire_free(&w);

    /* Limit resets per message. */
    wire_frame(&w, FIN | PUSH_WS_OP_BINARY, buf, 80);
    wire_frame(&w, FIN | PUSH_WS_OP_BINARY, buf, 80);
    CHECK_RUN(&w, 100, NULL, { PUSH_WS_MSG_BINARY, buf, 80, 0 },
              { PUSH_WS_MSG_BINARY, buf, 80, 0 });
    wire_free(&w);
}

/* ---- Close ---------------------------------------------------------- */

static void test_close(void)
{
    static const struct {
        unsigned code;
        int valid;
    } codes[] = {
        { 0, 0 }, { 999, 0 }, { 1000, 1 }, { 1001, 1 }, { 1002, 1 },
        { 1003, 1 }, { 1004, 0 }, { 1005, 0 }, { 1006, 0 }, { 1007, 1 },
        { 1008, 1 }, { 1009, 1 }, { 1010, 1 }, { 1011, 1 }, { 1012, 1 },
        { 1013, 1 }, { 1014, 1 }, { 1015, 0 }, { 1016, 0 }, { 1100, 0 },
        { 2000, 0 }, { 2999, 0 }, { 3000, 1 }, { 3999, 1 }, { 4000, 1 },
        { 4999, 1 }, { 5000, 0 }, { 65535, 0 }
    };
    size_t i;

    for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        unsigned char pl[8] = { (unsigned char)(codes[i].code >> 8),
                                (unsigned char)codes[i].code, 'b', 'y', 'e' };
        wire_t w = { 0 };

        CHECK_EQ(push_ws_close_code_valid(codes[i].code), codes[i].valid);
        CHECK_EQ(push_ws_close_reply(pl, 5),
                 codes[i].valid ? codes[i].code : 1002);
        wire_frame(&w, FIN | PUSH_WS_OP_CLOSE, pl, 5);
        if (codes[i].valid) {
            recs_t rs;

            run_asm(w.b, w.len, 1, 0, NULL, &rs);
            CHECK(rs.n == 1 && rs.r[0].type == PUSH_WS_MSG_CLOSE
                  && rs.r[0].code == codes[i].code
                  && rs.r[0].reply == codes[i].code);
            recs_free(&rs);
        }
        else {
            CHECK_RUN(&w, 0, NULL, EXP_ERR(1002));
        }
        wire_free(&w);
    }

    /* Empty: fine, no code; reply is an empty close. */
    {
        uint16_t code = 0;
        const char *reason = NULL;
        size_t rlen = 9;
        unsigned char out[PUSH_WS_MAX_CONTROL_FRAME];
        wire_t w = { 0 };

        CHECK_EQ(push_ws_close_parse((const unsigned char *)"", 0, &code,
                                     &reason, &rlen), 0);
        CHECK_EQ(code, 1005);
        CHECK_EQ(rlen, 0);
        CHECK_EQ(push_ws_close_reply(NULL, 0), 1005);
        CHECK_EQ(push_ws_build_close(out, 1005, "x", 1), 2);
        CHECK(out[0] == 0x88 && out[1] == 0);

        wire_str(&w, FIN | PUSH_WS_OP_CLOSE, "");
        CHECK_RUN(&w, 0, NULL, { PUSH_WS_MSG_CLOSE, NULL, 0, 1005 });
        wire_free(&w);
    }

    /* One byte: 1002. */
    {
        wire_t w = { 0 };

        CHECK_EQ(push_ws_close_reply((const unsigned char *)"\x03", 1), 1002);
        wire_str(&w, FIN | PUSH_WS_OP_CLOSE, "\x03");
        CHECK_RUN(&w, 0, NULL, EXP_ERR(1002));
        wire_free(&w);
    }

    /* Reason: valid UTF-8 passes through, invalid is 1007. */
    {
        wire_t w = { 0 };
        const char *reason = NULL;
        size_t rlen = 0;
        uint16_t code = 0;
        static const unsigned char good[] = "\x03\xe8gr\xc3\xbc\xc3\x9f";
        static const unsigned char bad[] = "\x03\xe8\xce\xba\xed\xa0\x80";

        CHECK_EQ(push_ws_close_parse(good, sizeof(good) - 1, &code, &reason,
                                     &rlen), 0);
        CHECK_EQ(code, 1000);
        CHECK(rlen == 6 && memcmp(reason, "gr\xc3\xbc\xc3\x9f", 6) == 0);
        CHECK_EQ(push_ws_close_parse(bad, sizeof(bad) - 1, NULL, NULL, NULL),
                 1007);
        CHECK_EQ(push_ws_close_reply(bad, sizeof(bad) - 1), 1007);
        /* A bad code wins over a bad reason. */
        CHECK_EQ(push_ws_close_reply((const unsigned char *)"\x03\xed\xff",
                                     3), 1002);

        wire_frame(&w, FIN | PUSH_WS_OP_CLOSE, bad, sizeof(bad) - 1);
        CHECK_RUN(&w, 0, NULL, EXP_ERR(1007));
        wire_free(&w);

        /* Reason split mid-character must still validate as a whole. */
        wire_frame(&w, FIN | PUSH_WS_OP_CLOSE, good, sizeof(good) - 1);
        {
            recs_t rs;

            run_asm(w.b, w.len, 1, 0, NULL, &rs);
            CHECK(rs.n == 1 && rs.r[0].type == PUSH_WS_MSG_CLOSE
                  && rs.r[0].code == 1000 && rs.r[0].len == 8);
            recs_free(&rs);
        }
        wire_free(&w);
    }

    /* After a valid close, the rest is ignored. */
    {
        wire_t w = { 0 };

        wire_str(&w, FIN | PUSH_WS_OP_CLOSE, "\x03\xe8");
        wire_str(&w, FIN | PUSH_WS_OP_TEXT, "late");
        wire_frame_ex(&w, FIN | PUSH_WS_OP_TEXT, "bad", 3, 0, 0);
        CHECK_RUN(&w, 0, NULL, { PUSH_WS_MSG_CLOSE, NULL, 0, 1000 });
        wire_free(&w);
    }
}

/* ---- Serialiser ----------------------------------------------------- */

static void test_serialiser(void)
{
    unsigned char h[PUSH_WS_MAX_HEADER];
    unsigned char f[PUSH_WS_MAX_CONTROL_FRAME];
    char reason[200];
    size_t n;

    CHECK_EQ(push_ws_frame_header(h, PUSH_WS_OP_TEXT, 0, 0), 2);
    CHECK(h[0] == 0x81 && h[1] == 0);
    CHECK_EQ(push_ws_frame_header(h, PUSH_WS_OP_TEXT, 0, 125), 2);
    CHECK(h[1] == 125);
    CHECK_EQ(push_ws_frame_header(h, PUSH_WS_OP_BINARY, 1, 126), 4);
    CHECK(h[0] == 0xC2 && h[1] == 126 && h[2] == 0 && h[3] == 126);
    CHECK_EQ(push_ws_frame_header(h, PUSH_WS_OP_TEXT, 0, 65535), 4);
    CHECK(h[2] == 0xFF && h[3] == 0xFF);
    CHECK_EQ(push_ws_frame_header(h, PUSH_WS_OP_TEXT, 0, 65536), 10);
    CHECK(h[1] == 127 && h[2] == 0 && h[7] == 1 && h[8] == 0 && h[9] == 0);
    CHECK_EQ(push_ws_frame_header(h, PUSH_WS_OP_BINARY, 0,
                                  UINT64_C(0x123456789A)), 10);
    CHECK(h[5] == 0x12 && h[6] == 0x34 && h[9] == 0x9A);
    CHECK_EQ(push_ws_frame_header_ex(h, 0, PUSH_WS_OP_CONT, 0, 3), 2);
    CHECK(h[0] == 0x00 && h[1] == 3);

    n = push_ws_build_control(f, PUSH_WS_OP_PING, "hi", 2);
    CHECK(n == 4 && f[0] == 0x89 && f[1] == 2 && f[2] == 'h' && f[3] == 'i');
    n = push_ws_build_control(f, PUSH_WS_OP_PONG, NULL, 0);
    CHECK(n == 2 && f[0] == 0x8A && f[1] == 0);
    memset(reason, 'r', sizeof(reason));
    CHECK_EQ(push_ws_build_control(f, PUSH_WS_OP_PONG, reason, 125), 127);
    CHECK_EQ(push_ws_build_control(f, PUSH_WS_OP_PING, reason, 126), 0);
    CHECK_EQ(push_ws_build_control(f, PUSH_WS_OP_TEXT, "x", 1), 0);

    n = push_ws_build_close(f, 1000, "bye", 3);
    CHECK(n == 7 && f[0] == 0x88 && f[1] == 5 && f[2] == 0x03
          && f[3] == 0xE8 && memcmp(f + 4, "bye", 3) == 0);
    n = push_ws_build_close(f, 1009, NULL, 0);
    CHECK(n == 4 && f[1] == 2 && f[2] == 0x03 && f[3] == 0xF1);
    /* Long reason: cut to 123 bytes. */
    n = push_ws_build_close(f, 4000, reason, sizeof(reason));
    CHECK(n == 127 && f[1] == 125);
    /* Cut at a character boundary: 121 ASCII + a 3-byte character would
     * be 124 bytes, so the character goes. */
    memcpy(reason + 121, "\xe2\x82\xac", 3);
    n = push_ws_build_close(f, 1001, reason, 124);
    CHECK(n == 4 + 121 && f[1] == 123);
    CHECK(push_utf8_valid(f + 4, n - 4));
    /* 120 + 3 fits exactly. */
    memcpy(reason + 120, "\xe2\x82\xac", 3);
    n = push_ws_build_close(f, 1001, reason, 123);
    CHECK(n == 4 + 123);
    /* An invalid reason is cut before the bad byte. */
    n = push_ws_build_close(f, 1011, "ok\xff!", 4);
    CHECK(n == 6 && f[1] == 4);
    /* Codes that may not be sent give an empty close. */
    CHECK_EQ(push_ws_build_close(f, 0, "x", 1), 2);
    CHECK_EQ(push_ws_build_close(f, 1006, "x", 1), 2);
    CHECK_EQ(push_ws_build_close(f, 1015, NULL, 0), 2);

    /* What we build, a client-side parse accepts (mask it first). */
    {
        unsigned char c[PUSH_WS_MAX_CONTROL_FRAME + 4];
        size_t cn;
        recs_t rs;

        n = push_ws_build_close(f, 3001, "fine", 4);
        cn = mkframe(c, f[0], f + 2, f[1]);
        run_asm(c, cn, 0, 0, NULL, &rs);
        CHECK(rs.n == 1 && rs.r[0].type == PUSH_WS_MSG_CLOSE
              && rs.r[0].code == 3001);
        recs_free(&rs);
    }
}

/* ---- Handshake helpers ---------------------------------------------- */

static void test_handshake(void)
{
    static const struct {
        const char *key;
        int valid;
    } keys[] = {
        { "dGhlIHNhbXBsZSBub25jZQ==", 1 },     /* RFC 6455 example */
        { "AAAAAAAAAAAAAAAAAAAAAA==", 1 },
        { "////////////////////ww==", 1 },
        { "+/+/+/+/+/+/+/+/+/+/+g==", 1 },
        { "  dGhlIHNhbXBsZSBub25jZQ==\t", 1 },
        { "dGhlIHNhbXBsZSBub25jZR==", 0 },     /* stray low bits */
        { "dGhlIHNhbXBsZSBub25jZQ=", 0 },
        { "dGhlIHNhbXBsZSBub25jZQ===", 0 },
        { "dGhlIHNhbXBsZSBub25jZQAA", 0 },
        { "dGhlIHNhbXBsZSBub25jZ===", 0 },
        { "dGhlIHNhbXBsZSBub25j!Q==", 0 },
        { "dGhlIHNhbXBsZSBub25j-Q==", 0 },     /* base64url is not base64 */
        { "dGhlIHNhbXBsZSBub25jZQ", 0 },
        { "dGhlIHNhbXBs ZSBub25jZQ==", 0 },
        { "dGhlIHNhbXBsZSBub25jZSBwbHVz", 0 },  /* 21 bytes */
        { "", 0 },
    };
    size_t i;

    for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        if (push_ws_key_valid(keys[i].key, strlen(keys[i].key))
            != keys[i].valid) {
            fprintf(stderr, "key %s\n", keys[i].key);
        }
        CHECK_EQ(push_ws_key_valid(keys[i].key, strlen(keys[i].key)),
                 keys[i].valid);
    }
    CHECK_EQ(push_ws_key_valid(NULL, 0), 0);
    CHECK_EQ(strlen(PUSH_WS_GUID), 36);
    CHECK(strcmp(PUSH_WS_GUID, "258EAFA5-E914-47DA-95CA-C5AB0DC85B11") == 0);

#define TOK(h, t) push_ws_token_in_list((h), strlen(h), (t))
    CHECK_EQ(TOK("Upgrade", "upgrade"), 1);
    CHECK_EQ(TOK("keep-alive, Upgrade", "upgrade"), 1);
    CHECK_EQ(TOK("keep-alive,Upgrade", "Upgrade"), 1);
    CHECK_EQ(TOK("  UPGRADE\t ,keep-alive", "upgrade"), 1);
    CHECK_EQ(TOK(",,upgrade,,", "upgrade"), 1);
    CHECK_EQ(TOK("keep-alive", "upgrade"), 0);
    CHECK_EQ(TOK("upgrades, keep-alive", "upgrade"), 0);
    CHECK_EQ(TOK("x-upgrade", "upgrade"), 0);
    CHECK_EQ(TOK("up grade", "upgrade"), 0);
    CHECK_EQ(TOK("", "upgrade"), 0);
    CHECK_EQ(TOK("websocket", "WebSocket"), 1);
    CHECK_EQ(push_ws_token_in_list(NULL, 0, "upgrade"), 0);
    /* Length-bounded: bytes past len do not count. */
    CHECK_EQ(push_ws_token_in_list("close, upgrade", 5, "upgrade"), 0);
#undef TOK

#define PROTO(h, p) push_ws_protocol_offered((h), strlen(h), (p))
    CHECK_EQ(PROTO("ws+meta.nchan", "ws+meta.nchan"), 1);
    CHECK_EQ(PROTO("chat, ws+meta.nchan", "ws+meta.nchan"), 1);
    CHECK_EQ(PROTO("ws+meta.nchan ,chat", "chat"), 1);
    CHECK_EQ(PROTO("WS+META.NCHAN", "ws+meta.nchan"), 0);
    CHECK_EQ(PROTO("ws+meta.nchanx", "ws+meta.nchan"), 0);
    CHECK_EQ(PROTO("chat", "ws+meta.nchan"), 0);
    CHECK_EQ(push_ws_protocol_offered(NULL, 0, "chat"), 0);
#undef PROTO
}

int main(void)
{
    test_utf8();
    test_lengths();
    test_masking_rsv_opcodes();
    test_fragmentation();
    test_utf8_frames();
    test_size_limit();
    test_close();
    test_serialiser();
    test_handshake();

    return CHECK_DONE("test_ws_codec");
}
