/* fuzz_handshake.c — libFuzzer target for the WebSocket handshake's
 * header parsers: Sec-WebSocket-Key, the Connection/Upgrade token lists,
 * the Sec-WebSocket-Protocol offer and the Sec-WebSocket-Extensions
 * (permessage-deflate) negotiation.
 *
 * Input: byte 0 picks the parser (and, for the negotiation, the policy
 * and the response room), the rest is the header value.  Promises
 * checked: a valid key is 24 characters ending in "==" once trimmed; a
 * token or subprotocol said to be there is there; an agreement has every
 * parameter in its range, a response that fits and names the extension,
 * and no agreement leaves nothing behind. */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fuzz/fuzz_input.h"
#include "lib/push_ws_codec.h"
#include "lib/push_ws_deflate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Case-insensitive: whether needle occurs in hay[0..n). */
static int contains(const char *hay, size_t n, const char *needle, int icase)
{
    size_t k = strlen(needle), i;

    for (i = 0; i + k <= n; i++) {
        if (icase ? !strncasecmp(hay + i, needle, k)
                  : !memcmp(hay + i, needle, k)) {
            return 1;
        }
    }
    return 0;
}

static void check_key(const char *s, size_t n)
{
    size_t a = 0, b = n;

    if (!push_ws_key_valid(s, n)) {
        return;
    }
    while (a < b && (s[a] == ' ' || s[a] == '\t')) a++;
    while (b > a && (s[b - 1] == ' ' || s[b - 1] == '\t')) b--;
    if (b - a != 24 || s[b - 1] != '=' || s[b - 2] != '=') {
        abort();
    }
}

static void check_lists(const char *s, size_t n)
{
    static const char *const tokens[] = { "upgrade", "websocket",
                                          "keep-alive" };
    size_t i;

    for (i = 0; i < sizeof(tokens) / sizeof(tokens[0]); i++) {
        if (push_ws_token_in_list(s, n, tokens[i])
            && !contains(s, n, tokens[i], 1)) {
            abort();
        }
    }
    if (push_ws_protocol_offered(s, n, "ws+meta.nchan")
        && !contains(s, n, "ws+meta.nchan", 0)) {
        abort();
    }
}

static void check_pmd(const char *s, size_t n, uint8_t sel)
{
    push_ws_pmd_policy_t pol;
    push_ws_pmd_t out;
    char resp[PUSH_WS_PMD_RESPONSE_MAX + 8];
    size_t cap = (sel & 0x40) ? (size_t)(sel & 0x3f) + 1 : sizeof(resp);
    int rc;

    pol.server_max_window_bits = 8 + (sel & 7);
    pol.client_max_window_bits = 8 + ((sel >> 3) & 7);
    pol.client_no_context_takeover = (sel >> 7) & 1;
    memset(&out, 0x5a, sizeof(out));
    memset(resp, 'x', sizeof(resp));
    rc = push_ws_pmd_negotiate(s, n, (sel & 0x20) ? NULL : &pol, &out, resp,
                               cap);
    if (rc == 1) {
        if (!out.enabled || out.server_max_window_bits < 8
            || out.server_max_window_bits > 15
            || out.client_max_window_bits < 8
            || out.client_max_window_bits > 15
            || !memchr(resp, '\0', cap)
            || strncmp(resp, "permessage-deflate", 18) != 0) {
            abort();
        }
    }
    else if (rc == 0) {
        if (out.enabled || resp[0] != '\0') {
            abort();
        }
    }
    else if (rc != -1 || cap >= PUSH_WS_PMD_RESPONSE_MAX) {
        abort();            /* -1 only for a response room too small */
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s;
    size_t n;

    if (!(s = fuzz_value(data, size, &n, 0))) {
        return 0;
    }
    switch (data[0] % 3) {
    case 0: check_key(s, n);             break;
    case 1: check_lists(s, n);           break;
    default: check_pmd(s, n, data[0]);   break;
    }
    free(s);
    return 0;
}
