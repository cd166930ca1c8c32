/* push_ws_codec.h — RFC 6455 WebSocket framing for the server side.
 *
 * Four layers, none of which does I/O:
 *
 *  - push_ws_parse*: an incremental parser for client frames.  Feed it the
 *    bytes a socket read returned, in chunks of any size; it reports frame
 *    headers, unmasked payload slices and frame ends, and enforces the
 *    protocol rules a server must (masking, RSV bits, opcodes, control
 *    frame limits, fragmentation order, the message size limit, UTF-8 of
 *    text messages).  On a violation it returns the close code to send.
 *
 *  - push_ws_asm*: a message assembler on top of the parser that hands back
 *    whole messages (text, binary) and control frames (ping, pong, close),
 *    inflating permessage-deflate messages when given an inflater.
 *
 *  - push_ws_frame_header / push_ws_build_*: serialisation of server
 *    frames (never masked).
 *
 *  - handshake helpers that need no crypto: Sec-WebSocket-Key validation,
 *    the accept GUID, header token lists, subprotocol offers.  The caller
 *    computes base64(SHA-1(key GUID)) itself.
 *
 * Pure C (libc, plus zlib through push_ws_deflate), no httpd or APR types,
 * so everything here can be unit-tested and fuzzed alone. */
#ifndef PUSH_WS_CODEC_H
#define PUSH_WS_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "lib/push_buf.h"
#include "lib/push_utf8.h"
#include "lib/push_ws_deflate.h"

/* ---- Constants ------------------------------------------------------ */

#define PUSH_WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

enum {
    PUSH_WS_OP_CONT   = 0x0,
    PUSH_WS_OP_TEXT   = 0x1,
    PUSH_WS_OP_BINARY = 0x2,
    PUSH_WS_OP_CLOSE  = 0x8,
    PUSH_WS_OP_PING   = 0x9,
    PUSH_WS_OP_PONG   = 0xA
};

/* Close status codes (RFC 6455 section 7.4.1). */
enum {
    PUSH_WS_CLOSE_NORMAL         = 1000,
    PUSH_WS_CLOSE_GOING_AWAY     = 1001,
    PUSH_WS_CLOSE_PROTOCOL_ERROR = 1002,
    PUSH_WS_CLOSE_UNSUPPORTED    = 1003,
    PUSH_WS_CLOSE_NO_STATUS      = 1005,  /* never on the wire */
    PUSH_WS_CLOSE_ABNORMAL       = 1006,  /* never on the wire */
    PUSH_WS_CLOSE_INVALID_DATA   = 1007,
    PUSH_WS_CLOSE_POLICY         = 1008,
    PUSH_WS_CLOSE_TOO_BIG        = 1009,
    PUSH_WS_CLOSE_MANDATORY_EXT  = 1010,
    PUSH_WS_CLOSE_INTERNAL_ERROR = 1011,
    PUSH_WS_CLOSE_SERVICE_RESTART = 1012,
    PUSH_WS_CLOSE_TRY_AGAIN_LATER = 1013,
    PUSH_WS_CLOSE_BAD_GATEWAY    = 1014
};

/* Longest server frame header: 2 bytes + 8 bytes of 64-bit length. */
#define PUSH_WS_MAX_HEADER        10
/* Longest control frame payload, and a whole unmasked control frame. */
#define PUSH_WS_MAX_CONTROL       125
#define PUSH_WS_MAX_CONTROL_FRAME (2 + PUSH_WS_MAX_CONTROL)

/* ---- Frame parser --------------------------------------------------- */

/* push_ws_parser_init flags. */
#define PUSH_WS_PARSE_DEFLATE        0x1  /* permessage-deflate negotiated:
                                           * RSV1 allowed on a message's
                                           * first frame */
#define PUSH_WS_PARSE_STRICT_LENGTH  0x2  /* also refuse non-minimal length
                                           * encodings (RFC 6455 says MUST
                                           * use minimal; most peers only
                                           * tolerate) */

typedef enum {
    PUSH_WS_EV_NONE = 0,   /* every input byte consumed; feed more */
    PUSH_WS_EV_HEADER,     /* a frame header: opcode, fin, length, ... */
    PUSH_WS_EV_DATA,       /* a slice of the frame's payload: data, len */
    PUSH_WS_EV_END,        /* the frame's payload is complete */
    PUSH_WS_EV_ERROR       /* protocol violation: close with close_code */
} push_ws_ev_e;

typedef struct {
    push_ws_ev_e   type;
    unsigned       opcode;      /* this frame's opcode */
    unsigned       msg_opcode;  /* data frames: TEXT or BINARY of the
                                 * message (continuations too); control
                                 * frames: 0 */
    int            fin;         /* this frame is final */
    int            compressed;  /* data frames: the message had RSV1 set;
                                 * its payload is deflated and was NOT
                                 * UTF-8 checked (the caller checks the
                                 * inflated text; the assembler does) */
    uint64_t       length;      /* HEADER: payload length of the frame */
    unsigned char *data;        /* DATA: unmasked payload slice */
    size_t         len;
    uint16_t       close_code;  /* ERROR: status to close with */
} push_ws_event_t;

typedef struct {
    /* Configuration, from push_ws_parser_init. */
    uint64_t      max_message;  /* per-message limit in bytes, 0: none */
    unsigned      flags;

    /* State; private. */
    int           state;
    unsigned char hdr[14];
    unsigned      hdr_len;
    unsigned      hdr_need;
    unsigned char mask[4];
    unsigned      mask_pos;
    uint64_t      remaining;    /* payload bytes of this frame still due */
    unsigned      opcode;
    int           fin;
    int           in_message;   /* a fragmented data message is open */
    unsigned      msg_opcode;
    int           msg_compressed;
    uint64_t      msg_total;    /* wire payload bytes of the message */
    push_utf8_t   utf8;
    uint16_t      close_code;
} push_ws_parser_t;

/* Prepares a parser for a new connection.  max_message bounds the sum of
 * a data message's fragment payloads (0: no limit); a frame header that
 * would take the message past it fails with 1009 at once, before any of
 * the payload is read.  For compressed messages the inflated size is what
 * counts, so the wire bound is slightly looser (max + max/256 + 64, room
 * for deflate's worst-case expansion) and the inflater enforces the real
 * one. */
void push_ws_parser_init(push_ws_parser_t *p, uint64_t max_message,
                         unsigned flags);

/* Parses client frames from in[0..len), unmasking payload in place (in
 * must be writable).  Reports one event per call and returns how many
 * bytes of `in` it consumed; call again with the rest.  EV_NONE means all
 * of `in` was consumed.  An EV_DATA slice points into `in`.  Zero-length
 * frames give HEADER then END.  After EV_ERROR the parser stays failed:
 * send a Close with ev->close_code and stop reading.
 *
 * Validation happens at the earliest byte that shows a violation: bad
 * RSV bits, opcodes, missing mask and control frame sizes on the first two
 * header bytes; the size limit when the length is complete; UTF-8 of an
 * uncompressed text message on every slice (the failing slice is not
 * reported) and at the final frame's end (no truncated character). */
size_t push_ws_parse(push_ws_parser_t *p, unsigned char *in, size_t len,
                     push_ws_event_t *ev);

/* As push_ws_parse, but reads from read-only input and unmasks payload
 * into out[0..outcap) instead; EV_DATA slices are at most outcap bytes
 * and point into out.  outcap 0 fails the parser with 1011. */
size_t push_ws_parse_to(push_ws_parser_t *p, const unsigned char *in,
                        size_t len, unsigned char *out, size_t outcap,
                        push_ws_event_t *ev);

/* Puts the parser in the failed state with `code` (e.g. when inflating
 * fails); later calls return EV_ERROR with that code. */
void push_ws_parser_fail(push_ws_parser_t *p, uint16_t code);

/* ---- Message assembler ---------------------------------------------- */


typedef enum {
    PUSH_WS_MSG_NONE = 0,  /* every input byte consumed; feed more */
    PUSH_WS_MSG_TEXT,      /* data, len: valid UTF-8 (inflated if need be) */
    PUSH_WS_MSG_BINARY,    /* data, len */
    PUSH_WS_MSG_PING,      /* data, len: reply with a pong of that payload */
    PUSH_WS_MSG_PONG,      /* data, len */
    PUSH_WS_MSG_CLOSE,     /* valid close: code (1005 when absent), reason;
                            * reply_code is what to send back */
    PUSH_WS_MSG_ERROR      /* protocol violation: close with reply_code */
} push_ws_msg_e;

typedef struct {
    push_ws_msg_e        type;
    const unsigned char *data;       /* the payload (for CLOSE: raw) */
    size_t               len;
    uint16_t             code;       /* CLOSE: the peer's status */
    const char          *reason;     /* CLOSE: reason, valid UTF-8 */
    size_t               reason_len;
    uint16_t             reply_code; /* CLOSE, ERROR: status to send */
} push_ws_message_t;

typedef struct {
    push_ws_parser_t    parser;
    push_ws_inflater_t *inflater;   /* not owned; NULL: no deflate */
    size_t              limit;      /* max message bytes (inflated) */
    push_buf_t       msg;        /* data message being assembled */
    unsigned char       ctl[PUSH_WS_MAX_CONTROL];
    size_t              ctl_len;
    unsigned            frame_opcode;
    int                 frame_fin;
    int                 frame_compressed;
    unsigned            msg_opcode;
    push_utf8_t         utf8;       /* inflated text, when compressed */
    int                 delivered;  /* msg was handed out; reset it next */
    int                 closed;     /* a valid Close arrived: ignore the
                                     * rest (RFC 6455 5.5.1) */
} push_ws_asm_t;

/* Prepares an assembler.  max_message as for the parser (0: no limit,
 * i.e. SIZE_MAX).  inflater non-NULL means permessage-deflate was
 * negotiated: RSV1 messages are inflated with it (it must outlive the
 * assembler, which does not free it), and text is UTF-8 checked after
 * inflating, incrementally per fragment.  Inflate failures close with
 * 1009 when the inflated size passes max_message (detected without
 * inflating further) and 1007 for corrupt data.  A compressed text that
 * is both too big and invalid gets 1007 when its first bad byte lies
 * within max_message, else 1009, however the input was cut into reads. */
void push_ws_asm_init(push_ws_asm_t *a, uint64_t max_message,
                      push_ws_inflater_t *inflater);

/* Releases the message buffer.  Does not free the inflater. */
void push_ws_asm_free(push_ws_asm_t *a);

/* Feeds in[0..len) (unmasked in place, so writable) and stops at the
 * first complete message or control frame, or at an error.  Returns the
 * bytes consumed; call again with the rest.  m->type is MSG_NONE when all
 * of `in` was consumed without completing anything.  m->data stays valid
 * until the next push_ws_asm_feed or push_ws_asm_free.  Errors are sticky.
 * A Close frame's payload is checked with push_ws_close_parse: an invalid
 * one gives MSG_ERROR.  After a valid Close, further input is consumed
 * and ignored (MSG_NONE): the peer may send nothing after it. */
size_t push_ws_asm_feed(push_ws_asm_t *a, unsigned char *in, size_t len,
                        push_ws_message_t *m);

/* ---- Close frames --------------------------------------------------- */

/* 1 when a peer may send `code` in a Close frame: 1000-1003, 1007-1014,
 * 3000-4999.  (1004, 1005, 1006, 1015 are reserved or never sent.) */
int push_ws_close_code_valid(unsigned code);

/* Checks a received Close payload.  Empty is fine (code 1005, no
 * reason).  Returns 0 and fills *code, *reason, *reason_len (any may be
 * NULL), or the status to fail with: 1002 for a 1-byte payload or an
 * invalid code, 1007 for a reason that is not UTF-8. */
uint16_t push_ws_close_parse(const unsigned char *payload, size_t len,
                             uint16_t *code, const char **reason,
                             size_t *reason_len);

/* The status to answer a received Close payload with: the peer's own
 * code when valid, 1005 (meaning: reply with an empty Close) when the
 * payload is empty, else 1002 or 1007 as push_ws_close_parse says. */
uint16_t push_ws_close_reply(const unsigned char *payload, size_t len);

/* ---- Serialiser (server frames, unmasked) --------------------------- */

/* Writes the header of a final (FIN) frame with the given opcode, RSV1
 * (for permessage-deflate data frames) and payload length into out
 * (PUSH_WS_MAX_HEADER bytes); returns its length, 2..10.  Always the
 * minimal length encoding. */
size_t push_ws_frame_header(unsigned char *out, unsigned opcode, int rsv1,
                            uint64_t len);

/* Same, for a fragment: fin 0 for all frames of a message but the last,
 * opcode CONT for all but the first, rsv1 only on the first. */
size_t push_ws_frame_header_ex(unsigned char *out, int fin, unsigned opcode,
                               int rsv1, uint64_t len);

/* Writes a whole ping or pong frame (header + payload) into out
 * (PUSH_WS_MAX_CONTROL_FRAME bytes) and returns its length, or 0 when len
 * exceeds 125 or opcode is not PING or PONG. */
size_t push_ws_build_control(unsigned char *out, unsigned opcode,
                             const void *payload, size_t len);

/* Writes a whole Close frame into out (PUSH_WS_MAX_CONTROL_FRAME bytes),
 * returns its length.  The reason is cut to the longest UTF-8-valid
 * prefix that fits in 123 bytes, never mid-character.  A code that may
 * not be sent (0, 1005, 1006, 1015, or any push_ws_close_code_valid
 * refuses) gives an empty Close, so push_ws_close_reply's 1005 just works. */
size_t push_ws_build_close(unsigned char *out, uint16_t code,
                           const char *reason, size_t reason_len);

/* ---- Handshake helpers ---------------------------------------------- */

/* 1 when key[0..len) (surrounding spaces/tabs ignored) is a valid
 * Sec-WebSocket-Key: base64 of exactly 16 bytes, i.e. 22 base64 chars
 * whose last one carries no stray bits, then "==". */
int push_ws_key_valid(const char *key, size_t len);

/* 1 when `token` appears, case-insensitively, as an element of the
 * comma-separated header value hdr[0..len) (e.g. Connection:
 * "keep-alive, Upgrade"); spaces/tabs around elements ignored.  hdr may
 * be NULL (absent header). */
int push_ws_token_in_list(const char *hdr, size_t len, const char *token);

/* 1 when the Sec-WebSocket-Protocol offer hdr[0..len) lists `proto`.
 * Subprotocol names compare case-sensitively (they are opaque tokens). */
int push_ws_protocol_offered(const char *hdr, size_t len, const char *proto);

#endif
