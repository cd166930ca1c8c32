/* push_ws_deflate.c — RFC 7692 permessage-deflate (see push_ws_deflate.h). */
#define ZLIB_CONST
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "lib/push_ws_deflate.h"

/* ---- Negotiation ---------------------------------------------------- */

/* A lexer over one header value; RFC 7230 tokens, quoted strings, OWS. */
typedef struct {
    const char *s;
    size_t      len;
    size_t      pos;
} lex_t;

static int is_tchar(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
        || (c >= '0' && c <= '9')) {
        return 1;
    }
    return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static void lex_ows(lex_t *x)
{
    while (x->pos < x->len && (x->s[x->pos] == ' ' || x->s[x->pos] == '\t')) {
        x->pos++;
    }
}

/* Reads a token; returns its length (0: none there). */
static size_t lex_token(lex_t *x, const char **tok)
{
    size_t start = x->pos;

    while (x->pos < x->len && is_tchar((unsigned char)x->s[x->pos])) {
        x->pos++;
    }
    *tok = x->s + start;
    return x->pos - start;
}

/* Longest parameter value we keep; every valid one is 1-2 digits, so a
 * longer value only needs to be known as "too long" (it is invalid). */
#define VAL_MAX 8

/* Reads a token or quoted-string value, unquoted into val[0..VAL_MAX].
 * *vlen is the true length (> VAL_MAX when it did not fit).  Returns 0,
 * or -1 on a syntax error. */
static int lex_value(lex_t *x, char *val, size_t *vlen)
{
    size_t n = 0;

    if (x->pos < x->len && x->s[x->pos] == '"') {
        x->pos++;
        for (;;) {
            unsigned char c;

            if (x->pos >= x->len) {
                return -1;          /* unterminated */
            }
            c = (unsigned char)x->s[x->pos++];
            if (c == '"') {
                break;
            }
            if (c == '\\') {
                if (x->pos >= x->len) {
                    return -1;
                }
                c = (unsigned char)x->s[x->pos++];
            }
            if (n < VAL_MAX) {
                val[n] = (char)c;
            }
            n++;
        }
    }
    else {
        const char *tok;

        n = lex_token(x, &tok);
        if (n == 0) {
            return -1;
        }
        memcpy(val, tok, n < VAL_MAX ? n : VAL_MAX);
    }
    *vlen = n;
    return 0;
}

static int eq_nocase(const char *s, size_t n, const char *lit)
{
    size_t i;

    if (strlen(lit) != n) {
        return 0;
    }
    for (i = 0; i < n; i++) {
        unsigned char a = (unsigned char)s[i];

        if (a >= 'A' && a <= 'Z') {
            a = (unsigned char)(a - 'A' + 'a');
        }
        if (a != (unsigned char)lit[i]) {
            return 0;
        }
    }
    return 1;
}

/* RFC 7692 7.1.2: a decimal 8..15 with no leading zeros.  Returns the
 * value or -1. */
static int window_bits_value(const char *v, size_t n)
{
    if (n == 1 && (v[0] == '8' || v[0] == '9')) {
        return v[0] - '0';
    }
    if (n == 2 && v[0] == '1' && v[1] >= '0' && v[1] <= '5') {
        return 10 + (v[1] - '0');
    }
    return -1;
}

typedef struct {
    int snct, cnct;     /* *_no_context_takeover seen */
    int smwb;           /* server_max_window_bits: 0 absent, else 8..15 */
    int cmwb;           /* client_max_window_bits: 0 absent, -1 valueless,
                         * else 8..15 */
} offer_t;

/* Applies one parameter to an offer.  0, or -1 when it makes the offer
 * unacceptable (unknown, duplicate, or a bad or missing value). */
static int offer_param(offer_t *o, const char *name, size_t nlen,
                       int has_value, const char *val, size_t vlen)
{
    int bits = has_value ? window_bits_value(val, vlen) : -1;

    if (eq_nocase(name, nlen, "server_no_context_takeover")) {
        if (o->snct || has_value) {
            return -1;
        }
        o->snct = 1;
        return 0;
    }
    if (eq_nocase(name, nlen, "client_no_context_takeover")) {
        if (o->cnct || has_value) {
            return -1;
        }
        o->cnct = 1;
        return 0;
    }
    if (eq_nocase(name, nlen, "server_max_window_bits")) {
        if (o->smwb || bits < 0) {
            return -1;
        }
        o->smwb = bits;
        return 0;
    }
    if (eq_nocase(name, nlen, "client_max_window_bits")) {
        if (o->cmwb || (has_value && bits < 0)) {
            return -1;
        }
        o->cmwb = has_value ? bits : -1;
        return 0;
    }
    return -1;
}

static int clamp_bits(int v)
{
    if (v == 0) {
        return 15;      /* zeroed policy field: the default */
    }
    return v < 8 ? 8 : v > 15 ? 15 : v;
}

/* Fills *out and the response for an acceptable offer.  0, or -1 when
 * resp is too small. */
static int accept_offer(const offer_t *o, const push_ws_pmd_policy_t *pol,
                        push_ws_pmd_t *out, char *resp, size_t resp_cap)
{
    int pol_smwb = pol ? clamp_bits(pol->server_max_window_bits) : 15;
    int pol_cmwb = pol ? clamp_bits(pol->client_max_window_bits) : 15;
    int smwb, cmwb, n;
    char sbuf[40] = "", cbuf[40] = "";

    out->enabled = 1;
    /* Always: each outgoing message is compressed on its own, so one
     * deflated copy serves every subscriber. */
    out->server_no_context_takeover = 1;
    out->client_no_context_takeover =
        o->cnct || (pol && pol->client_no_context_takeover);

    smwb = pol_smwb;
    if (o->smwb && o->smwb < smwb) {
        smwb = o->smwb;
    }
    out->server_max_window_bits = smwb;
    /* RFC 7692 7.1.2.1: an offered server_max_window_bits must be
     * answered; otherwise announce ours only when it is below default. */
    if (o->smwb || smwb < 15) {
        snprintf(sbuf, sizeof(sbuf), "; server_max_window_bits=%d", smwb);
    }

    /* The client's window can only be limited when it said it can take a
     * limit (the parameter was offered, with or without a value). */
    cmwb = 15;
    if (o->cmwb) {
        cmwb = o->cmwb > 0 ? o->cmwb : 15;
        if (pol_cmwb < cmwb) {
            cmwb = pol_cmwb;
        }
        if (cmwb < 15) {
            snprintf(cbuf, sizeof(cbuf), "; client_max_window_bits=%d",
                     cmwb);
        }
    }
    out->client_max_window_bits = cmwb;

    n = snprintf(resp, resp_cap, "permessage-deflate; "
                 "server_no_context_takeover%s%s%s",
                 out->client_no_context_takeover
                     ? "; client_no_context_takeover" : "",
                 sbuf, cbuf);
    if (n < 0 || (size_t)n >= resp_cap) {
        return -1;
    }
    return 0;
}

int push_ws_pmd_negotiate(const char *hdr, size_t len,
                          const push_ws_pmd_policy_t *policy,
                          push_ws_pmd_t *out, char *resp, size_t resp_cap)
{
    lex_t x;

    memset(out, 0, sizeof(*out));
    if (resp && resp_cap) {
        resp[0] = '\0';
    }
    if (resp == NULL || resp_cap == 0) {
        return -1;
    }
    if (hdr == NULL) {
        return 0;
    }
    x.s = hdr;
    x.len = len;
    x.pos = 0;

    for (;;) {
        const char *name;
        size_t nlen;
        int is_pmd, bad = 0;
        offer_t o;

        lex_ows(&x);
        if (x.pos >= x.len) {
            break;
        }
        if (x.s[x.pos] == ',') {
            x.pos++;        /* empty list element, allowed by 1#rule */
            continue;
        }
        nlen = lex_token(&x, &name);
        if (nlen == 0) {
            break;          /* syntax error */
        }
        is_pmd = eq_nocase(name, nlen, "permessage-deflate");
        memset(&o, 0, sizeof(o));

        for (;;) {
            const char *pname;
            size_t pnlen, vlen = 0;
            char val[VAL_MAX];
            int has_value = 0;

            lex_ows(&x);
            if (x.pos >= x.len || x.s[x.pos] == ',') {
                break;
            }
            if (x.s[x.pos] != ';') {
                return 0;   /* syntax error: stop looking */
            }
            x.pos++;
            lex_ows(&x);
            pnlen = lex_token(&x, &pname);
            if (pnlen == 0) {
                return 0;
            }
            lex_ows(&x);
            if (x.pos < x.len && x.s[x.pos] == '=') {
                x.pos++;
                lex_ows(&x);
                if (lex_value(&x, val, &vlen) != 0) {
                    return 0;
                }
                has_value = 1;
            }
            if (is_pmd && !bad
                && offer_param(&o, pname, pnlen, has_value, val,
                               vlen) != 0) {
                bad = 1;
            }
        }

        if (is_pmd && !bad) {
            if (accept_offer(&o, policy, out, resp, resp_cap) != 0) {
                memset(out, 0, sizeof(*out));
                resp[0] = '\0';
                return -1;
            }
            return 1;
        }
        if (x.pos < x.len) {
            x.pos++;        /* the comma */
        }
    }
    return 0;
}

/* ---- Inflater ------------------------------------------------------- */

struct push_ws_inflater {
    z_stream zs;
    int      reset_each;    /* client_no_context_takeover */
};

/* Output is grown in steps of this much, so a limit check happens at
 * least this often however well the input compresses. */
#define INFLATE_STEP (16 * 1024)

/* zlib counts in uInt; feed bigger inputs in pieces. */
#define ZCHUNK_MAX ((size_t)1 << 30)

static const unsigned char pmd_tail[4] = { 0x00, 0x00, 0xff, 0xff };

push_ws_inflater_t *push_ws_inflater_new(const push_ws_pmd_t *pmd)
{
    push_ws_inflater_t *inf;
    int bits = pmd ? pmd->client_max_window_bits : 15;

    /* A bigger window than the peer's is harmless when inflating; 9 is
     * zlib's floor that avoids its 8-bit special cases. */
    if (bits < 9 || bits > 15) {
        bits = bits < 9 ? 9 : 15;
    }
    inf = calloc(1, sizeof(*inf));
    if (inf == NULL) {
        return NULL;
    }
    if (inflateInit2(&inf->zs, -bits) != Z_OK) {
        free(inf);
        return NULL;
    }
    inf->reset_each = pmd ? pmd->client_no_context_takeover : 0;
    return inf;
}

void push_ws_inflater_free(push_ws_inflater_t *inf)
{
    if (inf) {
        inflateEnd(&inf->zs);
        free(inf);
    }
}

static int inflate_run(push_ws_inflater_t *inf, const unsigned char *in,
                       size_t len, push_buf_t *out, size_t limit)
{
    z_stream *zs = &inf->zs;

    for (;;) {
        size_t room, feed, consumed, produced;
        int zr;

        if (out->len > limit) {
            return PUSH_WS_INFLATE_TOO_BIG;
        }
        /* Never offer zlib room past limit + 1: one byte beyond the
         * limit is enough to know the message is too big. */
        room = limit + 1 - out->len;
        if (room > INFLATE_STEP) {
            room = INFLATE_STEP;
        }
        if (push_buf_reserve(out, room) != 0) {
            return PUSH_WS_INFLATE_NOMEM;
        }
        feed = len < ZCHUNK_MAX ? len : ZCHUNK_MAX;
        zs->next_in = in;
        zs->avail_in = (uInt)feed;
        zs->next_out = out->data + out->len;
        zs->avail_out = (uInt)room;

        zr = inflate(zs, Z_SYNC_FLUSH);

        consumed = feed - zs->avail_in;
        produced = room - zs->avail_out;
        if (consumed) {     /* in may be NULL when len is 0 */
            in += consumed;
            len -= consumed;
        }
        out->len += produced;

        /* Before looking at zr: zlib may fill the output and then trip
         * over bad data in the same call, and the verdict must not depend
         * on how much input came per call. */
        if (out->len > limit) {
            return PUSH_WS_INFLATE_TOO_BIG;
        }
        if (zr == Z_STREAM_END) {
            /* The peer ended the deflate stream (a BFINAL block) inside
             * the message; whatever follows starts a new stream. */
            if (inflateReset(zs) != Z_OK) {
                return PUSH_WS_INFLATE_CORRUPT;
            }
        }
        else if (zr == Z_BUF_ERROR) {
            /* No progress was possible: zlib wants more input. */
            if (len == 0) {
                break;
            }
            return PUSH_WS_INFLATE_CORRUPT;
        }
        else if (zr == Z_MEM_ERROR) {
            return PUSH_WS_INFLATE_NOMEM;
        }
        else if (zr != Z_OK) {
            return PUSH_WS_INFLATE_CORRUPT;
        }
        /* Done when all input is in and zlib had room to spare (so it
         * holds no pending output). */
        if (len == 0 && zs->avail_out != 0) {
            break;
        }
    }
    return PUSH_WS_INFLATE_OK;
}

int push_ws_inflate(push_ws_inflater_t *inf, const void *in, size_t len,
                    int fin, push_buf_t *out, size_t limit)
{
    int rc;

    if (limit > SIZE_MAX - 1) {
        limit = SIZE_MAX - 1;
    }
    rc = inflate_run(inf, in, len, out, limit);
    if (rc == PUSH_WS_INFLATE_OK && fin) {
        /* RFC 7692 7.2.2: put back the empty stored block's tail the
         * sender removed, which also flushes the last block's output. */
        rc = inflate_run(inf, pmd_tail, sizeof(pmd_tail), out, limit);
        if (rc == PUSH_WS_INFLATE_OK && inf->reset_each
            && inflateReset(&inf->zs) != Z_OK) {
            rc = PUSH_WS_INFLATE_CORRUPT;
        }
    }
    return rc;
}

/* ---- Deflater ------------------------------------------------------- */

struct push_ws_deflater {
    z_stream zs;
};

#define DEFLATE_STEP (16 * 1024)

push_ws_deflater_t *push_ws_deflater_new(int window_bits, int level,
                                         int mem_level)
{
    push_ws_deflater_t *d;

    if (window_bits < 8 || window_bits > 15 || level < -1 || level > 9
        || mem_level < 0 || mem_level > 9) {
        return NULL;
    }
    /* See the header: zlib refuses 8 for raw deflate, and 9 keeps every
     * distance within 256 anyway. */
    if (window_bits == 8) {
        window_bits = 9;
    }
    d = calloc(1, sizeof(*d));
    if (d == NULL) {
        return NULL;
    }
    if (deflateInit2(&d->zs, level, Z_DEFLATED, -window_bits,
                     mem_level ? mem_level : 8, Z_DEFAULT_STRATEGY) != Z_OK) {
        free(d);
        return NULL;
    }
    return d;
}

void push_ws_deflater_free(push_ws_deflater_t *d)
{
    if (d) {
        deflateEnd(&d->zs);
        free(d);
    }
}

int push_ws_deflate_parts(push_ws_deflater_t *d,
                          const push_ws_part_t *parts, int nparts,
                          push_buf_t *out)
{
    z_stream *zs = &d->zs;
    const unsigned char *p = nparts > 0 ? parts[0].data : NULL;
    size_t len = nparts > 0 ? parts[0].len : 0;
    int part = 0;

    /* No context takeover: every message starts from an empty window, so
     * its bytes decode the same on any connection. */
    if (deflateReset(zs) != Z_OK) {
        return -1;
    }
    out->len = 0;
    for (;;) {
        size_t feed = len < ZCHUNK_MAX ? len : ZCHUNK_MAX;
        size_t room = DEFLATE_STEP;
        int last = feed == len && part >= nparts - 1;
        int zr;

        if (push_buf_reserve(out, room) != 0) {
            return -1;
        }
        zs->next_in = p;
        zs->avail_in = (uInt)feed;
        zs->next_out = out->data + out->len;
        zs->avail_out = (uInt)room;
        /* A sync flush ends the data on a byte boundary with the empty
         * stored block 00 00 ff ff, which RFC 7692 then has us strip. */
        zr = deflate(zs, last ? Z_SYNC_FLUSH : Z_NO_FLUSH);
        if (zr != Z_OK && zr != Z_BUF_ERROR) {
            return -1;
        }
        if (feed != zs->avail_in) {     /* p may be NULL when len is 0 */
            p += feed - zs->avail_in;
            len -= feed - zs->avail_in;
        }
        out->len += room - zs->avail_out;
        if (last && len == 0 && zs->avail_out != 0) {
            break;
        }
        if (len == 0 && part < nparts - 1) {
            /* The next part follows in the same stream. */
            part++;
            p = parts[part].data;
            len = parts[part].len;
        }
    }
    if (out->len < 4 || memcmp(out->data + out->len - 4, pmd_tail, 4) != 0) {
        return -1;
    }
    out->len -= 4;
    return 0;
}

int push_ws_deflate_message(push_ws_deflater_t *d, const void *in, size_t len,
                            push_buf_t *out)
{
    push_ws_part_t part;

    part.data = in;
    part.len = len;
    return push_ws_deflate_parts(d, &part, 1, out);
}
