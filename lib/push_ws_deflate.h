/* push_ws_deflate.h — RFC 7692 permessage-deflate: negotiation, and the
 * zlib inflater/deflater the WebSocket transport uses.
 *
 * Server policy: outgoing messages are always compressed WITHOUT context
 * takeover, and the response always says server_no_context_takeover.
 * That makes a compressed message independent of everything sent before
 * it on the connection, so a publish is deflated once and the same bytes
 * go to every subscriber of the channel (fan-out), instead of once per
 * subscriber.  The price is a worse ratio on small, similar messages,
 * which a push server accepts.
 *
 * Window bits: zlib cannot compress raw deflate with an 8-bit window
 * (deflateInit2 refuses it), so when server_max_window_bits=8 is agreed
 * the deflater asks zlib for 9.  That still honours the agreement: zlib
 * never emits a distance beyond window - 262 bytes (MIN_LOOKAHEAD), i.e.
 * 250 for a 512-byte window, which is within the 256 bytes the peer
 * keeps.  The inflater likewise uses at least 9 bits; a larger window
 * than the peer's is always safe for inflating.
 *
 * Pure C with zlib, no httpd or APR types. */
#ifndef PUSH_WS_DEFLATE_H
#define PUSH_WS_DEFLATE_H

#include <stddef.h>

#include "lib/push_buf.h"

/* ---- Negotiation ---------------------------------------------------- */

/* What was agreed for one connection. */
typedef struct {
    int enabled;                     /* permessage-deflate is on */
    int server_no_context_takeover;  /* always 1 when enabled */
    int client_no_context_takeover;  /* the client resets per message */
    int server_max_window_bits;      /* 8..15: the deflater's limit */
    int client_max_window_bits;      /* 8..15: the client's window */
} push_ws_pmd_t;

/* Server-side knobs.  Pass NULL for the defaults (15, 15, 0). */
typedef struct {
    /* Largest window the server compresses with (8..15); a client may
     * ask for less.  Smaller saves deflater memory. */
    int server_max_window_bits;
    /* Window the client is asked to keep to (8..15), when its offer
     * allows that (a client_max_window_bits parameter); smaller saves
     * per-connection inflater memory. */
    int client_max_window_bits;
    /* 1: always ask the client for client_no_context_takeover.  zlib's
     * window is allocated either way, so this saves no memory; it only
     * helps a server that wants to drop inflaters between messages. */
    int client_no_context_takeover;
} push_ws_pmd_policy_t;

/* Room for the longest response header value, NUL included. */
#define PUSH_WS_PMD_RESPONSE_MAX 160

/* Reads a Sec-WebSocket-Extensions request value hdr[0..len) (hdr may be
 * NULL: no header): a comma-separated list of offers, each
 * "name; param; param=value" with token or quoted-string values.  Accepts
 * the first permessage-deflate offer whose parameters are all known,
 * unduplicated and well-formed (server_no_context_takeover,
 * client_no_context_takeover, server_max_window_bits=8..15,
 * client_max_window_bits[=8..15]); a bad offer is skipped, the next one
 * tried.  Other extensions are ignored.  A syntax error ends the search
 * (offers after it cannot be delimited reliably).
 *
 * Returns 1 when an offer was accepted: *out holds the agreement and
 * resp[0..resp_cap) the NUL-terminated response value (resp_cap >=
 * PUSH_WS_PMD_RESPONSE_MAX always suffices).  Returns 0 when nothing was
 * accepted (out->enabled = 0, resp empty): answer without the header.
 * Returns -1 when resp_cap is too small. */
int push_ws_pmd_negotiate(const char *hdr, size_t len,
                          const push_ws_pmd_policy_t *policy,
                          push_ws_pmd_t *out, char *resp, size_t resp_cap);

/* ---- Inflater (client -> server) ------------------------------------ */

typedef struct push_ws_inflater push_ws_inflater_t;

/* push_ws_inflate results. */
enum {
    PUSH_WS_INFLATE_OK = 0,
    PUSH_WS_INFLATE_TOO_BIG,   /* output passed the limit: close 1009 */
    PUSH_WS_INFLATE_CORRUPT,   /* not valid deflate data: close 1007 */
    PUSH_WS_INFLATE_NOMEM      /* close 1011 */
};

/* One per connection (it carries the client's compression context).
 * NULL when out of memory.  pmd must be enabled. */
push_ws_inflater_t *push_ws_inflater_new(const push_ws_pmd_t *pmd);
void push_ws_inflater_free(push_ws_inflater_t *inf);

/* Inflates in[0..len), the next slice of a compressed message's payload,
 * appending the output to *out; fin says the message ends here (in may
 * then be empty), and the 00 00 ff ff tail RFC 7692 strips is fed back.
 * out->len may not pass `limit`: when the data would inflate further, it
 * stops at once and returns TOO_BIG (a "zip bomb" costs at most limit
 * bytes and a bounded amount of work).  After any failure the inflater's
 * context is unusable: close the connection.  Corrupt data is reported
 * as CORRUPT; the assembler closes with 1007 (what most servers send for
 * "bad payload data"), not 1002, since the framing itself was fine. */
int push_ws_inflate(push_ws_inflater_t *inf, const void *in, size_t len,
                    int fin, push_buf_t *out, size_t limit);

/* ---- Deflater (server -> clients) ----------------------------------- */

typedef struct push_ws_deflater push_ws_deflater_t;

/* A deflater compressing with window_bits (8..15; 8 means 9 in zlib, see
 * above) at zlib level (0..9, -1 for the default) and mem_level (1..9,
 * 0 for 8).  Not tied to a connection: one per thread can serve them all,
 * keyed by the window bits agreed (a message compressed with a smaller
 * window is valid for every peer that allows a larger one).  NULL on
 * bad arguments or out of memory. */
push_ws_deflater_t *push_ws_deflater_new(int window_bits, int level,
                                         int mem_level);
void push_ws_deflater_free(push_ws_deflater_t *d);

/* Compresses the whole message in[0..len) with no context takeover and
 * writes the permessage-deflate payload (trailing 00 00 ff ff removed)
 * to out, replacing its contents.  Send it as one FIN frame of the
 * original opcode with RSV1 set, to any number of connections.  0, or -1
 * (out of memory / zlib failure). */
int push_ws_deflate_message(push_ws_deflater_t *d, const void *in, size_t len,
                            push_buf_t *out);

/* The same for a message given in pieces (a prefix and a body, say),
 * compressed as one, without joining them first. */
typedef struct {
    const void *data;
    size_t      len;
} push_ws_part_t;
int push_ws_deflate_parts(push_ws_deflater_t *d,
                          const push_ws_part_t *parts, int nparts,
                          push_buf_t *out);

#endif
